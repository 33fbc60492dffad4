import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_integer,
    check_number,
    conv1x1_as_matmul,
    layer_label,
    make_divisible,
    runs_as_itself,
    spatial_size,
)
from keras_attention.layers.context import ContextInput, context_width, with_context
from keras_attention.layers.pooling import spatial_reduce, standardize


class ContextMLP(keras.layers.Layer):
    """timm's ConvMlp on a `(batch, C)` vector: Dense C -> rd (bias), LayerNorm (epsilon
    1e-6), ReLU, Dense rd -> C (bias)."""

    def __init__(self, hidden, channels, zero_last=False, **kwargs):
        super().__init__(**kwargs)
        self.fc1 = keras.layers.Dense(hidden, dtype=self.dtype_policy, name="fc1")
        self.norm = keras.layers.LayerNormalization(
            epsilon=1e-6, dtype=self.dtype_policy, name="norm"
        )
        initializer = "zeros" if zero_last else "glorot_uniform"
        self.fc2 = keras.layers.Dense(
            channels, kernel_initializer=initializer, dtype=self.dtype_policy, name="fc2"
        )

    def build(self, input_shape):
        self.fc1.build(input_shape)
        self.norm.build((None, self.fc1.units))
        self.fc2.build((None, self.fc1.units))

    def call(self, inputs):
        # The LayerNorm's weights, applied with `standardize` (overflow-safe, one XNNPACK
        # partition).
        hidden = standardize(self.fc1(inputs), -1, self.norm.epsilon)
        hidden = hidden * self.norm.gamma + self.norm.beta
        return self.fc2(ops.relu(hidden))


