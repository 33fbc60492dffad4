"""What every attention block shares: input checks, axes, dtypes and the rescale.

An attention block maps a feature map `x` of shape `(batch, height, width, channels)`
(`channels_last`) or `(batch, channels, height, width)` (`channels_first`) to a tensor of the
same shape: `x` multiplied by an attention map computed from `x`.

Precision: the attention map is computed in float32 whenever the layer's dtype policy is a
16-bit one (`mixed_float16`, `mixed_bfloat16`, and pure `float16` or `bfloat16`), because pooled
statistics, products of activations and variances overflow or lose precision in 16 bits (Keras'
own BatchNormalization does the same); otherwise in the variable dtype. Only the final rescale
runs in the compute dtype, so the block's output has the compute dtype like any other Keras
layer's.

Inputs: integer inputs are computed in the compute dtype (as Keras' preprocessing layers do),
and an empty batch gives an empty output of the same shape.
"""

import contextlib
import threading

import keras
from keras import ops

HALF_DTYPES = ("float16", "bfloat16")
_TRACING = threading.local()


@contextlib.contextmanager
def converter_form(integer=False):
    """While active (in this thread), blocks trace the form of their computation meant for the
    converters, with the same values: no data-dependent branch (XNNPACK delegates no control
    flow, so a branch would split a TFLite graph), the op forms XNNPACK runs fastest, and
    moments as vectors (tf2onnx's layout optimiser mixes NCHW and NHWC operands of kept
    dimensions). `export.convert_tflite` and `export.export_onnx` trace the model inside it;
    everywhere else the blocks trace the form TensorFlow, JAX and PyTorch run fastest.

    `integer=True` (a full-integer TFLite conversion) also asks for the forms whose values an
    int8 scale per tensor holds (`tracing_for_integer_converter`)."""
    previous = getattr(_TRACING, "litert", False), getattr(_TRACING, "integer", False)
    _TRACING.litert, _TRACING.integer = True, integer
    try:
        yield
    finally:
        _TRACING.litert, _TRACING.integer = previous


def tracing_for_converter():
    """Whether the current trace is for a TFLite or ONNX conversion (see `converter_form`)."""
    return getattr(_TRACING, "litert", False)


def tracing_for_integer_converter():
    """Whether the current trace is for a full-integer TFLite conversion: the blocks whose
    statistics or descriptors an int8 scale per tensor cannot hold (SRM, CBAM, triplet), or whose
    ops full-integer TFLite lacks or fails on (SQUARE, a DIV by a divisor rounded to zero: SimAM,
    and the moments of `pooling.spatial_moments` and `pooling.standardize`), trace a form of
    the same values that it can (`converter_form(integer=True)`)."""
    return tracing_for_converter() and getattr(_TRACING, "integer", False)


def runs_as_itself(layer, x):
    """Whether a sublayer must be called as such rather than computed from its weights (a
    faster form of the same values): in a converter's trace (the converters fold and fuse the
    layers themselves), and where a 16-bit policy's autocast would read its kernel rounded
    (the kernel's dtype is not that of `x`)."""
    kernel = keras.backend.standardize_dtype(layer.kernel.dtype)
    return tracing_for_converter() or kernel != keras.backend.standardize_dtype(x.dtype)


def add_channel_bias(outputs, bias, data_format):
    """`outputs + bias`, one value per channel of a 4-D map in `data_format`."""
    shape = (1, 1, 1, -1) if data_format == "channels_last" else (1, -1, 1, 1)
    return outputs + ops.reshape(bias, shape)


def pointwise(conv, x):
    """`conv(x)` for a 1x1 `Conv2D` of stride 1. On channels_last data, outside a converter's
    trace, one matmul over the channels: TensorFlow's 1x1 convolution with one output channel
    takes 1.6 times as long on ResNet-50's first stage. The layer itself elsewhere (see
    `runs_as_itself`)."""
    if conv.data_format != "channels_last" or runs_as_itself(conv, x):
        return conv(x)
    return conv1x1_as_matmul(conv, x)


