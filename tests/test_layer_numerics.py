"""Each layer against an independent float64 NumPy reference computed from its own weights."""

import numpy as np
import pytest
from conftest import to_numpy

from keras_attention import layers

pytestmark = pytest.mark.any_backend

RTOL = ATOL = 1e-5


# --- NumPy references (channels_last, float64) -------------------------------------------


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def relu(v):
    return np.maximum(v, 0.0)


def w(variable):
    return np.asarray(to_numpy(variable), dtype=np.float64)


def bn_inference(v, norm):
    """BatchNormalization with moving statistics, over the last axis."""
    return (v - w(norm.moving_mean)) / np.sqrt(w(norm.moving_variance) + norm.epsilon) * w(
        norm.gamma
    ) + w(norm.beta)


def dense(v, layer):
    out = v @ w(layer.kernel)
    return out + w(layer.bias) if layer.use_bias else out


def pool(x, mode):
    return {"avg": np.mean, "max": np.max, "min": np.min}[mode](x, axis=(1, 2))


def ref_se(layer, x, context=None, modes=("avg",)):
    logits = 0.0
    for mode in modes:
        z = pool(x, mode)
        if context is not None:
            z = np.concatenate([z, context], axis=-1)
        logits = logits + dense(relu(dense(z, layer.squeeze)), layer.excite)
    return x * sigmoid(logits)[:, None, None, :]


