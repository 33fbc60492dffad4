import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_integer,
    check_number,
    layer_label,
    make_divisible,
)
from keras_attention.layers.batch_normalization import batch_normalization, check_batchnorm
from keras_attention.layers.context import ContextInput
from keras_attention.layers.squeeze_excitation import SqueezeExcitation


@keras.saving.register_keras_serializable(package="keras_attention")
class LightCBAM(ContextInput, AttentionBlock):
    """timm's light CBAM (`lcbam`, timm/layers/cbam.py LightCbamModule).

    Channel: `x1 = x * sigmoid(W2 relu(W1 (0.5 avg_pool(x) + 0.5 max_pool(x))))`, 1x1 layers
    without bias, `rd = round(C / 16)` (`SqueezeExcitation(pooling="avgmax")`). Spatial:
    `m = 0.5 mean_c(x1) + 0.5 max_c(x1)`, a 7x7 convolution 1 -> 1 without bias, BatchNorm
    (epsilon 1e-5), and `y = x1 * sigmoid(.)`. `2 C rd + 51` parameters.

    Args:
        rd_ratio: 1/16.
        rd_divisor: 1.
        kernel_size: the spatial convolution's size (7).
        batchnorm: `"keras"` or `"torch"`.
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        training: whether the BatchNormalization uses batch statistics.
        context: optional `(batch, n)` tensor for the channel branch (SE-R).

    Example:

    >>> x = np.random.rand(2, 8, 8, 32).astype("float32")
    >>> LightCBAM()(x).shape
    (2, 8, 8, 32)
    """

    def __init__(
        self,
        rd_ratio=1.0 / 16,
        rd_divisor=1,
        kernel_size=7,
        batchnorm="keras",
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        owner = layer_label(self)
        self.rd_ratio = check_number(owner, "rd_ratio", rd_ratio, low=1e-9)
        self.rd_divisor = check_integer(owner, "rd_divisor", rd_divisor)
        self.kernel_size = check_integer(owner, "kernel_size", kernel_size)
        self.batchnorm = check_batchnorm(batchnorm, owner)
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
        self.spatial_norm = batch_normalization(
            batchnorm,
            axis=self.channel_axis,
            epsilon=1e-5,
            momentum=0.9,
            dtype=policy,
            name="spatial_norm",
        )

    def build(self, inputs_shape, context_shape=None):
        channels = self.input_channels(inputs_shape)
        self.channel_attention = SqueezeExcitation(
            hidden_units=make_divisible(channels * self.rd_ratio, self.rd_divisor),
            use_bias=False,
            pooling="avgmax",
            data_format=self.data_format,
            dtype=self.statistics_policy(),
            name="channel_attention",
        )
        self.channel_attention.build(inputs_shape, context_shape)
        shape = list(inputs_shape)
        shape[self.channel_axis] = 1
        self.spatial_conv.build(tuple(shape))
        self.spatial_norm.build(tuple(shape))

    def refine(self, x, training=None, context=None):
        stats = self.statistics_input(x)
        channel = self.channel_attention.channel_weights(stats, context)
        refined = stats * self.channel_map(channel)
        axis = self.channel_axis
        m = 0.5 * ops.mean(refined, axis=axis, keepdims=True) + 0.5 * ops.max(
            refined, axis=axis, keepdims=True
        )
        spatial = ops.sigmoid(self.spatial_norm(self.spatial_conv(m), training=training))
        return refined, {"channel": channel, "spatial": spatial}

    def compute_attention(self, x, training=None, context=None):
        return self.refine(x, training=training, context=context)[1]

    def gate(self, maps):
        return self.channel_map(maps["channel"]) * maps["spatial"]

    def call(self, inputs, training=None, context=None):
        refined, maps = self.refine(inputs, training=training, context=context)
        return ops.cast(refined * maps["spatial"], inputs.dtype)

    def canonical_maps(self, maps):
        return {**maps, "spatial": self.squeeze_unit(maps["spatial"], self.channel_axis)}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "rd_ratio": self.rd_ratio,
                "rd_divisor": self.rd_divisor,
                "kernel_size": self.kernel_size,
                "batchnorm": self.batchnorm,
            }
        )
        return config
