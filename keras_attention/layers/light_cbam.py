import keras
from keras import ops

from keras_attention.layers.base import check_integer, check_number, layer_label, make_divisible
from keras_attention.layers.cbam import CBAM


@keras.saving.register_keras_serializable(package="keras_attention")
class LightCBAM(CBAM):
    """timm's light CBAM (`lcbam`, timm/layers/cbam.py LightCbamModule).

    Channel: `x1 = x * sigmoid(W2 relu(W1 (0.5 avg_pool(x) + 0.5 max_pool(x))))`, 1x1 layers
    without bias, `rd = round(C / 16)`. Spatial: `m = 0.5 mean_c(x1) + 0.5 max_c(x1)`, a 7x7
    convolution 1 -> 1 without bias, BatchNorm (epsilon 1e-5, PyTorch's default momentum), and
    `y = x1 * sigmoid(.)`. `2 C rd + 51` parameters. CBAM with those choices.

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

    descriptor_channels = 1
    spatial_momentum = 0.1

    def __init__(
        self,
        rd_ratio=1.0 / 16,
        rd_divisor=1,
        kernel_size=7,
        batchnorm="keras",
        data_format=None,
        name=None,
        dtype=None,
        trainable=True,
    ):
        # No **kwargs: CBAM's other arguments are fixed here (timm's choices).
        super().__init__(
            kernel_size=kernel_size,
            pooling="avgmax",
            use_bias=False,
            batchnorm=batchnorm,
            data_format=data_format,
            name=name,
            dtype=dtype,
            trainable=trainable,
        )
        self.rd_ratio = check_number(layer_label(self), "rd_ratio", rd_ratio, low=1e-9)
        self.rd_divisor = check_integer(layer_label(self), "rd_divisor", rd_divisor)

    def channel_hidden_units(self, channels):
        return make_divisible(channels * self.rd_ratio, self.rd_divisor)

    def spatial_descriptor(self, refined):
        axis = self.channel_axis
        return 0.5 * ops.mean(refined, axis=axis, keepdims=True) + 0.5 * ops.max(
            refined, axis=axis, keepdims=True
        )

    def spatial_parts(self, refined):
        return [self.spatial_descriptor(refined)]

    def get_config(self):
        config = super(CBAM, self).get_config()  # not CBAM's own arguments
        config.update(
            {
                "rd_ratio": self.rd_ratio,
                "rd_divisor": self.rd_divisor,
                "kernel_size": self.kernel_size,
                "batchnorm": self.batchnorm,
            }
        )
        return config
