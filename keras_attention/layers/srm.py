import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_number,
    layer_label,
    tracing_for_integer_converter,
)
from keras_attention.layers.batch_normalization import (
    block_norm,
    check_batchnorm,
    inference_affine,
)
from keras_attention.layers.context import ContextInput, context_width, with_context
from keras_attention.layers.pooling import spatial_moments


@keras.saving.register_keras_serializable(package="keras_attention")
class SRM(ContextInput, AttentionBlock):
    """Style-based Recalibration Module (Lee et al., 2019).

    Style pooling gives each channel's mean `mu` and standard deviation
    `sigma = sqrt(unbiased variance + epsilon)` (as the authors' code); a channel-wise
    fully connected layer combines them, `z_c = cfc[c, 0] * mu_c + cfc[c, 1] * sigma_c`
    (`cfc` starts at 0), then BatchNormalization over the channels and a sigmoid give the gate:
    `y = sigmoid(BN(z)) * x`. A block has `4C` parameters (2C in `cfc`, 2C in the BN).

    Args:
        epsilon: added to the variance before the square root (1e-5).
        batchnorm: `"keras"` or `"torch"`: how its BatchNormalization updates the moving
            variance in training (`"torch"`: PyTorch's unbiased update, for PyTorch recipes).
        data_format: `"channels_last"` or `"channels_first"`.

    With a context `t` (SE-R), `z` gains a linear map of it, `z + W t` (a Dense layer without
    bias, `n x C`), before the BatchNorm: SRM has no layer across channels to concatenate
    it to.

    Call arguments:
        inputs: a 4-D feature map.
        training: whether the BatchNormalization uses batch statistics.
        context: optional `(batch, n)` tensor.

    Example:

    >>> x = np.random.rand(2, 8, 8, 16).astype("float32")
    >>> SRM()(x).shape
    (2, 8, 8, 16)
    """

    def __init__(self, epsilon=1e-5, batchnorm="keras", data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.epsilon = check_number(layer_label(self), "epsilon", epsilon, low=0.0)
        self.batchnorm = check_batchnorm(batchnorm, layer_label(self))
        self.context_units = 0
        # BatchNorm2d on (N, C, 1, 1) is a BatchNorm over the channels of (N, C).
        self.norm = block_norm(self, "norm", axis=-1)

    def build(self, inputs_shape, context_shape=None):
        channels = self.input_channels(inputs_shape)
        self.cfc = self.add_weight(name="cfc", shape=(channels, 2), initializer="zeros")
        self.norm.build((None, channels))
        self.context_units = context_width(self, inputs_shape, context_shape)
        if self.context_units:
            self.context_projection = keras.layers.Dense(
                channels, use_bias=False, dtype=self.statistics_policy(), name="context_projection"
            )
            self.context_projection.build((None, self.context_units))

    def compute_attention(self, x, training=None, context=None):
        stats = self.statistics_input(x)
        if tracing_for_integer_converter() and not training:
            return {"channel": ops.sigmoid(self.converter_logits(stats, context))}
        mean, std = spatial_moments(stats, self.data_format, then=self.style)
        z = self.cfc[:, 0] * mean + self.cfc[:, 1] * std
        with_context(self, x, z, context)  # checks the context
        if context is not None:
            z = z + self.context_projection(ops.cast(context, z.dtype))
        return {"channel": ops.sigmoid(self.norm(z, training=training))}

    def converter_logits(self, x, context=None):
        """`BN(z)` for a full-integer converter's trace (inference), the
        same values in ops that full-integer TFLite computes well:

        - the variance's sum of squares as a dot product of the centred map with itself per
          channel (BATCH_MATMUL: int8 products summed in int32), not a square per position
          rounded to int8 (whose range is the square of the map's) and summed; no division
          by a largest magnitude (int8 DIV) and no SQUARE (float only in TFLite);
        - `cfc` and the BatchNorm folded into one depthwise convolution over `[mean; std]`
          (per-channel int8 weights), so that no product of a pooled vector by a per-tensor
          int8 constant and no narrow `z` is rounded on its way to the gate's logits.

        (The safe rescaling of `spatial_moments` against float32 overflow is left out here.)"""
        # `spatial_moments` takes the variance's sum of squares as a dot product in this trace
        # (where the spatial size is static: `pooling.integer_moments`).
        mean, std = spatial_moments(x, self.data_format, then=self.style)
        factor, shift = inference_affine(self.norm, x.dtype)
        cfc = ops.cast(self.cfc, x.dtype)
        kernel = ops.stack([cfc[:, 0] * factor, cfc[:, 1] * factor])[:, None, :, None]
        moments = ops.stack([mean, std], axis=1)[:, :, None, :]  # (batch, 2, 1, C)
        logits = ops.depthwise_conv(moments, kernel, padding="valid", data_format="channels_last")
        logits = ops.reshape(logits, (-1, self.channels)) + shift
        with_context(self, x, logits, context)  # checks the context
        if context is not None:
            projection = ops.cast(self.context_projection.kernel, x.dtype) * factor
            logits = logits + ops.matmul(ops.cast(context, x.dtype), projection)
        return logits

    def style(self, mean, scale, variance):
        """`(mean, std)`, `std = sqrt(variance + epsilon)`, from `spatial_moments` on the side
        that ran: on the safe one without forming the variance (it overflows for huge
        inputs); on the plain one (`scale` None) no product by a scale of 1."""
        if scale is None:
            return mean, ops.sqrt(variance + self.epsilon)
        return mean, scale * ops.sqrt(variance + self.epsilon / ops.square(scale))

    def gate(self, maps):
        return self.channel_map(maps["channel"])

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon, "batchnorm": self.batchnorm})
        return config