@keras.saving.register_keras_serializable(package="keras_attention")
class GlobalContext(ContextInput, AttentionBlock):
    """Global Context block (Cao et al., GCNet, 2019; timm's `gc` and `gca`).

    Attention pooling: `a = softmax_HW(conv1x1(x))` (C -> 1, with bias) and the context
    `c = sum_HW a * x`, a `(batch, C)` vector; then per fusion an MLP `C -> rd -> C` (bias,
    LayerNorm, ReLU): scale `y = x * sigmoid(mlp_scale(c))` (`gc`), add `y = x + mlp_add(c)`
    (`gca`, `GlobalContextAdd`), or both (scale first). `rd = round(C / 8)`; the add branch's
    last kernel starts at zero, as timm (timm/layers/global_context.py). Parameters per MLP
    `2 C rd + 3 rd + C`, plus `C + 1` (C=256, scale only: 16,993). Takes `context=` (SE-R),
    concatenated to `c` before each MLP.

    Args:
        fuse_scale: the multiplicative branch (True).
        fuse_add: the additive branch (False).
        use_attn: attention pooling (True); False: global average pooling.
        rd_ratio: hidden width `C * rd_ratio` (1/8).
        rd_divisor: round the hidden width to a multiple of this (1).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        context: optional `(batch, n)` tensor concatenated to the context vector.

    Example:

    >>> x = np.random.rand(2, 8, 8, 32).astype("float32")
    >>> GlobalContext()(x).shape
    (2, 8, 8, 32)
    """

    def __init__(
        self,
        fuse_scale=True,
        fuse_add=False,
        use_attn=True,
        rd_ratio=1.0 / 8,
        rd_divisor=1,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        if not (fuse_scale or fuse_add):
            raise ValueError(f"{layer_label(self)}: needs fuse_scale or fuse_add (or both).")
        self.fuse_scale = bool(fuse_scale)
        self.fuse_add = bool(fuse_add)
        self.use_attn = bool(use_attn)
        self.rd_ratio = check_number(layer_label(self), "rd_ratio", rd_ratio, low=1e-9)
        self.rd_divisor = check_integer(layer_label(self), "rd_divisor", rd_divisor)
        self.context_units = 0

    def build(self, inputs_shape, context_shape=None):
        channels = self.input_channels(inputs_shape)
        self.context_units = context_width(self, inputs_shape, context_shape)
        policy = self.statistics_policy()
        hidden = make_divisible(channels * self.rd_ratio, self.rd_divisor)
        if self.use_attn:
            self.conv_attn = keras.layers.Conv2D(
                1,
                1,
                kernel_initializer=keras.initializers.HeNormal(),
                data_format=self.data_format,
                dtype=policy,
                name="conv_attn",
            )
            self.conv_attn.build(inputs_shape)
        width = (None, channels + self.context_units)
        self.mlp_scale = self.mlp_add = None
        if self.fuse_scale:
            self.mlp_scale = ContextMLP(hidden, channels, dtype=policy, name="mlp_scale")
            self.mlp_scale.build(width)
        if self.fuse_add:
            self.mlp_add = ContextMLP(hidden, channels, True, dtype=policy, name="mlp_add")
            self.mlp_add.build(width)

    def pooled_context(self, stats):
        axes = self.spatial_axes
        if not self.use_attn:
            return spatial_reduce(stats, ops.mean, self.data_format)
        if self.data_format == "channels_last" and not runs_as_itself(self.conv_attn, stats):
            return self.attention_pool(stats)
        # channels_first, or a converter's trace: the layer itself (`base.runs_as_itself`).
        logits = self.conv_attn(stats)  # (N, H, W, 1) or (N, 1, H, W)
        h, w = spatial_size(logits, self.data_format)
        # Static shapes where they are known: a reshape by a run-time shape adds SHAPE and
        # PACK ops, which split TFLite's XNNPACK graph.
        static = None not in logits.shape[1:]
        if static and h * w == 1:  # one position: its attention weight is 1
            return ops.sum(stats, axis=axes)
        flat = ops.reshape(logits, (-1, h * w))
        back = (-1, *logits.shape[1:]) if static else ops.shape(logits)
        weights = ops.reshape(ops.softmax(flat, axis=-1), back)
        return spatial_reduce(stats * weights, ops.sum, self.data_format)

    def attention_pool(self, stats):
        """`sum_HW softmax_HW(conv1x1(x)) * x` on channels_last data as two matmuls over the
        flattened map, as timm writes it: the weighted sum reads the map once, where the
        product-then-sum form writes a full-size product (2.8 ms of 11.5 on ResNet-50's first
        stage). Converters get the other form (`pooled_context`), whose static reshapes and
        reductions XNNPACK runs in one partition."""
        shape = ops.shape(stats)
        flat = ops.reshape(stats, (shape[0], -1, stats.shape[-1]))  # (N, HW, C)
        logits = conv1x1_as_matmul(self.conv_attn, flat)  # (N, HW, 1)
        weights = ops.reshape(ops.softmax(logits, axis=1), (shape[0], 1, -1))
        return ops.matmul(weights, flat)[:, 0]

    def compute_attention(self, x, training=None, context=None):
        stats = self.statistics_input(x)
        c = with_context(self, x, self.pooled_context(stats), context)
        maps = {}
        if self.fuse_scale:
            maps["channel"] = ops.sigmoid(self.mlp_scale(c))
        if self.fuse_add:
            maps["add"] = self.mlp_add(c)
        return maps

    def apply_maps(self, inputs, maps):
        y = inputs
        if "channel" in maps:
            y = self.rescale(y, self.channel_map(maps["channel"]))
        if "add" in maps:
            y = y + ops.cast(self.channel_map(maps["add"]), y.dtype)
        return y

    def gate(self, maps):
        return self.channel_map(maps["channel"])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "fuse_scale": self.fuse_scale,
                "fuse_add": self.fuse_add,
                "use_attn": self.use_attn,
                "rd_ratio": self.rd_ratio,
                "rd_divisor": self.rd_divisor,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_attention")
class GlobalContextAdd(GlobalContext):
    """timm's `gca`: `GlobalContext(fuse_add=True, fuse_scale=False)`, the context added to
    every position (see `GlobalContext`)."""

    def __init__(self, fuse_scale=False, fuse_add=True, **kwargs):
        super().__init__(fuse_scale=fuse_scale, fuse_add=fuse_add, **kwargs)
