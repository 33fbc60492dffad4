import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_number,
    layer_label,
    tracing_for_converter,
)
from keras_attention.layers.pooling import integer_moments, spatial_moments


@keras.saving.register_keras_serializable(package="keras_attention")
class SimAM(AttentionBlock):
    """SimAM, a parameter-free attention module (Yang et al., ICML 2021).

    Per channel, with `n = HW - 1`, `d = (x - mean)^2` and `v = sum(d) / n`:
    `y = x * sigmoid(d / (4 (v + lambda)) + 0.5)`, the inverse of the paper's minimal energy
    `e* = 4 (var + lambda) / ((t - mu)^2 + 2 var + 2 lambda)` through a sigmoid
    (ZjjConan/SimAM networks/attentions/simam_module.py). No parameters.

    Args:
        e_lambda: the regulariser lambda (1e-4 as the code's default; its ImageNet commands
            pass 0.1).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.

    Example:

    >>> x = np.random.rand(2, 8, 8, 16).astype("float32")
    >>> SimAM()(x).shape
    (2, 8, 8, 16)
    """

    def __init__(self, e_lambda=1e-4, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.e_lambda = check_number(layer_label(self), "e_lambda", e_lambda, low=0.0)

    def build(self, input_shape):
        self.input_channels(input_shape)

    def compute_attention(self, x, training=None):
        stats = self.statistics_input(x)
        moments = integer_moments(stats, self.data_format)
        if moments is not None:
            return {"energy": ops.sigmoid(self.converter_energy(stats, *moments))}
        # v = sum(d) / (HW - 1) is the unbiased variance: `spatial_moments` gives it (on
        # x / s on its safe side, s the channel's largest magnitude, with lambda / s^2: the
        # same ratio), and floors HW - 1 at 1 (a 1x1 map gives d = 0, where the code divides
        # 0 by 0). The energy is computed on the side that ran.
        # Kept dimensions broadcast back fastest in TensorFlow; for the converters the moments
        # are (batch, channels) vectors (`base.converter_form`).
        keepdims = not tracing_for_converter()
        expand = (lambda v: v) if keepdims else self.channel_map

        def energy(mean, scale, variance):
            centred = stats - expand(mean)
            e_lambda = self.e_lambda
            if scale is not None:  # safe side: rescaled first, so that the square is finite
                centred = centred / expand(scale)
                e_lambda = e_lambda / ops.square(scale)
            return ops.square(centred) * expand(0.25 / (variance + e_lambda)) + 0.5

        energy = spatial_moments(stats, self.data_format, keepdims=keepdims, then=energy)
        return {"energy": ops.sigmoid(energy)}

    def converter_energy(self, x, mean, variance):
        """The energy for a full-integer converter's trace, from `pooling.integer_moments`
        (whose sum of squares is a dot product), the same values in ops that full-integer
        TFLite computes well: `d / (4 (v + lambda))` as the square of
        `(x - mean) * 0.5 / sqrt(v + lambda)` (RSQRT and MUL). The plain form's
        `0.25 / (v + lambda)` is an int8 DIV, which fails at run time where the divisor rounds
        to its zero point, and its squares are SQUARE, float only in TFLite."""
        standardized = (x - mean) * (0.5 * ops.rsqrt(variance + self.e_lambda))
        return standardized * standardized + 0.5

    def gate(self, maps):
        return maps["energy"]

    def get_config(self):
        config = super().get_config()
        config.update({"e_lambda": self.e_lambda})
        return config
