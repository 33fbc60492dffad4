import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    add_channel_bias,
    check_integer,
    layer_label,
    pointwise,
    tracing_for_converter,
)
from keras_attention.layers.batch_normalization import (
    block_norm,
    check_batchnorm,
    conv_then_norm,
)
from keras_attention.layers.pooling import global_pool


class DilatedConv2D(keras.layers.Conv2D):
    """A dilated convolution; in a converter's trace (`base.converter_form`) an ordinary one
    with its kernel spread out (zeros between the taps): TensorFlow lowers `dilation_rate` to
    SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND, which TFLite's XNNPACK delegate does not take,
    so a model with BAM would run in several partitions. The weights are the dilated layer's
    `(k, k, in, out)` kernel; the spread kernel is a constant of them that the converter
    folds. Elsewhere the dilated convolution runs as such, with a ninth of the taps."""

    def __init__(self, filters, kernel_size, dilation, **kwargs):
        super().__init__(filters, kernel_size, padding="same", **kwargs)
        self.dilation = dilation

    def call(self, inputs):
        if not tracing_for_converter():
            # Elsewhere the dilated convolution itself: a ninth of the spread kernel's taps.
            outputs = ops.conv(
                inputs,
                self.kernel,
                padding="same",
                dilation_rate=self.dilation,
                data_format=self.data_format,
            )
            return self._add_bias(outputs)
        k = self.kernel_size[0]
        spread = (k - 1) * self.dilation + 1
        taps = ops.cast(
            ops.arange(spread)[:, None] == ops.arange(k)[None, :] * self.dilation,
            self.kernel.dtype,
        )
        kernel = ops.einsum("ia,jb,abco->ijco", taps, taps, self.kernel)
        outputs = ops.conv(inputs, kernel, padding="same", data_format=self.data_format)
        return self._add_bias(outputs)

    def _add_bias(self, outputs):
        if self.use_bias:
            outputs = add_channel_bias(outputs, self.bias, self.data_format)
        return outputs


@keras.saving.register_keras_serializable(package="keras_attention")
class BAM(AttentionBlock):
    """Bottleneck Attention Module (Park et al., BMVC 2018; Jongchan/attention-module
    MODELS/bam.py).

    Channel branch `Mc`: global average pool, Linear `C -> C / r`, BatchNorm, ReLU, Linear
    `C / r -> C`. Spatial branch `Ms`: 1x1 `C -> C / r`, BN, ReLU, twice a 3x3 convolution of
    dilation 4 with BN and ReLU, and 1x1 `C / r -> 1`; all layers biased. As the authors' code
    (its line 48), `y = x * (1 + sigmoid(Mc * Ms))`, the product of the broadcast branches (the
    paper writes their sum: `x + x * sigmoid(Mc + Ms)`); the code's numbers are the reported
    ones. `3 C Cr + 18 Cr^2 + 13 Cr + C + 1` parameters (C=256: 17,361).

    Args:
        reduction: r (16).
        dilation: of the spatial 3x3 convolutions (4).
        batchnorm: `"keras"` or `"torch"`.
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        training: whether the BatchNormalizations use batch statistics.

    Example:

    >>> x = np.random.rand(2, 8, 8, 32).astype("float32")
    >>> BAM()(x).shape
    (2, 8, 8, 32)
    """

    def __init__(self, reduction=16, dilation=4, batchnorm="keras", data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.reduction = check_integer(layer_label(self), "reduction", reduction)
        self.dilation = check_integer(layer_label(self), "dilation", dilation)
        self.batchnorm = check_batchnorm(batchnorm, layer_label(self))

    def _norm(self, axis, name):
        return block_norm(self, name, axis=axis)

    def _conv(self, filters, size, name, dilation=1):
        common = dict(data_format=self.data_format, dtype=self.statistics_policy(), name=name)
        if dilation > 1:
            return DilatedConv2D(filters, size, dilation, **common)
        return keras.layers.Conv2D(filters, size, padding="same", **common)

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        hidden = max(1, channels // self.reduction)
        policy = self.statistics_policy()
        self.channel_fc = keras.layers.Dense(hidden, dtype=policy, name="channel_fc")
        self.channel_norm = self._norm(-1, "channel_norm")
        self.channel_out = keras.layers.Dense(channels, dtype=policy, name="channel_out")
        self.channel_fc.build((None, channels))
        self.channel_norm.build((None, hidden))
        self.channel_out.build((None, hidden))
        self.spatial_layers = [
            (
                self._conv(hidden, 1, "spatial_reduce"),
                self._norm(self.channel_axis, "spatial_norm0"),
            )
        ]
        for i in (1, 2):
            self.spatial_layers.append(
                (
                    self._conv(hidden, 3, f"spatial_dilated{i}", self.dilation),
                    self._norm(self.channel_axis, f"spatial_norm{i}"),
                )
            )
        self.spatial_out = self._conv(1, 1, "spatial_out")
        shape = tuple(input_shape)
        for conv, norm in self.spatial_layers:
            conv.build(shape)
            shape = self.channel_shape(hidden, like=input_shape)
            norm.build(shape)
        self.spatial_out.build(shape)

    def compute_attention(self, x, training=None):
        stats = self.statistics_input(x)
        mc = global_pool(stats, "avg", self.data_format)
        mc = ops.relu(self.channel_norm(self.channel_fc(mc), training=training))
        mc = self.channel_out(mc)
        ms = stats
        for conv, norm in self.spatial_layers:
            dilation = getattr(conv, "dilation", 1)
            ms = ops.relu(conv_then_norm(conv, norm, ms, training, dilation))
        ms = pointwise(self.spatial_out, ms)
        return {"gate": 1.0 + ops.sigmoid(self.channel_map(mc) * ms)}

    def gate(self, maps):
        return maps["gate"]

    def get_config(self):
        config = super().get_config()
        config.update(
            {"reduction": self.reduction, "dilation": self.dilation, "batchnorm": self.batchnorm}
        )
        return config
