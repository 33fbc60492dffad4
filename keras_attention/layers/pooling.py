"""Global pooling strategies shared by every block, and adaptive average pooling.

The SPEM paper's point is that the pooling that summarises a feature map is a choice for every
attention block, not a fixed global average. `GlobalPooling` is the one implementation of the
strategies; the blocks take a `pooling=` argument and use it: average, max, min, SPEM's
learnable max/min mix, timm's averaged average and max (`"avgmax"`), and FcaNet's
multi-spectral DCT pooling (`"dct"`).
"""

import functools
import math

import keras
import numpy as np
from keras import ops

from keras_attention.layers.base import (
    InputHandling,
    check_number,
    feature_map_channels,
    spatial_axes,
    spatial_size,
    standardize_data_format,
    tracing_for_converter,
    tracing_for_integer_converter,
)

POOLING_MODES = ("avg", "max", "min", "mix", "avgmax", "dct")
"""The modes of `GlobalPooling` (and the blocks' `pooling=`): average, max, min, the learnable
max/min mix of SPEM, timm's ½ avg + ½ max, and FcaNet's multi-spectral DCT pooling."""
_REDUCERS = {"avg": ops.mean, "max": ops.max, "min": ops.min}
# FcaNet's 'top16' frequencies on a 7x7 grid (cfzd/FcaNet model/layer.py), scaled to the DCT
# size; its DCT size by the bottleneck's output channels (fcanet.py: planes 64 -> 56, ...).
FCA_TOP16_U = (0, 0, 6, 0, 0, 1, 1, 4, 5, 1, 3, 0, 0, 0, 3, 2)
FCA_TOP16_V = (0, 1, 0, 5, 2, 0, 2, 0, 0, 6, 0, 4, 6, 3, 5, 2)
FCA_DCT_SIZES = {256: 56, 512: 28, 1024: 14, 2048: 7}


