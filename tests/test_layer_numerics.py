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


# --- the zoo: references written from the papers' and timm's code (REFERENCE-ZOO.md) ---------


def hard_sigmoid(v):
    return np.clip(v + 3.0, 0.0, 6.0) / 6.0


def ref_ese(layer, x):  # timm squeeze_excite.py EffectiveSEModule
    return x * hard_sigmoid(dense(x.mean(axis=(1, 2)), layer.fc))[:, None, None, :]


def conv1d_channels(z, kernel, bias=None, circular=False):
    """A 1-D convolution along the channel axis of `(N, C, F)` with kernel `(k, F, O)`."""
    k = kernel.shape[0]
    if circular:
        padded = np.concatenate([z[:, z.shape[1] - k // 2 :], z, z[:, : k // 2]], axis=1)
    else:
        padded = np.pad(z, ((0, 0), (k // 2, k // 2), (0, 0)))
    out = sum(padded[:, j : j + z.shape[1]] @ kernel[j] for j in range(k))
    return out if bias is None else out + bias


def ref_eca_zoo(layer, x):  # timm eca.py EcaModule (use_mlp) and CecaModule (circular)
    z = x.mean(axis=(1, 2))[:, :, None]
    circular = layer.padding == "circular"
    if layer.use_mlp:
        h = relu(z @ w(layer.expand.kernel)[0] + w(layer.expand.bias))
        y = conv1d_channels(h, w(layer.conv.kernel), w(layer.conv.bias), circular)
    else:
        y = conv1d_channels(z, w(layer.conv.kernel), circular=circular)
    return x * sigmoid(y[:, :, 0])[:, None, None, :]


def ref_ge(layer, x):  # timm gather_excite.py, param-free gather, ConvMlp excite
    n, h, wd, c = x.shape
    if layer.extent == 0:
        g = x.mean(axis=(1, 2), keepdims=True)
    else:  # avg_pool2d(k=2e-1, stride e, padding e-1, count_include_pad=False)
        e = layer.extent
        k, pad = 2 * e - 1, e - 1
        oh, ow = (h + 2 * pad - k) // e + 1, (wd + 2 * pad - k) // e + 1
        g = np.zeros((n, oh, ow, c))
        for i in range(oh):
            for j in range(ow):
                r0, c0 = i * e - pad, j * e - pad
                window = x[:, max(r0, 0) : min(r0 + k, h), max(c0, 0) : min(c0 + k, wd)]
                g[:, i, j] = window.mean(axis=(1, 2))
    g = conv1x1(relu(conv1x1(g, layer.fc1)), layer.fc2)
    rows = (np.arange(h) * g.shape[1]) // h  # F.interpolate(mode="nearest")
    cols = (np.arange(wd) * g.shape[2]) // wd
    return x * sigmoid(g[:, rows][:, :, cols])


def layer_norm(v, norm):
    mean, var = v.mean(-1, keepdims=True), v.var(-1, keepdims=True)
    return (v - mean) / np.sqrt(var + norm.epsilon) * w(norm.gamma) + w(norm.beta)


def ref_gc(layer, x):  # timm global_context.py GlobalContext
    n, h, wd, c = x.shape
    logits = (x @ w(layer.conv_attn.kernel)[0, 0] + w(layer.conv_attn.bias)).reshape(n, -1)
    a = np.exp(logits - logits.max(-1, keepdims=True))
    a = (a / a.sum(-1, keepdims=True)).reshape(n, h, wd, 1)
    ctx = (x * a).sum(axis=(1, 2))

    def mlp(m):
        return dense(relu(layer_norm(dense(ctx, m.fc1), m.norm)), m.fc2)

    y = x
    if layer.fuse_scale:
        y = y * sigmoid(mlp(layer.mlp_scale))[:, None, None, :]
    if layer.fuse_add:
        y = y + mlp(layer.mlp_add)[:, None, None, :]
    return y


def ref_lcbam(layer, x):  # timm cbam.py LightCbamModule
    se = layer.channel_attention
    p = 0.5 * x.mean(axis=(1, 2)) + 0.5 * x.max(axis=(1, 2))
    x1 = x * sigmoid(dense(relu(dense(p, se.squeeze)), se.excite))[:, None, None, :]
    m = 0.5 * x1.mean(-1, keepdims=True) + 0.5 * x1.max(-1, keepdims=True)
    s = bn_inference(conv2d_same(m, w(layer.spatial_conv.kernel)), layer.spatial_norm)
    return x1 * sigmoid(s)


def conv1x1(v, layer):
    return v @ w(layer.kernel)[0, 0] + w(layer.bias)


def ref_scoord(layer, x):  # timm coord_attn.py SimpleCoordAttn
    x_h, x_w = x.mean(axis=2, keepdims=True), x.mean(axis=1, keepdims=True)

    def fc1(v):
        v = conv1x1(v, layer.fc1)
        return v * sigmoid(v)  # SiLU

    return x * sigmoid(conv1x1(fc1(x_h), layer.fc_h) + conv1x1(fc1(x_w), layer.fc_w))


def depthwise_same(v, kernel):
    """Depthwise convolution, stride 1, PyTorch's symmetric padding; kernel (kh, kw, C, 1)."""
    kh, kw = kernel.shape[:2]
    padded = np.pad(v, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    out = np.zeros(v.shape)
    for a in range(kh):
        for b in range(kw):
            out += padded[:, a : a + v.shape[1], b : b + v.shape[2]] * kernel[a, b, :, 0]
    return out


def group_norm_1(v, norm):
    mean = v.mean(axis=(1, 2, 3), keepdims=True)
    var = v.var(axis=(1, 2, 3), keepdims=True)
    return (v - mean) / np.sqrt(var + norm.epsilon) * w(norm.gamma) + w(norm.beta)


def ref_ela(layer, x):  # timm coord_attn.py EfficientLocalAttn
    def branch(v, conv, norm):
        v = group_norm_1(depthwise_same(v, w(conv.kernel)), norm)
        return sigmoid(v * sigmoid(v))

    a_h = branch(x.mean(axis=2, keepdims=True), layer.conv_h, layer.norm_h)
    a_w = branch(x.mean(axis=1, keepdims=True), layer.conv_w, layer.norm_w)
    return x * a_h * a_w


def ref_strip(layer, x):  # timm coord_attn.py StripAttn
    x_h = depthwise_same(x.mean(axis=2, keepdims=True), w(layer.conv_h.kernel))
    x_w = depthwise_same(x.mean(axis=1, keepdims=True), w(layer.conv_w.kernel))
    return x * sigmoid(x_h + x_w)


def ref_simam(layer, x):  # ZjjConan/SimAM simam_module.py
    n = x.shape[1] * x.shape[2] - 1
    d = (x - x.mean(axis=(1, 2), keepdims=True)) ** 2
    y = d / (4 * (d.sum(axis=(1, 2), keepdims=True) / n + layer.e_lambda)) + 0.5
    return x * sigmoid(y)


def ref_triplet(layer, x):  # landskape-ai/triplet-attention, in NHWC
    def gate(branch, plane):  # plane (N, rows, cols, features): Z-pool over features
        z = np.stack([plane.max(-1), plane.mean(-1)], axis=-1)
        out = conv2d_same(z, w(layer.convs[branch].kernel))
        return sigmoid(bn_inference(out, layer.norms[branch]))[..., 0]

    s_hw = gate("hw", x)[:, :, :, None]  # pools C
    s_cw = gate("cw", x.transpose(0, 3, 2, 1))  # pools H: (N, C, W)
    s_hc = gate("hc", x.transpose(0, 1, 3, 2))  # pools W: (N, H, C)
    total = s_hw + s_cw.transpose(0, 2, 1)[:, None, :, :] + s_hc[:, :, None, :]
    return x * total / 3


def conv2d_dilated(v, kernel, bias, dilation):
    kh, kw = kernel.shape[:2]
    pad = dilation * (kh // 2)
    padded = np.pad(v, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    out = np.zeros((*v.shape[:3], kernel.shape[3]))
    for a in range(kh):
        for b in range(kw):
            out += (
                padded[:, a * dilation : a * dilation + v.shape[1], b * dilation :][
                    :, :, : v.shape[2]
                ]
                @ kernel[a, b]
            )
    return out + bias


def ref_bam(layer, x):  # Jongchan/attention-module MODELS/bam.py
    mc = relu(bn_inference(dense(x.mean(axis=(1, 2)), layer.channel_fc), layer.channel_norm))
    mc = dense(mc, layer.channel_out)
    ms = x
    for conv, norm in layer.spatial_layers:
        ms = relu(
            bn_inference(conv2d_dilated(ms, w(conv.kernel), w(conv.bias), layer.dilation), norm)
        )
    ms = conv1x1(ms, layer.spatial_out)
    return x * (1 + sigmoid(mc[:, None, None, :] * ms))


TOP16 = ((0, 0), (0, 1), (6, 0), (0, 5), (0, 2), (1, 0), (1, 2), (4, 0))
TOP16 += ((5, 0), (1, 6), (3, 0), (0, 4), (0, 6), (0, 3), (3, 5), (2, 2))


def ref_fca(layer, x):  # cfzd/FcaNet model/layer.py MultiSpectralDCTLayer
    size = 7
    pooled = torch_adaptive_avg_pool(x, size)
    c = x.shape[-1]

    def b(p, f):
        v = np.cos(np.pi * f * (p + 0.5) / size) / np.sqrt(size)
        return v if f == 0 else v * np.sqrt(2)

    filters = np.zeros((size, size, c))
    part = c // 16
    for i, (u, v) in enumerate(TOP16):
        basis = np.array([[b(h, u) * b(wd, v) for wd in range(size)] for h in range(size)])
        filters[:, :, i * part : (i + 1) * part] = basis[:, :, None]
    z = (pooled * filters).sum(axis=(1, 2))
    se = layer
    return x * sigmoid(dense(relu(dense(z, se.squeeze)), se.excite))[:, None, None, :]


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
    "ese": (lambda: layers.EffectiveSE(), ref_ese),
    "ecam": (lambda: layers.ECAMLP(), ref_eca_zoo),
    "ceca": (lambda: layers.CircularECA(kernel_size=5), ref_eca_zoo),
    "ge": (lambda: layers.GatherExcite(), ref_ge),
    "ge_local": (lambda: layers.GatherExcite(extent=2), ref_ge),
    "gc": (lambda: layers.GlobalContext(), ref_gc),
    "gca": (lambda: layers.GlobalContextAdd(), ref_gc),
    "gc_both": (lambda: layers.GlobalContext(fuse_add=True), ref_gc),
    "lcbam": (lambda: layers.LightCBAM(), ref_lcbam),
    "scoord": (lambda: layers.SimpleCoordinateAttention(), ref_scoord),
    "ela": (lambda: layers.EfficientLocalAttention(), ref_ela),
    "strip": (lambda: layers.StripAttention(), ref_strip),
    "simam": (lambda: layers.SimAM(), ref_simam),
    "triplet": (lambda: layers.TripletAttention(), ref_triplet),
    "bam": (lambda: layers.BAM(reduction=4), ref_bam),
    "fca": (lambda: layers.FcaNet(reduction=4), ref_fca),
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


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("scale, side", [(3.0, "plain"), (1e20, "safe")])
def test_spatial_moments_take_the_safe_side_only_where_the_plain_one_overflows(
    data_format, scale, side
):
    import threading

    import keras

    from keras_attention.layers.base import converter_form, tracing_for_converter
    from keras_attention.layers.pooling import spatial_moments

    rng = np.random.default_rng(7)
    x = (rng.normal(size=(2, 5, 6, 3)) * scale + scale).astype("float32")
    axes = (1, 2)
    if data_format == "channels_first":
        x, axes = x.transpose(0, 3, 1, 2), (2, 3)
    wide = x.astype("float64")
    expected_mean = wide.mean(axis=axes)
    expected_variance = wide.var(axis=axes, ddof=1)
    results = {}
    for form in ("tensorflow", "converter"):
        if form == "converter":
            with converter_form():
                assert tracing_for_converter()
                seen = []

                def look(seen=seen):
                    seen.append(tracing_for_converter())

                worker = threading.Thread(target=look)
                worker.start()
                worker.join()
                assert seen == [False]  # the form is the tracing thread's only
                moments = spatial_moments(keras.ops.convert_to_tensor(x), data_format)
        else:
            moments = spatial_moments(keras.ops.convert_to_tensor(x), data_format)
        mean, s, scaled = (to_numpy(v).astype("float64") for v in moments)
        results[form] = s
        np.testing.assert_allclose(mean, expected_mean, rtol=1e-5)
        np.testing.assert_allclose(s**2 * scaled, expected_variance, rtol=1e-4)
    assert not tracing_for_converter()
    # The plain side has scale 1; the safe side (and the converters' form, always) the
    # channel's largest magnitude.
    np.testing.assert_array_equal(results["converter"], np.abs(x).max(axis=axes))
    if side == "plain":
        np.testing.assert_array_equal(results["tensorflow"], 1.0)
    else:
        np.testing.assert_array_equal(results["tensorflow"], results["converter"])