def conv1x1_as_matmul(conv, x):
    """A 1x1 `Conv2D`'s values on `x` with its channels last (a `(batch, channels)` vector
    included: the conv on a 1x1 map), as a matmul: its kernel, bias and activation, read
    in `x`'s dtype. On a vector the convolution of a 1x1 map costs TensorFlow several
    times the matmul, and an extra reshape or reduction to drop the unit axes."""
    outputs = ops.matmul(x, ops.cast(conv.kernel[0, 0], x.dtype))
    outputs = outputs + ops.cast(conv.bias, x.dtype) if conv.use_bias else outputs
    return conv.activation(outputs)


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


def spatial_size(x, data_format):
    """`(height, width)` of a 4-D map: Python ints where its static shape knows them (a
    reshape by those adds no SHAPE op, which would split TFLite's XNNPACK graph), run-time
    values where it does not."""
    axes = spatial_axes(data_format)
    static = tuple(x.shape[a] for a in axes)
    if None not in static:
        return static
    dynamic = ops.shape(x)
    return tuple(dynamic[a] if size is None else size for size, a in zip(static, axes, strict=True))


def layer_label(layer):
    return f"{type(layer).__name__} layer '{layer.name}'"


def check_integer(owner, name, value, minimum=1, allow_none=False):
    """Raises ValueError naming `owner`, the argument and the allowed values unless `value` is
    an integer >= `minimum` (or None when `allow_none`)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"{owner}: {name} must be {allowed}, got {value!r}.")
    return value


def check_number(owner, name, value, low=None, high=None, high_inclusive=True):
    """Raises ValueError unless `value` is a real number in [low, high] (or [low, high))."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (low is None or value >= low)
    ok = ok and (high is None or (value <= high if high_inclusive else value < high))
    if not ok:
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}"
        bounds += "]" if high_inclusive or high is None else ")"
        raise ValueError(f"{owner}: {name} must be a number in {bounds}, got {value!r}.")
    return value


def make_divisible(value, divisor, round_limit=0.0):
    """timm's `make_divisible` (timm/layers/helpers.py): `value` rounded to the nearest
    multiple of `divisor`, at least `divisor`, plus one `divisor` if that lost more than
    `1 - round_limit` of it (MobileNet's channel rounding uses 0.9)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < round_limit * value else rounded


def statistics_dtype_for(policy):
    """float32 for 16-bit policies, else the policy's variable dtype."""
    variable = policy.variable_dtype
    return "float32" if variable in HALF_DTYPES else variable


class InputHandling:
    """Mixin for every layer of the package: integer inputs are computed in the compute dtype,
    and a batch of zero samples gives an empty output (TensorFlow's reductions and convolutions
    fail or return wrong shapes on empty batches). The layer's `compute_output_shape` gives the
    empty output's shape; `check_input_shape(shape)` validates it first."""

    def floating_input(self, inputs):
        """`inputs` as a tensor; integer inputs in the compute dtype."""
        if not isinstance(inputs, keras.KerasTensor):
            inputs = ops.convert_to_tensor(inputs)
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if not keras.backend.is_float_dtype(dtype):
            inputs = ops.cast(inputs, self.compute_dtype)
        return inputs

    def __call__(self, inputs, *args, **kwargs):
        inputs = self.floating_input(inputs)
        shape = tuple(inputs.shape)
        if shape and shape[0] == 0:
            self.check_input_shape(shape)
            context = kwargs.get("context")
            extra = (tuple(context.shape),) if context is not None else ()
            return ops.zeros(self.compute_output_shape(shape, *extra), self.compute_dtype)
        return super().__call__(inputs, *args, **kwargs)

    def check_input_shape(self, shape):
        feature_map_channels(self, shape, self.data_format)


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


