import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_integer,
    check_number,
    layer_label,
    make_divisible,
    pointwise,
)


def directional_means(layer, x):
    """`(rows, columns)`: the mean over the width, `(N, H, 1, C)`, and over the height,
    `(N, 1, W, C)` (channels_first: `(N, C, H, 1)`, `(N, C, 1, W)`), each broadcasting over the
    map: the pooling of coordinate attention and of timm's simplified variants."""
    h_axis, w_axis = layer.spatial_axes
    return ops.mean(x, axis=w_axis, keepdims=True), ops.mean(x, axis=h_axis, keepdims=True)


class AxisMaps:
    """Mixin for blocks with a map per row, `"height"`, and a map per column, `"width"`
    (coordinate attention, efficient local attention): the gate is their product."""

    def gate(self, maps):
        return maps["height"] * maps["width"]

    def apply_maps(self, inputs, maps):
        return self.axis_product(inputs, maps)

    def axis_product(self, inputs, maps):
        """`inputs * a_h * a_w` as two products that broadcast one operand each, never the
        full-size gate `a_h * a_w`, whose product broadcasts both (and is as slow as a pass
        over `inputs`). In 16 bits the float32 gate is rounded once, as in every block."""
        if inputs.dtype != maps["height"].dtype:
            return self.rescale(inputs, self.gate(maps))
        return inputs * maps["height"] * maps["width"]

    def canonical_maps(self, maps):
        h_axis, w_axis = self.spatial_axes
        return {
            "height": ops.squeeze(maps["height"], w_axis),
            "width": ops.squeeze(maps["width"], h_axis),
        }


@keras.saving.register_keras_serializable(package="keras_attention")
class SimpleCoordinateAttention(AttentionBlock):
    """timm's simplified coordinate attention (`scoord`, timm/layers/coord_attn.py
    SimpleCoordAttn).

    `x_h = mean_W x`, `x_w = mean_H x`; one shared 1x1 layer `C -> rd` with bias and SiLU on
    both, then `a_h = fc_h(.)`, `a_w = fc_w(.)` (`rd -> C`, bias), and
    `y = x * sigmoid(a_h + a_w)` (`a_h` broadcast along the width, `a_w` along the height).
    `rd = make_divisible(C * rd_ratio * 2 / 3, 8)` (C=256: 40); `3 C rd + rd + 2 C`
    parameters.

    Args:
        rd_ratio: 0.25, as timm.
        rd_divisor: 8.
        has_skip: add the input to the output (timm's `has_skip`).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.

    Example:

    >>> x = np.random.rand(2, 8, 6, 32).astype("float32")
    >>> SimpleCoordinateAttention()(x).shape
    (2, 8, 6, 32)
    """

    def __init__(self, rd_ratio=0.25, rd_divisor=8, has_skip=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.rd_ratio = check_number(layer_label(self), "rd_ratio", rd_ratio, low=1e-9)
        self.rd_divisor = check_integer(layer_label(self), "rd_divisor", rd_divisor)
        self.has_skip = bool(has_skip)

    def _conv(self, filters, name, activation=None):
        return keras.layers.Conv2D(
            filters,
            1,
            activation=activation,
            data_format=self.data_format,
            dtype=self.statistics_policy(),
            name=name,
        )

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        hidden = make_divisible(channels * self.rd_ratio * 2 / 3, self.rd_divisor)
        self.fc1 = self._conv(hidden, "fc1", "silu")
        self.fc_h = self._conv(channels, "fc_h")
        self.fc_w = self._conv(channels, "fc_w")
        self.fc1.build(self.channel_shape(channels))
        self.fc_h.build(self.channel_shape(hidden))
        self.fc_w.build(self.channel_shape(hidden))

    def compute_attention(self, x, training=None):
        rows, columns = directional_means(self, self.statistics_input(x))
        # The 1x1s on the pooled rows and columns as matmuls (`pointwise`): TensorFlow's
        # 1x1 convolution on (N, 7, 1, 2048) rows takes several times the matmul.
        a_h = pointwise(self.fc_h, pointwise(self.fc1, rows))
        a_w = pointwise(self.fc_w, pointwise(self.fc1, columns))
        return {"position": ops.sigmoid(a_h + a_w)}

    def gate(self, maps):
        return maps["position"]

    def apply_maps(self, inputs, maps):
        y = super().apply_maps(inputs, maps)
        return y + inputs if self.has_skip else y

    def get_config(self):
        config = super().get_config()
        config.update(
            {"rd_ratio": self.rd_ratio, "rd_divisor": self.rd_divisor, "has_skip": self.has_skip}
        )
        return config
