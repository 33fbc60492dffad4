import math

import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_integer,
    check_number,
    layer_label,
    make_divisible,
    runs_as_itself,
)
from keras_attention.layers.context import ContextInput, context_width, with_context
from keras_attention.layers.pooling import GlobalPooling


def eca_kernel_size(channels, gamma=2, b=1, minimum=1):
    """ECA's adaptive kernel size: the odd number nearest above `|log2(C) / gamma + b / gamma|`,
    at least `minimum` (timm's EcaModule uses 3)."""
    t = int(abs((math.log2(channels) + b) / gamma))
    return max(t if t % 2 else t + 1, minimum)


PADDINGS = ("zeros", "circular")


class ChannelConvolution(keras.layers.Conv1D):
    """ECA's 1-D convolution along a sequence of channels: `(batch, channels, features)` ->
    `(batch, channels, filters)` (ECA: one feature and one filter, no bias), zero ("same") or
    circular padding; its weights are those of the `Conv1D` it extends.

    It runs as a 2-D convolution on a `(batch, 1, channels, features)` view: TensorFlow's
    Conv1D becomes EXPAND_DIMS + CONV_2D in TFLite, and XNNPACK does not take EXPAND_DIMS, so
    a model with ECA would run in several partitions. A `(batch, channels)` input is taken as
    one feature and gives `(batch, channels)`.

    On such a vector, outside a converter's trace, the convolution is written as the sum of
    `k` shifted copies of the padded vector, each times its tap: TensorFlow's convolution
    with one channel in and out costs about 0.15 ms a call more on this short a sequence.
    """

    def __init__(self, kernel_size, filters=1, use_bias=False, circular=False, **kwargs):
        super().__init__(filters, kernel_size, padding="same", use_bias=use_bias, **kwargs)
        self.circular = circular

    def build(self, input_shape):
        super().build(input_shape)  # as Conv1D on (batch, channels, features)
        self.input_spec = None  # it is also called on (batch, channels)

    def call(self, inputs):
        vector = len(inputs.shape) == 2
        channels = inputs.shape[1]
        features = 1 if vector else inputs.shape[-1]
        k = self.kernel_size[0]
        if vector and self.filters == 1 and not runs_as_itself(self, inputs):
            return self.shifted_sum(inputs)
        kernel = ops.reshape(self.kernel, (1, k, features, self.filters))
        sequence = ops.reshape(inputs, (-1, channels, features))
        padding = "same"
        if self.circular and k > 1:
            sequence = self.wrap(sequence)
            padding = "valid"
        view = ops.reshape(sequence, (-1, 1, sequence.shape[1], features))
        logits = ops.conv(view, kernel, padding=padding, data_format="channels_last")
        if self.use_bias:
            logits = logits + self.bias
        if self.filters == 1:  # one gate logit per channel
            return ops.reshape(logits, (-1, channels))
        return ops.reshape(logits, (-1, channels, self.filters))

    def wrap(self, sequence):
        """The sequence (channels on axis 1) with its last k // 2 channels before the first
        and its first k // 2 after the last (circular padding)."""
        channels, half = sequence.shape[1], self.kernel_size[0] // 2
        return ops.concatenate(
            [sequence[:, channels - half :], sequence, sequence[:, :half]], axis=1
        )

    def shifted_sum(self, vector):
        """The convolution of a `(batch, channels)` vector, one tap at a time."""
        k, channels = self.kernel_size[0], vector.shape[1]
        # The taps by one unstack, not k slices: on a vector this short TensorFlow's time is
        # mostly a fixed cost per op.
        taps = ops.unstack(ops.cast(ops.reshape(self.kernel, (k,)), vector.dtype))
        if self.circular and k > 1:
            padded = self.wrap(vector)
        else:  # "same": k // 2 zeros before, the rest after (k - 1 in all)
            padded = ops.pad(vector, ((0, 0), ((k - 1) // 2, k // 2)))
        logits = padded[:, :channels] * taps[0]
        for j in range(1, k):
            logits = logits + padded[:, j : j + channels] * taps[j]
        if self.use_bias:
            logits = logits + ops.cast(self.bias, vector.dtype)
        return logits

    def compute_output_shape(self, input_shape):
        if self.filters == 1:
            return (input_shape[0], input_shape[1])
        return (input_shape[0], input_shape[1], self.filters)


@keras.saving.register_keras_serializable(package="keras_attention")
class ECA(ContextInput, AttentionBlock):
    """Efficient Channel Attention (Wang et al., 2020).

    `y = sigmoid(conv1d_k(pool(x))) * x`: a 1-D convolution without bias slides over the pooled
    channel vector, so each channel's gate depends on its k neighbours. k is chosen from the
    channel count, `k = odd(|log2(C) / gamma + b / gamma|)`, unless given.

    With `use_mlp` (timm's `ecam`), the pooled vector goes through a 1 -> rd -> 1 channel
    MLP along the sequence: a 1x1 convolution to `rd = make_divisible(C / 8, 8)` features with
    bias, ReLU, then the k-convolution back to one feature with bias (timm/layers/eca.py).
    `padding="circular"` wraps the channel sequence instead of padding it with zeros (timm's
    `ceca`). With `use_mlp`, a context (SE-R) is mapped onto the rd features by a Dense layer
    and added before the ReLU.

    Args:
        kernel_size: size k of the 1-D convolution; `None` derives it from the channels.
        gamma, b: constants of the adaptive kernel size (2 and 1).
        min_kernel_size: the smallest adaptive kernel size: 1 in the paper's code, 3 in
            timm's EcaModule (with gamma 2 and b 1 they differ below 8 channels).
        use_mlp: the 1 -> rd -> 1 channel MLP of timm's `ecam`.
        padding: `"zeros"` or `"circular"` (timm's `ceca`).
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

    accepts_context = False  # only with use_mlp (ECAMLP)

    def __init__(
        self,
        kernel_size=None,
        gamma=2,
        b=1,
        min_kernel_size=1,
        use_mlp=False,
        padding="zeros",
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
        if padding not in PADDINGS:
            raise ValueError(
                f"{layer_label(self)}: padding must be one of {PADDINGS}, got {padding!r}."
            )
        self.min_kernel_size = min_kernel_size
        self.use_mlp = bool(use_mlp)
        self.padding = padding
        self.context_units = 0
        self.kernel_size = kernel_size
        self.gamma = gamma
        self.b = b
        self.pooling = pooling
        self.pool = GlobalPooling(
            pooling, data_format=self.data_format, dtype=self.statistics_policy(), name="pool"
        )

    def build(self, inputs_shape, context_shape=None):
        channels = self.input_channels(inputs_shape)
        size = self.kernel_size or eca_kernel_size(
            channels, self.gamma, self.b, self.min_kernel_size
        )
        self.pool.build(inputs_shape)
        policy = self.statistics_policy()
        circular = self.padding == "circular"
        if self.use_mlp:
            hidden = make_divisible(channels / 8, 8, 0.9)
            self.expand = ChannelConvolution(1, hidden, True, dtype=policy, name="expand")
            self.expand.build((None, channels, 1))
            self.conv = ChannelConvolution(size, 1, True, circular, dtype=policy, name="conv")
            self.conv.build((None, channels, hidden))
            self.context_units = context_width(self, inputs_shape, context_shape)
            if self.context_units:
                self.context_projection = keras.layers.Dense(
                    hidden, use_bias=False, dtype=policy, name="context_projection"
                )
                self.context_projection.build((None, self.context_units))
        else:
            if context_shape is not None:
                raise ValueError(
                    f"{layer_label(self)}: a context (SE-R) needs use_mlp=True (a layer to "
                    "take it); plain ECA has only its channel convolution"
                )
            self.conv = ChannelConvolution(size, circular=circular, dtype=policy, name="conv")
            self.conv.build((None, channels, 1))

    def compute_attention(self, x, training=None, context=None):
        pooled = self.pool(self.statistics_input(x))
        if not self.use_mlp:
            return {"channel": ops.sigmoid(self.conv(pooled))}
        hidden = self.expand(pooled[:, :, None])
        with_context(self, x, pooled, context)  # checks the context
        if context is not None:
            hidden = hidden + self.context_projection(ops.cast(context, hidden.dtype))[:, None]
        return {"channel": ops.sigmoid(self.conv(ops.relu(hidden)))}

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
                "use_mlp": self.use_mlp,
                "padding": self.padding,
                "pooling": self.pooling,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_attention")
class ECAMLP(ECA):
    """timm's `ecam`: `ECA(use_mlp=True)`, a 1 -> rd -> 1 channel MLP along the pooled
    channels (see `ECA`). `2 rd + k rd + 1` parameters (C=256: rd 32, k 5, 225)."""

    accepts_context = True

    def __init__(self, use_mlp=True, **kwargs):
        super().__init__(use_mlp=use_mlp, **kwargs)


@keras.saving.register_keras_serializable(package="keras_attention")
class CircularECA(ECA):
    """timm's `ceca`: `ECA(padding="circular")`, the channel sequence wrapped around instead
    of zero-padded (timm/layers/eca.py CecaModule; see `ECA`). k parameters."""

    def __init__(self, padding="circular", **kwargs):
        super().__init__(padding=padding, **kwargs)