def group_reduce(v, groups, reducer):
    n, h, wd, c = v.shape
    return reducer(v.reshape(n, h, wd, groups, c // groups), axis=-1)


def ref_ssa(layer, x, training=False):
    groups = layer.groups
    ca = pool(x, layer.squash)
    m = group_reduce(ca[:, None, None, :] * x, groups, np.mean)
    if training:
        norm = layer.norm
        mean, var = m.mean(axis=(0, 1, 2)), m.var(axis=(0, 1, 2))
        m = (m - mean) / np.sqrt(var + norm.epsilon) * w(norm.gamma) + w(norm.beta)
    else:
        m = bn_inference(m, layer.norm)
    return x * np.repeat(sigmoid(m), x.shape[-1] // groups, axis=-1)


def ref_spem(layer, x):
    w1, b1, w2, b2 = w(layer.w1), w(layer.b1), w(layer.w2), w(layer.b2)
    p = w(layer.pooling.mix_weights)
    lam = p[0] ** 2 / (p[0] ** 2 + p[1] ** 2)
    r_max = w2 * x.max(axis=(1, 2)) + b2
    r_min = w2 * x.min(axis=(1, 2)) + b2
    e = w1 * (lam * r_max + (1 - lam) * r_min) + b1
    a = sigmoid(r_max + r_min) * sigmoid(e)
    return x * a[:, None, None, :]


def conv2d_same(x, kernel):
    kh, kw = kernel.shape[:2]
    padded = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    n, h, wd, _ = x.shape
    out = np.zeros((n, h, wd, kernel.shape[3]))
    for a in range(kh):
        for b in range(kw):
            out += padded[:, a : a + h, b : b + wd, :] @ kernel[a, b]
    return out


def ref_cbam(layer, x):
    x1 = ref_se(layer.channel_attention, x, modes=("avg", "max"))
    desc = np.concatenate([x1.mean(-1, keepdims=True), x1.max(-1, keepdims=True)], axis=-1)
    m = bn_inference(conv2d_same(desc, w(layer.spatial_conv.kernel)), layer.spatial_norm)
    return x1 * sigmoid(m)


def ref_eca(layer, x):
    z = x.mean(axis=(1, 2))
    kernel = w(layer.conv.kernel)[:, 0, 0]
    k = kernel.shape[0]
    padded = np.pad(z, ((0, 0), (k // 2, k // 2)))
    y = sum(padded[:, j : j + z.shape[1]] * kernel[j] for j in range(k))
    return x * sigmoid(y)[:, None, None, :]


def ref_srm(layer, x):
    mu = x.mean(axis=(1, 2))
    sd = np.sqrt(x.reshape(x.shape[0], -1, x.shape[-1]).var(axis=1, ddof=1) + layer.epsilon)
    cfc = w(layer.cfc)
    z = cfc[:, 0] * mu + cfc[:, 1] * sd
    return x * sigmoid(bn_inference(z, layer.norm))[:, None, None, :]


def ref_sge(layer, x):
    groups = layer.groups
    t = group_reduce(x * x.mean(axis=(1, 2))[:, None, None, :], groups, np.sum)
    n = t.shape[1] * t.shape[2]
    t = t - t.mean(axis=(1, 2), keepdims=True)
    std = np.sqrt((t**2).sum(axis=(1, 2), keepdims=True) / (n - 1)) + layer.epsilon
    t = t / std * w(layer.group_weight) + w(layer.group_bias)
    return x * np.repeat(sigmoid(t), x.shape[-1] // groups, axis=-1)


def ref_coord(layer, x):
    h = x.shape[1]
    rows, cols = x.mean(axis=2), x.mean(axis=1)  # (N, H, C), (N, W, C)
    y = np.concatenate([rows, cols], axis=1)
    y = y @ w(layer.transform.kernel)[0, 0] + w(layer.transform.bias)
    y = bn_inference(y, layer.norm)
    y = y * np.clip(y + 3, 0, 6) / 6
    a_h = sigmoid(y[:, :h] @ w(layer.attend_rows.kernel)[0, 0] + w(layer.attend_rows.bias))
    a_w = sigmoid(y[:, h:] @ w(layer.attend_columns.kernel)[0, 0] + w(layer.attend_columns.bias))
    return x * a_h[:, :, None, :] * a_w[:, None, :, :]


def torch_adaptive_avg_pool(x, out):
    """PyTorch's adaptive_avg_pool2d bins, written out."""
    n, h, wd, c = x.shape
    res = np.zeros((n, out, out, c))
    for i in range(out):
        h0, h1 = (i * h) // out, -(-((i + 1) * h) // out)
        for j in range(out):
            w0, w1 = (j * wd) // out, -(-((j + 1) * wd) // out)
            res[:, i, j] = x[:, h0:h1, w0:w1].mean(axis=(1, 2))
    return res


def ref_aux(layer, x):
    y = torch_adaptive_avg_pool(x, layer.pool_size) @ w(layer.conv.kernel)[0, 0]
    y = relu(bn_inference(y, layer.norm)).reshape(x.shape[0], -1)
    return dense(relu(dense(y, layer.hidden)), layer.classifier)


# --- the cases -------------------------------------------------------------------------------

CASES = {
    "se": (lambda: layers.SqueezeExcitation(reduction=4), ref_se),
    "se_max_pool": (
        lambda: layers.SqueezeExcitation(reduction=4, pooling="max"),
        lambda layer, x: ref_se(layer, x, modes=("max",)),
    ),
    "ssa": (lambda: layers.SquashSpatialAttention(), ref_ssa),
    "ssa_max_grouped": (lambda: layers.SquashSpatialAttention(squash="max", groups=4), ref_ssa),
    "spem": (lambda: layers.SPEM(), ref_spem),
    "cbam": (lambda: layers.CBAM(reduction=4), ref_cbam),
    "eca": (lambda: layers.ECA(), ref_eca),
    "eca_k5": (lambda: layers.ECA(kernel_size=5), ref_eca),
    "srm": (lambda: layers.SRM(), ref_srm),
    "sge": (lambda: layers.SGE(groups=4), ref_sge),
    "coord": (lambda: layers.CoordinateAttention(reduction=4, min_units=2), ref_coord),
    "aux": (lambda: layers.AuxiliaryClassifier(7, conv_filters=8, hidden_units=16), ref_aux),
}


def _input(shape=(3, 7, 9, 16), seed=1):
    return np.random.default_rng(seed).normal(0.0, 1.0, shape).astype("float32")


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_numpy_reference(name, randomize_weights):
    make, reference = CASES[name]
    x = _input()
    layer = make()
    layer.build(x.shape)
    randomize_weights(layer)
    got = to_numpy(layer(x, training=False))
    np.testing.assert_allclose(got, reference(layer, x.astype(np.float64)), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_channels_first_matches_channels_last(name, randomize_weights):
    make, _ = CASES[name]
    x = _input()
    last = make()
    last.build(x.shape)
    randomize_weights(last)
    first = type(last).from_config({**last.get_config(), "data_format": "channels_first"})
    x_first = np.transpose(x, (0, 3, 1, 2))
    first.build(x_first.shape)
    first.set_weights(last.get_weights())
    got = to_numpy(first(x_first, training=False))
    want = to_numpy(last(x, training=False))
    if want.ndim == 4:
        want = np.transpose(want, (0, 3, 1, 2))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_se_with_context_matches_reference(randomize_weights):
    x, t = _input(), _input((3, 5), seed=2)
    layer = layers.SqueezeExcitation(reduction=4)
    layer(x, context=t)
    randomize_weights(layer)
    np.testing.assert_allclose(
        to_numpy(layer(x, context=t)), ref_se(layer, x, context=t), rtol=RTOL, atol=ATOL
    )


def test_ssa_training_mode_uses_batch_statistics(randomize_weights):
    x = _input()
    layer = layers.SquashSpatialAttention(groups=2)
    layer.build(x.shape)
    randomize_weights(layer)
    got = to_numpy(layer(x, training=True))
    np.testing.assert_allclose(got, ref_ssa(layer, x, training=True), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("mode", ["avg", "max", "min", "mix"])
def test_global_pooling_modes(mode, randomize_weights):
    x = _input()
    layer = layers.GlobalPooling(mode)
    layer.build(x.shape)
    randomize_weights(layer)
    if mode == "mix":
        p = w(layer.mix_weights)
        lam = p[0] ** 2 / (p[0] ** 2 + p[1] ** 2)
        want = lam * x.max(axis=(1, 2)) + (1 - lam) * x.min(axis=(1, 2))
    else:
        want = pool(x, mode)
    np.testing.assert_allclose(to_numpy(layer(x)), want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("size", [(8, 8), (7, 10), (3, 5)])
def test_adaptive_average_pool_matches_torch_bins(size):
    x = _input((2, *size, 3))
    got = to_numpy(layers.adaptive_average_pool(x, (4, 4)))
    np.testing.assert_allclose(got, torch_adaptive_avg_pool(x, 4), rtol=RTOL, atol=ATOL)