def dct_filters(channels, height, width):
    """FcaNet's `(channels, height, width)` DCT weights: 16 consecutive channel groups, group
    i weighted by the basis of frequency `(u_i, v_i)` (orthonormal DCT-II, as the code)."""
    if channels % 16:
        raise ValueError(f"dct pooling needs channels divisible by 16, got {channels}.")

    def basis(position, frequency, size):
        value = math.cos(math.pi * frequency * (position + 0.5) / size) / math.sqrt(size)
        return value if frequency == 0 else value * math.sqrt(2)

    filters = np.zeros((channels, height, width))
    part = channels // 16
    for i, (u, v) in enumerate(zip(FCA_TOP16_U, FCA_TOP16_V, strict=True)):
        u, v = u * (height // 7), v * (width // 7)
        rows = np.array([basis(h, u, height) for h in range(height)])
        cols = np.array([basis(w, v, width) for w in range(width)])
        filters[i * part : (i + 1) * part] = np.outer(rows, cols)
    return filters


def check_pooling_mode(mode, owner):
    if mode not in POOLING_MODES:
        raise ValueError(
            f"{owner}: unknown pooling mode {mode!r}; expected one of {POOLING_MODES}."
        )
    return mode


def global_pool(x, mode, data_format="channels_last"):
    """Reduces a feature map over its spatial axes to `(batch, channels)`.

    `mode` is `"avg"`, `"max"` or `"min"`; the learnable `"mix"` needs weights and lives in
    `GlobalPooling`.
    """
    if mode not in _REDUCERS:
        raise ValueError(f"global_pool: mode must be one of {tuple(_REDUCERS)}, got {mode!r}.")
    return spatial_reduce(x, _REDUCERS[mode], data_format)


def spatial_reduce(x, reducer, data_format="channels_last", keepdims=False):
    """`reducer` (`ops.mean`, `ops.sum`, `ops.max`, `ops.min`) over the spatial axes.

    channels_last: over the height, then over the width. TensorFlow reduces an `(N, H, W, C)`
    map over `(1, 2)` as the middle axis of `(N, H*W, C)`, with `C` contiguous values per step;
    over `1` alone it has `W*C` of them: 2.5 to 3 times faster on ResNet-50's maps, and the
    second reduction reads a map `H` times smaller. A converter's trace
    (`base.converter_form`) keeps the one reduction over both axes, XNNPACK's global pooling.
    """
    axes = spatial_axes(data_format)
    if data_format == "channels_first" or tracing_for_converter():
        return reducer(x, axis=axes, keepdims=keepdims)
    rows = reducer(x, axis=1, keepdims=True)
    return reducer(rows, axis=2, keepdims=True) if keepdims else reducer(rows, axis=(1, 2))


@keras.saving.register_keras_serializable(package="keras_attention")
class GlobalPooling(InputHandling, keras.layers.Layer):
    """Global pooling of a feature map: average, max, min, a learnable max/min mix, the
    average of average and max, or FcaNet's DCT pooling.

    The mix is the SPEM pooling module: with a learnable 2-vector `p` (initial 0.5, 0.5),
    `lambda = p1^2 / (p1^2 + p2^2)` and the pooled vector is
    `lambda * max_pool(x) + (1 - lambda) * min_pool(x)`. Because `lambda` does not depend on the
    scale of `p`, SPEM bounds `p` with the penalty `mix_penalty * (p1^2 + p2^2)`, added through
    `add_loss` each time the mix is used.

    `"avgmax"` is `0.5 * avg_pool(x) + 0.5 * max_pool(x)` (timm's `add_maxpool` and light
    CBAM). `"dct"` is FcaNet's multi-spectral pooling: the map is average-pooled (adaptively,
    as PyTorch) to `dct_size` when it has another size, then channel `c` is summed with the
    weights of its DCT frequency (`dct_filters`; frequency (0, 0) gives sqrt(HW) times the
    average).

    Args:
        mode: `"avg"`, `"max"`, `"min"`, `"mix"`, `"avgmax"` or `"dct"`.
        mix_penalty: coefficient of the penalty on `p` (mode `"mix"` only); 0 disables it.
        dct_size: the DCT grid `(height, width)` or one size (mode `"dct"`); None: FcaNet's
            choice from the channels (256: 56, 512: 28, 1024: 14, 2048: 7; else 7).
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.

    Call arguments:
        inputs: a 4-D feature map.

    Returns:
        A `(batch, channels)` tensor.

    Example:

    >>> x = np.random.rand(2, 8, 8, 16).astype("float32")
    >>> GlobalPooling("mix")(x).shape
    (2, 16)
    """

    def __init__(self, mode="avg", mix_penalty=0.0, dct_size=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} layer '{self.name}'"
        self.mode = check_pooling_mode(mode, owner)
        self.mix_penalty = float(check_number(owner, "mix_penalty", mix_penalty, low=0.0))
        if isinstance(dct_size, int) and not isinstance(dct_size, bool):
            dct_size = (dct_size, dct_size)
        if dct_size is not None and (
            len(tuple(dct_size)) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in dct_size)
        ):
            raise ValueError(
                f"{owner}: dct_size must be None, an int or (height, width), got {dct_size!r}."
            )
        self.dct_size = None if dct_size is None else tuple(dct_size)
        self.data_format = standardize_data_format(data_format)
        self.mix_weights = None
        self.dct_weights = None

    def build(self, input_shape):
        channels = feature_map_channels(self, input_shape, self.data_format)
        if self.mode == "dct" and self.dct_weights is None:
            if channels % 16:
                raise ValueError(
                    f"{type(self).__name__} layer '{self.name}': dct pooling splits the channels "
                    f"into FcaNet's 16 frequency groups, so they must be a multiple of 16; "
                    f"received input shape {tuple(input_shape)}."
                )
            size = self.dct_size or (FCA_DCT_SIZES.get(channels, 7),) * 2
            filters = dct_filters(channels, *size)
            if self.data_format == "channels_last":
                filters = filters.transpose(1, 2, 0)
            # A constant of the configuration, not a weight: made again from it when loaded.
            self.dct_weights = filters.astype("float32")
        self.build_mix()

    def build_mix(self):
        """Creates `p` for mode "mix"; also called by blocks that only use `mix()`."""
        if self.mode == "mix" and self.mix_weights is None:
            self.mix_weights = self.add_weight(
                name="mix_weights",
                shape=(2,),
                initializer=keras.initializers.Constant(0.5),
                # Read in full precision also when a block calls mix() under float16.
                autocast=False,
            )
        self.built = True

    def mix_coefficient(self):
        """`lambda = p1^2 / (p1^2 + p2^2)`, the weight of the max pool (no epsilon, as SPEM)."""
        squares = ops.square(self.mix_weights)
        return squares[0] / (squares[0] + squares[1])

    def mix(self, from_max, from_min):
        """`lambda * from_max + (1 - lambda) * from_min`, adding the penalty on `p`."""
        if self.mix_penalty:
            self.add_loss(self.mix_penalty * ops.sum(ops.square(self.mix_weights)))
        lam = ops.cast(self.mix_coefficient(), from_max.dtype)
        return lam * from_max + (1.0 - lam) * from_min

    def call(self, inputs):
        if self.mode == "mix":
            return self.mix(
                global_pool(inputs, "max", self.data_format),
                global_pool(inputs, "min", self.data_format),
            )
        if self.mode == "avgmax":
            return 0.5 * global_pool(inputs, "avg", self.data_format) + 0.5 * global_pool(
                inputs, "max", self.data_format
            )
        if self.mode == "dct":
            return self.dct(inputs)
        return global_pool(inputs, self.mode, self.data_format)

    def dct(self, inputs):
        axes = spatial_axes(self.data_format)
        weights = ops.convert_to_tensor(self.dct_weights, dtype=inputs.dtype)
        size = tuple(
            self.dct_weights.shape[:2]
            if self.data_format == "channels_last"
            else self.dct_weights.shape[1:]
        )
        if tuple(inputs.shape[a] for a in axes) != size:
            # Average pooling to the DCT grid then weighting is one linear map: the DCT
            # weights spread back over the bins they average (`adaptive_pool_weights`) weight
            # the map itself, in one pass, not a pooled copy of it (FcaNet on EfficientNet's
            # 112x112 maps: the pooling was a quarter of the network's time).
            weights = adaptive_pool_weights(
                weights, spatial_size(inputs, self.data_format), self.data_format
            )
        return spatial_reduce(inputs * weights[None], ops.sum, self.data_format)

    def compute_output_shape(self, input_shape):
        channel = -1 if self.data_format == "channels_last" else 1
        return (input_shape[0], input_shape[channel])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mode": self.mode,
                "mix_penalty": self.mix_penalty,
                "dct_size": self.dct_size,
                "data_format": self.data_format,
            }
        )
        return config


