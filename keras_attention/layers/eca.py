import math

import keras
from keras import ops

from keras_attention.layers.base import AttentionBlock, check_integer, check_number, layer_label
from keras_attention.layers.pooling import GlobalPooling


def eca_kernel_size(channels, gamma=2, b=1, minimum=1):
    """ECA's adaptive kernel size: the odd number nearest above `|log2(C) / gamma + b / gamma|`,
    at least `minimum` (timm's EcaModule uses 3)."""
    t = int(abs((math.log2(channels) + b) / gamma))
    return max(t if t % 2 else t + 1, minimum)


class ChannelConvolution(keras.layers.Conv1D):
    """ECA's 1-D convolution over a `(batch, channels)` vector: one filter of `kernel_size`,
    no bias, "same" padding; its weights are those of the `Conv1D` it extends.

    It runs as a 2-D convolution on a `(batch, 1, channels, 1)` view: TensorFlow's Conv1D
    becomes EXPAND_DIMS + CONV_2D in TFLite, and XNNPACK does not take EXPAND_DIMS, so a model
    with ECA would run in several partitions.
    """

    def __init__(self, kernel_size, **kwargs):
        super().__init__(1, kernel_size, padding="same", use_bias=False, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)  # as Conv1D on (batch, channels, 1): kernel (k, 1, 1)
        self.input_spec = None  # it is called on (batch, channels)

    def call(self, inputs):
        channels = inputs.shape[-1]
        kernel = ops.reshape(self.kernel, (1, self.kernel_size[0], 1, 1))
        view = ops.reshape(inputs, (-1, 1, channels, 1))
        logits = ops.conv(view, kernel, padding="same", data_format="channels_last")
        return ops.reshape(logits, (-1, channels))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@keras.saving.register_keras_serializable(package="keras_attention")
class ECA(AttentionBlock):
    """Efficient Channel Attention (Wang et al., 2020).

    `y = sigmoid(conv1d_k(pool(x))) * x`: a 1-D convolution without bias slides over the pooled
    channel vector, so each channel's gate depends on its k neighbours. k is chosen from the
    channel count, `k = odd(|log2(C) / gamma + b / gamma|)`, unless given.

    Args:
        kernel_size: size k of the 1-D convolution; `None` derives it from the channels.
        gamma, b: constants of the adaptive kernel size (2 and 1).
        min_kernel_size: the smallest adaptive kernel size: 1 in the paper's code, 3 in
            timm's EcaModule (with gamma 2 and b 1 they differ below 8 channels).
        pooling: pooling mode (`"avg"` as in the paper; `"max"`, `"min"`, `"mix"`).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.

    Example:

    >>> x = np.random.rand(2, 8, 8, 64).astype("float32")
    >>> layer = ECA()
    >>> layer(x).shape
    (2, 8, 8, 64)
    >>> layer.conv.kernel.shape  # k = 3 for 64 channels
    (3, 1, 1)
    """

    def __init__(
        self,
        kernel_size=None,
        gamma=2,
        b=1,
        min_kernel_size=1,
        pooling="avg",
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        check_integer(layer_label(self), "kernel_size", kernel_size, allow_none=True)
        if kernel_size is not None and kernel_size % 2 == 0:
            raise ValueError(
                f"{layer_label(self)}: kernel_size must be odd (the convolution is centred on "
                f"each channel), got {kernel_size}."
            )
        check_number(layer_label(self), "gamma", gamma, low=1e-12)
        check_number(layer_label(self), "b", b)
        check_integer(layer_label(self), "min_kernel_size", min_kernel_size)
        self.min_kernel_size = min_kernel_size
        self.kernel_size = kernel_size
        self.gamma = gamma
        self.b = b
        self.pooling = pooling
        self.pool = GlobalPooling(
            pooling, data_format=self.data_format, dtype=self.statistics_policy(), name="pool"
        )

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        size = self.kernel_size or eca_kernel_size(
            channels, self.gamma, self.b, self.min_kernel_size
        )
        self.pool.build(input_shape)
        self.conv = ChannelConvolution(size, dtype=self.statistics_policy(), name="conv")
        self.conv.build((None, channels, 1))

    def compute_attention(self, x, training=None):
        pooled = self.pool(self.statistics_input(x))
        return {"channel": ops.sigmoid(self.conv(pooled))}

    def gate(self, maps):
        return self.channel_map(maps["channel"])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_size": self.kernel_size,
                "gamma": self.gamma,
                "b": self.b,
                "min_kernel_size": self.min_kernel_size,
                "pooling": self.pooling,
            }
        )
        return config
