"""What every attention block shares: input checks, axes, dtypes and the rescale.

An attention block maps a feature map `x` of shape `(batch, height, width, channels)`
(`channels_last`) or `(batch, channels, height, width)` (`channels_first`) to a tensor of the
same shape: `x` multiplied by an attention map computed from `x`.

Mixed precision: the attention map is computed in the layer's *variable* dtype (float32 under
`mixed_float16` and `mixed_bfloat16`), because pooled statistics, products of activations and
variances overflow or lose precision in float16. Only the final rescale runs in the compute
dtype, so the block's output has the compute dtype like any other Keras layer's.
"""

import keras
from keras import ops


def standardize_data_format(data_format):
    """`None` means `keras.config.image_data_format()`; anything else must name a layout."""
    value = (data_format or keras.config.image_data_format()).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}."
        )
    return value


def spatial_axes(data_format):
    return (1, 2) if data_format == "channels_last" else (2, 3)


def channel_axis(data_format):
    return -1 if data_format == "channels_last" else 1


def layer_label(layer):
    return f"{type(layer).__name__} layer '{layer.name}'"


def feature_map_channels(layer, input_shape, data_format):
    """Checks that `input_shape` is a 4-D feature map and returns its channel count."""
    layout = (
        "(batch, height, width, channels)"
        if data_format == "channels_last"
        else "(batch, channels, height, width)"
    )
    shape = tuple(input_shape)
    if len(shape) != 4:
        raise ValueError(
            f"{layer_label(layer)} expects a 4-D input of shape {layout} "
            f"(data_format='{data_format}'); received input shape {shape}."
        )
    channels = shape[channel_axis(data_format)]
    if channels is None:
        raise ValueError(
            f"{layer_label(layer)} needs a defined channel dimension: expected shape "
            f"{layout} with channels known (data_format='{data_format}'); "
            f"received input shape {shape}."
        )
    return int(channels)


class AttentionBlock(keras.layers.Layer):
    """Base class of the attention blocks: output = input * attention map.

    Subclasses create their weights in `build` (calling `self.input_channels(input_shape)`
    first) and implement `call`, computing the map from `self.statistics_input(inputs)` and
    returning `self.rescale(inputs, attention)`.

    Args:
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, `trainable`).
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.channels = None

    @property
    def channel_axis(self):
        return channel_axis(self.data_format)

    @property
    def spatial_axes(self):
        return spatial_axes(self.data_format)

    @property
    def statistics_dtype(self):
        """The dtype the attention map is computed in."""
        return self.dtype_policy.variable_dtype

    def statistics_policy(self):
        """Dtype policy for sublayers that compute the attention map."""
        return keras.DTypePolicy(self.statistics_dtype)

    def input_channels(self, input_shape):
        """Validates a feature map shape, records and returns its channel count."""
        self.channels = feature_map_channels(self, input_shape, self.data_format)
        self.input_spec = keras.InputSpec(ndim=4, axes={self.channel_axis: self.channels})
        return self.channels

    def add_weight(self, *args, autocast=False, **kwargs):
        """Like `Layer.add_weight`, but the block's own weights are not autocast: they are
        read in full precision, as the map is computed in the statistics dtype."""
        return super().add_weight(*args, autocast=autocast, **kwargs)

    def statistics_input(self, x):
        return ops.cast(x, self.statistics_dtype)

    def channel_map(self, vector):
        """Reshapes a `(batch, channels)` vector so that it broadcasts over a feature map."""
        if self.data_format == "channels_last":
            return vector[:, None, None, :]
        return vector[:, :, None, None]

    def rescale(self, x, attention):
        return ops.multiply(x, ops.cast(attention, x.dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format})
        return config
