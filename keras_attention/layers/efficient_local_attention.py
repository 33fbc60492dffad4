import keras
from keras import ops

from keras_attention.layers.pooling import standardize
from keras_attention.layers.simple_coordinate_attention import AxisMaps, directional_means
from keras_attention.layers.strip_attention import StripAttention


@keras.saving.register_keras_serializable(package="keras_attention")
class EfficientLocalAttention(AxisMaps, StripAttention):
    """Efficient local attention (Xu and Wan, ELA, 2024; timm's `ela`,
    timm/layers/coord_attn.py EfficientLocalAttn).

    `a_h = sigmoid(silu(GN(dwconv_(k,1)(mean_W x))))`, `a_w` likewise with a `(1, k)`
    convolution on `mean_H x`; `y = x * a_h * a_w`. Depthwise convolutions without bias (strip
    attention's), GroupNorm with one group (epsilon 1e-5). `2 k C + 4 C` parameters (k=7:
    18C).

    Args:
        kernel_size: the strips' length (7).
        has_skip: add the input to the output.
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.

    Example:

    >>> x = np.random.rand(2, 8, 6, 16).astype("float32")
    >>> EfficientLocalAttention()(x).shape
    (2, 8, 6, 16)
    """

    def __init__(self, kernel_size=7, has_skip=False, data_format=None, **kwargs):
        super().__init__(
            kernel_size=kernel_size, has_skip=has_skip, data_format=data_format, **kwargs
        )

    def build(self, input_shape):
        super().build(input_shape)
        norm = dict(groups=1, axis=self.channel_axis, epsilon=1e-5, dtype=self.statistics_policy())
        self.norm_h = keras.layers.GroupNormalization(name="norm_h", **norm)
        self.norm_w = keras.layers.GroupNormalization(name="norm_w", **norm)
        self.norm_h.build(self.channel_shape(self.channels))
        self.norm_w.build(self.channel_shape(self.channels))

    def compute_attention(self, x, training=None):
        rows, columns = directional_means(self, self.statistics_input(x))
        a_h = ops.sigmoid(ops.silu(self.group_norm(self.conv_h(rows), self.norm_h)))
        a_w = ops.sigmoid(ops.silu(self.group_norm(self.conv_w(columns), self.norm_w)))
        return {"height": a_h, "width": a_w}

    def group_norm(self, v, norm):
        """GroupNorm with one group, with `norm`'s weights: over everything but the batch."""
        gamma, beta = norm.gamma, norm.beta
        if self.data_format == "channels_first":  # channels_last: the weights broadcast as such
            gamma, beta = (ops.reshape(w, (1, -1, 1, 1)) for w in (gamma, beta))
        return standardize(v, (1, 2, 3), norm.epsilon, gamma, beta)

    def apply_maps(self, inputs, maps):
        y = self.axis_product(inputs, maps)
        return y + inputs if self.has_skip else y