class AttentionBlock(InputHandling, keras.layers.Layer):
    """Base class of the attention blocks: output = input * attention map.

    Subclasses create their weights in `build` (calling `self.input_channels(input_shape)`
    first) and implement `compute_attention` (the block's maps by name, computed from
    `self.statistics_input(inputs)`, each shaped to broadcast over the input: a channel axis or
    spatial axes of size 1 where the map has none, except channel weights, `(batch,
    channels)`) and `gate` (the maps combined into the one tensor the input is multiplied by).
    `call` is `apply_maps(inputs, compute_attention(inputs))`, by default
    `rescale(inputs, gate(maps))`, so the maps that `attention()` returns are by construction
    the ones the block applies; `attention()` gives them without their unit axes
    (`canonical_maps`).

    Maps are gates in [0, 1]: channel weights `(batch, channels)`, spatial maps
    `(batch, height, width)`; maps with both a channel (or group) axis and spatial axes
    follow the block's `data_format`.

    Args:
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, `trainable`).
    """

    # Whether `call` takes `context=` (an auxiliary classifier's result, SE-R): the blocks that
    # compute a channel descriptor.
    accepts_context = False

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
        """The dtype the attention map is computed in: float32 under 16-bit policies."""
        return statistics_dtype_for(self.dtype_policy)

    def statistics_policy(self):
        """Dtype policy for sublayers that compute the attention map."""
        return keras.DTypePolicy(self.statistics_dtype)

    def input_channels(self, input_shape):
        """Validates a feature map shape, records and returns its channel count."""
        self.channels = feature_map_channels(self, input_shape, self.data_format)
        self.input_spec = keras.InputSpec(ndim=4, axes={self.channel_axis: self.channels})
        return self.channels

    def channel_shape(self, channels, like=None):
        """A 4-D shape with `channels` on the channel axis and the other axes of `like` (a
        shape), or unknown: what a sublayer on a map of `channels` is built with."""
        shape = [None] * 4 if like is None else list(like)
        shape[self.channel_axis] = channels
        return tuple(shape)

    def add_weight(self, *args, autocast=False, dtype=None, **kwargs):
        """Like `Layer.add_weight`, but the block's own weights are kept and read in the
        statistics dtype (not autocast), as the map is computed in it."""
        return super().add_weight(
            *args, autocast=autocast, dtype=dtype or self.statistics_dtype, **kwargs
        )

    def statistics_input(self, x):
        return ops.cast(x, self.statistics_dtype)

    def channel_map(self, vector):
        """Reshapes a `(batch, channels)` vector so that it broadcasts over a feature map."""
        if self.data_format == "channels_last":
            return vector[:, None, None, :]
        return vector[:, :, None, None]

    def rescale(self, x, attention):
        return ops.multiply(x, ops.cast(attention, x.dtype))

    def compute_attention(self, inputs, training=None):
        """The block's attention maps by name (a dict of tensors); see the class docstring."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_attention.")

    def gate(self, maps):
        """The maps of `compute_attention` as one tensor that broadcasts over the input."""
        raise NotImplementedError(f"{type(self).__name__} must implement gate.")

    def apply_maps(self, inputs, maps):
        """The block's output: `inputs` times the gate made of `maps`."""
        return self.rescale(inputs, self.gate(maps))

    def canonical_maps(self, maps):
        """The maps as `attention()` returns them: without the unit axes that let them
        broadcast (a one-channel spatial map becomes `(batch, height, width)`)."""
        return dict(maps)

    def squeeze_unit(self, tensor, axis):
        """`tensor` without `axis` when that axis has size 1 (statically)."""
        return ops.squeeze(tensor, axis) if tensor.shape[axis] == 1 else tensor

    def call(self, inputs, training=None):
        return self.apply_maps(inputs, self.compute_attention(inputs, training=training))

    def attention(self, inputs, training=False, **kwargs):
        """The block's attention maps for `inputs`, by name: the gates `call` multiplies the
        input by (built on first use).

        Args:
            inputs: a feature map the block accepts.
            training: whether normalisation inside the block uses batch statistics.
            **kwargs: further call arguments (SE-R's `context`).

        Returns:
            A dict of tensors: `"channel"` `(batch, channels)` for channel gates, `"spatial"`
            `(batch, height, width)` for one spatial map (grouped blocks: one map per group,
            with the group axis where `data_format` puts channels), coordinate attention's
            `"height"` and `"width"` gates.
        """
        if not self.built:
            self(inputs, **kwargs)
        inputs = self.floating_input(inputs)
        return self.canonical_maps(self.compute_attention(inputs, training=training, **kwargs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format})
        return config
