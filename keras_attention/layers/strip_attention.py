import keras
from keras import ops

from keras_attention.layers.base import AttentionBlock, check_integer, layer_label
from keras_attention.layers.simple_coordinate_attention import directional_means


def strip_convolutions(layer, kernel_size, use_bias):
    """A depthwise `(k, 1)` convolution for the rows' strip and `(1, k)` for the columns'."""
    common = dict(
        padding="same",
        use_bias=use_bias,
        data_format=layer.data_format,
        dtype=layer.statistics_policy(),
    )
    return (
        keras.layers.DepthwiseConv2D((kernel_size, 1), name="conv_h", **common),
        keras.layers.DepthwiseConv2D((1, kernel_size), name="conv_w", **common),
    )


@keras.saving.register_keras_serializable(package="keras_attention")
class StripAttention(AttentionBlock):
    """timm's strip attention (`strip`, timm/layers/coord_attn.py StripAttn).

    `x_h = dwconv_(k,1)(mean_W x)`, `x_w = dwconv_(1,k)(mean_H x)` (depthwise, no bias, no
    norm), `y = x * sigmoid(x_h + x_w)`. `2 k C` parameters (k=3: 6C).

    Args:
        kernel_size: the strips' length (3).
        has_skip: add the input to the output.
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.

    Example:

    >>> x = np.random.rand(2, 8, 6, 16).astype("float32")
    >>> StripAttention()(x).shape
    (2, 8, 6, 16)
    """

    def __init__(self, kernel_size=3, has_skip=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.kernel_size = check_integer(layer_label(self), "kernel_size", kernel_size)
        self.has_skip = bool(has_skip)

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        self.conv_h, self.conv_w = strip_convolutions(self, self.kernel_size, False)
        self.conv_h.build(self.channel_shape(channels))
        self.conv_w.build(self.channel_shape(channels))

    def compute_attention(self, x, training=None):
        rows, columns = directional_means(self, self.statistics_input(x))
        return {"position": ops.sigmoid(self.conv_h(rows) + self.conv_w(columns))}

    def gate(self, maps):
        return maps["position"]

    def apply_maps(self, inputs, maps):
        y = super().apply_maps(inputs, maps)
        return y + inputs if self.has_skip else y

    def get_config(self):
        config = super().get_config()
        config.update({"kernel_size": self.kernel_size, "has_skip": self.has_skip})
        return config