def _adaptive_pool_matrix(length, output_size, dtype):
    """(output_size, length) averaging matrix with PyTorch's adaptive pooling bins:
    bin i covers [floor(i * L / n), ceil((i + 1) * L / n))."""
    positions = ops.arange(length)
    bins = ops.arange(output_size)
    start = (bins * length) // output_size
    end = ((bins + 1) * length + output_size - 1) // output_size
    inside = ops.logical_and(
        positions[None, :] >= start[:, None], positions[None, :] < end[:, None]
    )
    inside = ops.cast(inside, dtype)
    return inside / ops.sum(inside, axis=1, keepdims=True)


def adaptive_pool_weights(weights, size, data_format="channels_last"):
    """Spatial weights `w` of a pooled grid, `(h, w, C)` (`(C, h, w)` channels first), as
    weights of a map of `size` (height, width) before `adaptive_average_pool`: summing
    `x * result` over the map's positions equals summing `adaptive_average_pool(x) * w` over
    the grid's."""
    if data_format == "channels_last":
        out_h, out_w = weights.shape[0], weights.shape[1]
        equation = "ih,ijc,jw->hwc"
    else:
        out_h, out_w = weights.shape[1], weights.shape[2]
        equation = "ih,cij,jw->chw"
    rows = _adaptive_pool_matrix(size[0], out_h, weights.dtype)
    cols = _adaptive_pool_matrix(size[1], out_w, weights.dtype)
    return ops.einsum(equation, rows, weights, cols)


def adaptive_average_pool(x, output_size, data_format="channels_last"):
    """Average pools a feature map of any spatial size to `output_size` (height, width).

    Matches `torch.nn.functional.adaptive_avg_pool2d`, also when the input size is not a
    multiple of the output size, and works with spatial sizes unknown until run time.
    """
    out_h, out_w = output_size
    height, width = spatial_size(x, data_format)
    rows = _adaptive_pool_matrix(height, out_h, x.dtype)
    cols = _adaptive_pool_matrix(width, out_w, x.dtype)
    if data_format == "channels_last":
        return ops.einsum("ih,nhwc,jw->nijc", rows, x, cols)
    return ops.einsum("ih,nchw,jw->ncij", rows, x, cols)


