import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_integer,
    layer_label,
    tracing_for_integer_converter,
)
from keras_attention.layers.batch_normalization import (
    block_norm,
    check_batchnorm,
    conv_then_norm,
    conv_then_norm_by_part,
)
from keras_attention.layers.context import ContextInput
from keras_attention.layers.pooling import check_pooling_mode
from keras_attention.layers.squeeze_excitation import SqueezeExcitation


@keras.saving.register_keras_serializable(package="keras_attention")
class CBAM(ContextInput, AttentionBlock):
    """Convolutional Block Attention Module (Woo et al., 2018).

    Channel attention, then spatial attention on its result:

    - channel: `Mc = sigmoid(MLP(avg_pool(x)) + MLP(max_pool(x)))` with one shared MLP
      `C -> C / r -> C` (ReLU, biases), `x' = Mc * x`. This is `SqueezeExcitation` with
      `pooling=("avg", "max")`.
    - spatial: `Ms = sigmoid(BN(conv7x7([mean_c(x'); max_c(x')])))`, a 2 -> 1 convolution
      without bias followed by BatchNormalization, and `y = Ms * x'`.

    Args:
        reduction: reduction ratio of the channel MLP (16).
        hidden_units: the channel MLP's width; overrides `reduction` when given.
        use_bias: whether the channel MLP has biases (True, as CBAM; timm's has none).
        kernel_size: size of the spatial convolution (7).
        pooling: pooling modes of the channel attention (`("avg", "max")`).
        batchnorm: `"keras"` or `"torch"`: how its BatchNormalization updates the moving
            variance in training (`"torch"`: PyTorch's unbiased update, for PyTorch recipes).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        training: whether the BatchNormalization uses batch statistics.
        context: optional `(batch, n)` tensor fed to the channel branch (SE-R): concatenated
            to each pooled vector before the shared MLP.

    Example:

    >>> x = np.random.rand(2, 8, 8, 32).astype("float32")
    >>> CBAM()(x).shape
    (2, 8, 8, 32)
    """

    # The spatial gate's input: [mean_c; max_c] (CBAM) or their average (light CBAM).
    descriptor_channels = 2
    # PyTorch momentum of the spatial BatchNorm: CBAM's BasicConv uses 0.01.
    spatial_momentum = 0.01

    def __init__(
        self,
        reduction=16,
        kernel_size=7,
        pooling=("avg", "max"),
        hidden_units=None,
        use_bias=True,
        batchnorm="keras",
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        check_integer(layer_label(self), "reduction", reduction)
        check_integer(layer_label(self), "kernel_size", kernel_size)
        check_integer(layer_label(self), "hidden_units", hidden_units, allow_none=True)
        self.reduction = reduction
        self.kernel_size = kernel_size
        self.hidden_units = hidden_units
        self.use_bias = bool(use_bias)
        self.batchnorm = check_batchnorm(batchnorm, layer_label(self))
        self.pooling = tuple(pooling) if not isinstance(pooling, str) else pooling
        for mode in (pooling,) if isinstance(pooling, str) else pooling:
            check_pooling_mode(mode, layer_label(self))
        policy = self.statistics_policy()
        self.spatial_conv = keras.layers.Conv2D(
            1,
            kernel_size,
            padding="same",
            use_bias=False,
            data_format=self.data_format,
            dtype=policy,
            name="spatial_conv",
        )
        # BatchNorm2d(eps=1e-5, momentum=m) is Keras' momentum 1 - m.
        self.spatial_norm = block_norm(self, "spatial_norm", momentum=1.0 - self.spatial_momentum)

    def channel_hidden_units(self, channels):
        """The channel MLP's width (None: `C // reduction`)."""
        return self.hidden_units

    def build(self, inputs_shape, context_shape=None):
        channels = self.input_channels(inputs_shape)
        self.channel_attention = SqueezeExcitation(
            reduction=self.reduction,
            pooling=self.pooling,
            hidden_units=self.channel_hidden_units(channels),
            use_bias=self.use_bias,
            data_format=self.data_format,
            dtype=self.statistics_policy(),
            name="channel_attention",
        )
        self.channel_attention.build(inputs_shape, context_shape)
        self.spatial_conv.build(self.channel_shape(self.descriptor_channels, like=inputs_shape))
        self.spatial_norm.build(self.channel_shape(1, like=inputs_shape))

    def spatial_parts(self, refined):
        """The one-channel maps the spatial descriptor stacks: `mean_c(x')` and `max_c(x')`."""
        axis = self.channel_axis
        return [
            ops.mean(refined, axis=axis, keepdims=True),
            ops.max(refined, axis=axis, keepdims=True),
        ]

    def spatial_descriptor(self, refined):
        """CBAM's `[mean_c(x'); max_c(x')]`."""
        return ops.concatenate(self.spatial_parts(refined), axis=self.channel_axis)

    def refine(self, x, training=None, context=None):
        """`(refined, maps)`: `x' = Mc * x` in the statistics dtype, and both maps."""
        stats = self.statistics_input(x)
        channel_weights = self.channel_attention.channel_weights(stats, context)
        refined = stats * self.channel_map(channel_weights)
        if tracing_for_integer_converter() and not training:
            # Each map on its own int8 scale: concatenated onto one, `[mean_c; max_c]` would
            # give `x'` its range and clip its negative values (CBAM-ResNet-8 on the digits lost
            # 5 points in full int8).
            spatial = conv_then_norm_by_part(
                self.spatial_conv, self.spatial_norm, self.spatial_parts(refined), self.data_format
            )
        else:
            descriptor = self.spatial_descriptor(refined)
            spatial = conv_then_norm(self.spatial_conv, self.spatial_norm, descriptor, training)
        spatial = ops.sigmoid(spatial)
        return refined, {"channel": channel_weights, "spatial": spatial}

    def compute_attention(self, x, training=None, context=None):
        return self.refine(x, training=training, context=context)[1]

    def gate(self, maps):
        return self.channel_map(maps["channel"]) * maps["spatial"]

    def call(self, inputs, training=None, context=None):
        # y = Ms * x', reusing x' (needed for the spatial descriptor): one full-size product
        # fewer than x * (Mc * Ms). x' is never rounded to a 16-bit compute dtype.
        refined, maps = self.refine(inputs, training=training, context=context)
        return ops.cast(refined * maps["spatial"], inputs.dtype)

    def canonical_maps(self, maps):
        return {**maps, "spatial": self.squeeze_unit(maps["spatial"], self.channel_axis)}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "reduction": self.reduction,
                "kernel_size": self.kernel_size,
                "pooling": self.pooling,
                "hidden_units": self.hidden_units,
                "use_bias": self.use_bias,
                "batchnorm": self.batchnorm,
            }
        )
        return config
