import math

import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_integer,
    conv1x1_as_matmul,
    layer_label,
    make_divisible,
)
from keras_attention.layers.batch_normalization import block_norm, check_batchnorm
from keras_attention.layers.context import ContextInput, context_width, with_context
from keras_attention.layers.pooling import spatial_reduce


def nearest_matrix(out_size, in_size, dtype):
    """`(out, in)` one-hot rows picking `floor(i * in / out)`: PyTorch's `F.interpolate`
    nearest (TensorFlow's nearest resize is half-pixel, another choice), as a matrix product
    (a gather would split XNNPACK's graph)."""
    rows = (ops.arange(out_size) * in_size) // out_size
    return ops.cast(rows[:, None] == ops.arange(in_size)[None, :], dtype)


@keras.saving.register_keras_serializable(package="keras_attention")
class GatherExcite(ContextInput, AttentionBlock):
    """Gather-Excite (Hu et al., NeurIPS 2018; timm's `ge`, timm/layers/gather_excite.py).

    Gather: `extent=0` pools globally; an even `extent` e pools locally (average over a
    `2e - 1` window, stride e, padding e - 1 not counted), or, with `extra_params`, through
    log2(e) depthwise 3x3 convolutions of stride 2 with BatchNorm (ReLU between); with
    `extra_params` and `extent=0`, one depthwise convolution of the map's size
    (`feat_size`) and BatchNorm. Excite: an MLP `C -> rd -> C` (1x1, bias, ReLU;
    `rd = round(C / 16)`), or none (`use_mlp=False`); the gathered map is resized back
    (nearest, as PyTorch) and `y = x * sigmoid(.)`. With `extent=0` and no extra parameters it
    has `2 C rd + rd + C` parameters (C=256: 8,464). Takes `context=` with a global gather
    and an MLP (SE-R), concatenated to the gathered vector.

    timm's module passes `*dd` where `**dd` is meant to its sub-layers (also at its HEAD), so
    its defaults raise a TypeError; this block follows the corrected code.

    Args:
        extent: 0 (global) or an even stride of the local gather.
        extra_params: the parametric gather.
        feat_size: the map size, for `extra_params` with `extent=0` (an odd int).
        use_mlp: the excite MLP.
        rd_ratio: 1/16.
        rd_divisor: 1.
        batchnorm: `"keras"` or `"torch"` (the parametric gather's BatchNorm).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        training: whether the BatchNormalization uses batch statistics.
        context: optional `(batch, n)` tensor.

    Example:

    >>> x = np.random.rand(2, 8, 8, 32).astype("float32")
    >>> GatherExcite(extent=2)(x).shape
    (2, 8, 8, 32)
    """

    def __init__(
        self,
        extent=0,
        extra_params=False,
        feat_size=None,
        use_mlp=True,
        rd_ratio=1.0 / 16,
        rd_divisor=1,
        batchnorm="keras",
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        owner = layer_label(self)
        check_integer(owner, "extent", extent, minimum=0)
        if extent and (extent % 2 or (extra_params and extent & (extent - 1))):
            kind = "a power of two" if extra_params else "even"
            raise ValueError(f"{owner}: extent must be 0 or {kind}, got {extent}.")
        if extra_params and not extent:
            check_integer(owner, "feat_size", feat_size)
            if feat_size % 2 == 0:
                raise ValueError(
                    f"{owner}: feat_size must be odd (a centred kernel), got {feat_size}."
                )
        self.extent = extent
        self.extra_params = bool(extra_params)
        self.feat_size = feat_size
        self.use_mlp = bool(use_mlp)
        self.rd_ratio = rd_ratio
        self.rd_divisor = check_integer(owner, "rd_divisor", rd_divisor)
        self.batchnorm = check_batchnorm(batchnorm, owner)
        self.context_units = 0

    def build(self, inputs_shape, context_shape=None):
        channels = self.input_channels(inputs_shape)
        self.context_units = context_width(self, inputs_shape, context_shape)
        if self.context_units and (self.extent or not self.use_mlp):
            raise ValueError(
                f"{layer_label(self)}: a context (SE-R) needs a global gather (extent=0) and "
                "the MLP (use_mlp=True)"
            )
        policy = self.statistics_policy()
        shape = self.channel_shape(channels)
        self.gather_layers = []
        if self.extra_params:
            steps = 1 if not self.extent else int(math.log2(self.extent))
            for i in range(steps):
                size, stride = (self.feat_size, 1) if not self.extent else (3, 2)
                conv = keras.layers.DepthwiseConv2D(
                    size,
                    stride,
                    padding="valid",
                    use_bias=False,
                    data_format=self.data_format,
                    dtype=policy,
                    name=f"gather_conv{i}",
                )
                norm = block_norm(self, f"gather_norm{i}")
                conv.build(shape)
                norm.build(shape)
                self.gather_layers.append((size // 2, conv, norm, i < steps - 1))
        if self.use_mlp:
            # timm's ConvMlp: 1x1 convolutions, on the gathered map whatever its size.
            hidden = make_divisible(channels * self.rd_ratio, self.rd_divisor)
            conv = dict(data_format=self.data_format, dtype=policy)
            self.fc1 = keras.layers.Conv2D(hidden, 1, activation="relu", name="fc1", **conv)
            self.fc2 = keras.layers.Conv2D(channels, 1, name="fc2", **conv)
            self.fc1.build(self.channel_shape(channels + self.context_units))
            self.fc2.build(self.channel_shape(hidden))

    def _channels_last(self, x):
        return x if self.data_format == "channels_last" else ops.transpose(x, (0, 2, 3, 1))

    def _local_average(self, x):
        """Average over `2e - 1` windows, stride e, padding e - 1 left out of the count."""
        e, pad = self.extent, self.extent - 1
        padding = [(0, 0), (pad, pad), (pad, pad), (0, 0)]
        pool = dict(pool_size=2 * e - 1, strides=e, padding="valid", data_format="channels_last")
        ones = ops.ones_like(x[..., :1])
        sums = keras.ops.average_pool(ops.pad(x, padding), **pool)
        counts = keras.ops.average_pool(ops.pad(ones, padding), **pool)
        return sums / counts

    def gather(self, x, training=None):
        if self.extra_params:
            for pad, conv, norm, relu in self.gather_layers:
                pads = [(0, 0)] * 4
                for axis in self.spatial_axes:
                    pads[axis] = (pad, pad)
                x = norm(conv(ops.pad(x, pads)), training=training)
                if relu:
                    x = ops.relu(x)
            return x
        # A global gather without parameters never gets here (`compute_attention`).
        local = self._local_average(self._channels_last(x))
        return local if self.data_format == "channels_last" else ops.transpose(local, (0, 3, 1, 2))

    def compute_attention(self, x, training=None, context=None):
        stats = self.statistics_input(x)
        if not self.extent and not self.extra_params:  # a global gather: one weight a channel
            vector = spatial_reduce(stats, ops.mean, self.data_format)  # (N, C)
            if self.use_mlp:  # timm's 1x1 convolutions, on the vector they see
                vector = with_context(self, x, vector, context)
                vector = conv1x1_as_matmul(self.fc2, conv1x1_as_matmul(self.fc1, vector))
            return {"channel": ops.sigmoid(vector)}
        gathered = self.gather(stats, training=training)
        h_axis, w_axis = self.spatial_axes
        excited = gathered
        if self.use_mlp:
            if self.context_units or context is not None:  # a global gather: (N, 1, 1, C)
                vector = ops.mean(gathered, axis=(h_axis, w_axis))
                excited = self.channel_map(with_context(self, x, vector, context))
            excited = self.fc2(self.fc1(excited))
        size = (excited.shape[h_axis], excited.shape[w_axis])
        if size != (1, 1):
            shape = ops.shape(x)
            rows = nearest_matrix(shape[h_axis], ops.shape(excited)[h_axis], excited.dtype)
            cols = nearest_matrix(shape[w_axis], ops.shape(excited)[w_axis], excited.dtype)
            pattern = (
                "ih,nhwc,jw->nijc" if self.data_format == "channels_last" else "ih,nchw,jw->ncij"
            )
            excited = ops.einsum(pattern, rows, excited, cols)
        return {"gate": ops.sigmoid(excited)}

    def gate(self, maps):
        if "channel" in maps:
            return self.channel_map(maps["channel"])
        return maps["gate"]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "extent": self.extent,
                "extra_params": self.extra_params,
                "feat_size": self.feat_size,
                "use_mlp": self.use_mlp,
                "rd_ratio": self.rd_ratio,
                "rd_divisor": self.rd_divisor,
                "batchnorm": self.batchnorm,
            }
        )
        return config