def spatial_moments(x, data_format="channels_last", keepdims=False, then=None):
    """Per-channel mean and unbiased variance over the spatial axes, safe from overflow.

    Returns `(mean, scale, scaled_variance)` with `variance = scale**2 * scaled_variance`.
    The variance divides by n - 1 (PyTorch's `var`/`std` default, used by SRM and SGE),
    floored at 1 so that a 1x1 map gives 0. With `then`, returns `then(mean, scale,
    scaled_variance)` instead, computed on the side of the branch below that ran, where
    `scale` is None on the plain side (the values need no rescaling there).

    Speed: the plain two-pass moments (a mean, then the mean squared distance from it; `scale`
    is 1) are taken first. Only where they are not finite, which is where a sum or a square
    overflowed float32 (values beyond about 1.8e19) or the input holds inf or NaN, does a
    branch (`ops.cond`, which runs one side) take them again the safe way, `_safe_moments`.
    A converter's trace (`base.converter_form`) always takes the safe way, with no branch: XNNPACK
    delegates no control flow.
    """
    axes = spatial_axes(data_format)

    def finish(mean, scale, scaled):
        if not keepdims:
            squeeze = functools.partial(ops.squeeze, axis=axes)
            mean, scaled = squeeze(mean), squeeze(scaled)
            scale = None if scale is None else squeeze(scale)
        if then is not None:
            return then(mean, scale, scaled)
        return mean, ops.ones_like(mean) if scale is None else scale, scaled

    def safe():
        return finish(*_safe_moments(x, data_format))

    moments = integer_moments(x, data_format)
    if moments is not None:
        mean, variance = moments
        return finish(mean, None, variance)
    if tracing_for_converter():
        return safe()
    mean, variance = _plain_moments(x, data_format)
    plain = finish(mean, None, variance * _unbiased(x, axes))
    return ops.cond(ops.all(ops.isfinite(variance)), lambda: plain, safe)


def integer_moments(x, data_format):
    """`(mean, variance)` per channel as `spatial_moments` gives them (spatial axes kept, the
    variance unbiased), in ops that full-integer TFLite computes well, in a full-integer
    converter's trace (`base.tracing_for_integer_converter`) where the static shape knows the
    spatial size; None elsewhere. The plain two-pass moments with their squares summed by
    `sum_of_squares` (no SQUARE, float only there), without the safe form's largest magnitude
    (its NEG and MAXIMUM stay float, and its division is int8 DIV): an int8 map cannot
    overflow."""
    if not tracing_for_integer_converter():
        return None
    axes = spatial_axes(data_format)
    count = static_count(x, axes)
    if count is None:
        return None
    mean = spatial_reduce(x, ops.mean, data_format, keepdims=True)
    return mean, sum_of_squares(x - mean, axes) / float(max(count - 1, 1))


def static_count(v, axes):
    """The number of positions of `v` over `axes` (an int or a tuple, negative counting from
    the end) as a Python int, or None where its static shape leaves a size unknown."""
    sizes = [v.shape[a] for a in _axes_tuple(axes, v)]
    return None if None in sizes else int(np.prod(sizes))


def sum_of_squares(centred, axes):
    """`sum(centred**2)` over `axes` (kept as 1s), for a full-integer converter's trace
    (static sizes over `axes`): a dot product of each row with itself (BATCH_MATMUL: int8
    products summed in int32), not SQUARE (float only in TFLite) and not a product map
    rounded to int8, whose range is the square of the map's (see `SRM.converter_logits`)."""
    rank = len(centred.shape)
    count = static_count(centred, axes)
    axes = sorted(_axes_tuple(axes, centred))
    kept = [a for a in range(rank) if a not in axes]
    dims = list(centred.shape)
    if kept + axes != list(range(rank)):
        centred = ops.transpose(centred, kept + axes)
    rows = ops.reshape(centred, (-1, 1, count))
    squares = ops.matmul(rows, ops.transpose(rows, (0, 2, 1)))  # (rows, 1, 1)
    shape = [1 if a in axes else dims[a] for a in range(rank)]
    shape[kept[0] if kept else 0] = -1
    return ops.reshape(squares, shape)


def _plain_moments(x, data_format):
    """The mean and the biased variance, two passes (`keepdims`). Written out rather than
    `ops.moments`: PyTorch's is E[x^2] - E[x]^2, which cancels when the mean is large, and
    TensorFlow's reduces over both spatial axes at once (`spatial_reduce`: 2.4 times slower
    on ResNet-50's first stage)."""
    mean = spatial_reduce(x, ops.mean, data_format, keepdims=True)
    return mean, spatial_reduce(ops.square(x - mean), ops.mean, data_format, keepdims=True)


def _unbiased(x, axes):
    """n / (n - 1) for n spatial positions, with n - 1 floored at 1."""
    shape = ops.shape(x)
    count = ops.cast(shape[axes[0]] * shape[axes[1]], x.dtype)
    return count / ops.maximum(count - 1.0, 1.0)


