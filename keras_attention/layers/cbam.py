import keras
from keras import ops

from keras_attention.layers.base import AttentionBlock, check_integer, layer_label
from keras_attention.layers.batch_normalization import batch_normalization, check_batchnorm
from keras_attention.layers.context import ContextInput
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

    def __init__(
        self,
        reduction=16,
        kernel_size=7,
        pooling=("avg", "max"),
        batchnorm="keras",
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        check_integer(layer_label(self), "reduction", reduction)
        check_integer(layer_label(self), "kernel_size", kernel_size)
        self.reduction = reduction
        self.kernel_size = kernel_size
        self.batchnorm = check_batchnorm(batchnorm, layer_label(self))
        self.pooling = tuple(pooling) if not isinstance(pooling, str) else pooling
        policy = self.statistics_policy()
        self.channel_attention = SqueezeExcitation(
            reduction=reduction,
            pooling=pooling,
            data_format=self.data_format,
            dtype=policy,
            name="channel_attention",
        )
        self.spatial_conv = keras.layers.Conv2D(
            1,
            kernel_size,
            padding="same",
            use_bias=False,
            data_format=self.data_format,
            dtype=policy,
            name="spatial_conv",
        )
        # CBAM's BasicConv uses BatchNorm2d(eps=1e-5, momentum=0.01): Keras momentum 0.99.
        self.spatial_norm = batch_normalization(
            batchnorm,
            axis=self.channel_axis,
            epsilon=1e-5,
            momentum=0.99,
            dtype=policy,
            name="spatial_norm",
        )

    def build(self, inputs_shape, context_shape=None):
        self.input_channels(inputs_shape)
        self.channel_attention.build(inputs_shape, context_shape)
        map_shape = list(inputs_shape)
        map_shape[self.channel_axis] = 2
        self.spatial_conv.build(tuple(map_shape))
        map_shape[self.channel_axis] = 1
        self.spatial_norm.build(tuple(map_shape))

    def refine(self, x, training=None, context=None):
        """`(refined, maps)`: `x' = Mc * x` in the statistics dtype, and both maps."""
        stats = self.statistics_input(x)
        channel_weights = self.channel_attention.channel_weights(stats, context)
        refined = stats * self.channel_map(channel_weights)
        descriptor = ops.concatenate(
            [
                ops.mean(refined, axis=self.channel_axis, keepdims=True),
                ops.max(refined, axis=self.channel_axis, keepdims=True),
            ],
            axis=self.channel_axis,
        )
        spatial = ops.sigmoid(self.spatial_norm(self.spatial_conv(descriptor), training=training))
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
                "batchnorm": self.batchnorm,
            }
        )
        return config
