import keras
from keras import ops

from keras_attention.layers.base import AttentionBlock, check_integer, layer_label, pointwise
from keras_attention.layers.batch_normalization import block_norm, check_batchnorm
from keras_attention.layers.simple_coordinate_attention import AxisMaps


def hard_swish(x):
    return x * ops.relu6(x + 3.0) / 6.0


@keras.saving.register_keras_serializable(package="keras_attention")
class CoordinateAttention(AxisMaps, AttentionBlock):
    """Coordinate Attention (Hou et al., 2021).

    The feature map is average pooled along each direction: over the width for a per-row
    vector, over the height for a per-column vector. Both are concatenated along the spatial
    axis and transformed together by a 1x1 convolution to `max(min_units, C // reduction)`
    channels (with bias), BatchNormalization and hard swish, then split again; a 1x1
    convolution per direction (with bias) and a sigmoid give `a_h` (per row) and `a_w` (per
    column), and `y = x * a_h * a_w`.

    Args:
        reduction: reduction ratio of the shared transform (32).
        min_units: lower bound on its channels (8).
        use_bias: whether the three 1x1 convolutions have biases (True, as the authors' code;
            timm's have none).
        batchnorm: `"keras"` or `"torch"`: how its BatchNormalization updates the moving
            variance in training (`"torch"`: PyTorch's unbiased update, for PyTorch recipes).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        training: whether the BatchNormalization uses batch statistics.

    Example:

    >>> x = np.random.rand(2, 8, 6, 32).astype("float32")
    >>> CoordinateAttention()(x).shape
    (2, 8, 6, 32)
    """

    def __init__(
        self,
        reduction=32,
        min_units=8,
        use_bias=True,
        batchnorm="keras",
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.use_bias = bool(use_bias)
        check_integer(layer_label(self), "reduction", reduction)
        check_integer(layer_label(self), "min_units", min_units)
        self.reduction = reduction
        self.min_units = min_units
        self.batchnorm = check_batchnorm(batchnorm, layer_label(self))
        self.norm = block_norm(self, "norm")

    def _conv(self, filters, name):
        return keras.layers.Conv2D(
            filters,
            1,
            use_bias=self.use_bias,
            data_format=self.data_format,
            dtype=self.statistics_policy(),
            name=name,
        )

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        hidden = max(self.min_units, channels // self.reduction)
        self.transform = self._conv(hidden, "transform")
        self.attend_rows = self._conv(channels, "attend_rows")
        self.attend_columns = self._conv(channels, "attend_columns")
        self.transform.build(self.channel_shape(channels))
        for layer in (self.norm, self.attend_rows, self.attend_columns):
            layer.build(self.channel_shape(hidden))

    def compute_attention(self, x, training=None):
        stats = self.statistics_input(x)
        h_axis, w_axis = self.spatial_axes
        height = ops.shape(x)[h_axis]
        # rows: (N, H, 1, C); columns laid out along the same axis: (N, W, 1, C).
        rows = ops.mean(stats, axis=w_axis, keepdims=True)
        columns = ops.swapaxes(ops.mean(stats, axis=h_axis, keepdims=True), h_axis, w_axis)
        both = ops.concatenate([rows, columns], axis=h_axis)
        both = hard_swish(self.norm(self.transform(both), training=training))
        if self.data_format == "channels_last":
            rows, columns = both[:, :height], both[:, height:]
        else:
            rows, columns = both[:, :, :height], both[:, :, height:]
        # (N, H, 1, C) per row, and per column (N, 1, W, C); channels_first (N, C, H, 1) and
        # (N, C, 1, W): each broadcasts over the feature map.
        a_rows = ops.sigmoid(pointwise(self.attend_rows, rows))
        a_columns = ops.swapaxes(
            ops.sigmoid(pointwise(self.attend_columns, columns)), h_axis, w_axis
        )
        return {"height": a_rows, "width": a_columns}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "reduction": self.reduction,
                "min_units": self.min_units,
                "use_bias": self.use_bias,
                "batchnorm": self.batchnorm,
            }
        )
        return config