def _safe_moments(x, data_format):
    """`(mean, scale, scaled_variance)`, `keepdims`, for any finite values: `scale` is the
    channel's largest magnitude, at least 1. The values divided by it are at most 1, so
    neither their sum nor the squares of their distances from the mean can overflow; values
    within +-1 are not rescaled at all. The largest magnitude comes from a max and a min pool,
    which only read the map (no `|x - mean|` map is formed). (A power-of-two scale, from `log2`
    and `power`, would make the division exact, but split SRM-ResNet-50's TFLite graph into 17
    XNNPACK partitions.)"""
    largest = ops.maximum(
        spatial_reduce(x, ops.max, data_format, keepdims=True),
        -spatial_reduce(x, ops.min, data_format, keepdims=True),
    )
    scale = ops.maximum(largest, 1.0)
    # The mean too is taken of the scaled values: a sum of huge values would overflow.
    mean, variance = _plain_moments(x / scale, data_format)
    return mean * scale, scale, variance * _unbiased(x, spatial_axes(data_format))


def standardize(v, axes, epsilon, gamma=None, beta=None):
    """`(v - mean) / sqrt(var + epsilon)` over `axes` (biased variance, as LayerNorm and
    GroupNorm), safe from overflow; with `gamma` and `beta` (broadcasting over `v`), that
    times `gamma` plus `beta`, `gamma` folded into the per-sample factor: one product over
    `v`, not two. Written with elementwise ops and reductions only, so it stays in one
    XNNPACK partition (Keras' LayerNormalization and GroupNormalization bring SHAPE and RSQRT
    ops).

    As `spatial_moments`: the plain two-pass form first, and only where its variance is not
    finite (a square overflowed float32, or `v` holds inf or NaN) a branch (`ops.cond`) takes
    the safe one, `_safe_standardize`; a converter's trace takes the safe one, with no branch.
    The plain form has 3 ops fewer on every call, the largest magnitude's reduction among
    them (on ELA's strips, a third of the norm's time)."""
    count = static_count(v, axes) if tracing_for_integer_converter() else None
    if count is not None:
        # Full-integer TFLite: no SQUARE (float only there; `sum_of_squares`) and no division
        # by a largest magnitude (int8 DIV); an int8 tensor cannot overflow.
        centred = v - ops.mean(v, axis=axes, keepdims=True)
        variance = sum_of_squares(centred, axes) / float(count)
        # A product by RSQRT, not an int8 DIV by the deviation.
        factor = ops.rsqrt(variance + epsilon)
        normalized = centred * (factor if gamma is None else factor * gamma)
        return normalized if beta is None else normalized + beta
    if tracing_for_converter():
        return _safe_standardize(v, axes, epsilon, gamma, beta)
    centred = v - ops.mean(v, axis=axes, keepdims=True)
    variance = ops.mean(ops.square(centred), axis=axes, keepdims=True)
    return ops.cond(
        ops.all(ops.isfinite(variance)),
        lambda: _normalize(centred, variance, epsilon, gamma, beta),
        lambda: _safe_standardize(v, axes, epsilon, gamma, beta),
    )


def _axes_tuple(axes, v):
    rank = len(v.shape)
    return tuple(a % rank for a in ((axes,) if isinstance(axes, int) else axes))


def _normalize(centred, variance, epsilon, gamma, beta):
    """`centred / sqrt(variance + epsilon)`, times `gamma` and plus `beta` where given."""
    if gamma is None:
        normalized = centred / ops.sqrt(variance + epsilon)
    else:
        normalized = centred * (gamma / ops.sqrt(variance + epsilon))
    return normalized if beta is None else normalized + beta


def _safe_standardize(v, axes, epsilon, gamma=None, beta=None):
    """`standardize` computed on `v / s`, `s` the largest magnitude over `axes` (at least 1),
    with `epsilon / s^2`, which is the same value: nothing it squares exceeds 1 in size."""
    scale = ops.maximum(ops.max(ops.abs(v), axis=axes, keepdims=True), 1.0)
    v = v / scale
    centred = v - ops.mean(v, axis=axes, keepdims=True)
    variance = ops.mean(ops.square(centred), axis=axes, keepdims=True)
    return _normalize(centred, variance, epsilon / ops.square(scale), gamma, beta)


def bounded(vector):
    """`(vector / s, s)` with `s = max(max |vector|, 1)` per sample: the products of a pooled
    `(batch, channels)` vector with the feature map then stay finite. In a full-integer
    converter's trace `(vector, None)`: an integer tensor cannot overflow, and the division
    would be an int8 DIV, which fails at invoke on a divisor rounded to zero."""
    if tracing_for_integer_converter():
        return vector, None
    scale = ops.maximum(ops.max(ops.abs(vector), axis=-1, keepdims=True), 1.0)
    return vector / scale, scale
