"""Building pieces shared by every backbone: convolutions padded as in PyTorch, BatchNorm with
PyTorch's defaults, and the one place where an attention block enters a residual branch."""

import inspect

import keras

from keras_attention import layers as attention_layers
from keras_attention.layers.base import channel_axis, standardize_data_format
from keras_attention.layers.batch_normalization import batch_normalization, check_batchnorm


class Builder:
    """Creates the layers of one model with a fixed data format and naming.

    With `symmetric_padding` (the default, for models from PyTorch code), strided convolutions
    pad symmetrically (`ZeroPadding2D` then `"valid"`), as PyTorch's `padding=k // 2` does;
    Keras' `"same"` pads only the bottom/right for even inputs, as TensorFlow models do.

    `batchnorm="torch"` makes every BatchNormalization update its moving variance as PyTorch
    does (`TorchBatchNormalization`), for models trained with a recipe ported from PyTorch;
    `"keras"` uses Keras' layer.
    """

    def __init__(
        self,
        data_format=None,
        bn_epsilon=1e-5,
        bn_momentum=0.9,
        symmetric_padding=True,
        batchnorm="keras",
    ):
        self.data_format = standardize_data_format(data_format)
        self.batchnorm = check_batchnorm(batchnorm, "model")
        self.bn_epsilon = bn_epsilon
        self.bn_momentum = bn_momentum
        self.symmetric_padding = symmetric_padding

    @property
    def channel_axis(self):
        return channel_axis(self.data_format)

    def channels(self, x):
        return int(x.shape[self.channel_axis])

    def conv(self, x, filters, kernel_size, stride=1, use_bias=False, name=None, groups=1):
        pad = kernel_size // 2
        if stride > 1 and pad and self.symmetric_padding:
            x = keras.layers.ZeroPadding2D(pad, data_format=self.data_format, name=f"{name}_pad")(x)
            padding = "valid"
        else:
            padding = "same"
        common = dict(
            strides=stride,
            padding=padding,
            use_bias=use_bias,
            data_format=self.data_format,
            name=name,
        )
        if groups == self.channels(x) and groups == filters and groups > 1:
            return keras.layers.DepthwiseConv2D(kernel_size, **common)(x)
        return keras.layers.Conv2D(filters, kernel_size, groups=groups, **common)(x)

    def batch_norm(self, x, name, epsilon=None):
        return batch_normalization(
            self.batchnorm,
            axis=self.channel_axis,
            epsilon=self.bn_epsilon if epsilon is None else epsilon,
            momentum=self.bn_momentum,
            name=name,
        )(x)

    def attention(self, attention, attention_kwargs=None, own_block=None):
        """The model's `AttentionSpec`: blocks in this data format, given the model's
        BatchNorm choice where they take one; `own_block` is the family's own block class."""
        return AttentionSpec(
            attention,
            self.data_format,
            defaults={"batchnorm": self.batchnorm},
            kwargs=attention_kwargs,
            own_block=own_block,
        )

    def global_pool(self, x, name="avg_pool"):
        return keras.layers.GlobalAveragePooling2D(data_format=self.data_format, name=name)(x)


def checkpoint_layouts(keras_momentum):
    """A mobile family's two layouts, `Builder` arguments: `"keras"`, keras.applications' and
    timm's `tf_` models (TensorFlow "same" padding, BatchNorm epsilon 1e-3, the family's Keras
    momentum), and `"torch"`, timm's and torchvision's PyTorch models (symmetric padding,
    epsilon 1e-5, PyTorch's momentum 0.1, Keras' 0.9)."""
    return {
        "keras": dict(bn_epsilon=1e-3, bn_momentum=keras_momentum, symmetric_padding=False),
        "torch": dict(bn_epsilon=1e-5, bn_momentum=0.9, symmetric_padding=True),
    }


def check_classes(owner, num_classes):
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"{owner}: num_classes must be an integer >= 1, got {num_classes!r}.")
    return num_classes


def check_choice(owner, option, value, choices):
    """`value` if it is one of `choices`, else a ValueError naming the factory, the option,
    the accepted values and the closest one."""
    if isinstance(value, str) and value in choices:
        return value
    from keras_attention.catalog import suggest

    raise ValueError(
        f"{owner}: unknown {option} {value!r}{suggest(value, choices)}; expected one of "
        f"{', '.join(map(str, choices))}"
    )


def _explicit_parameters(factory):
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return set(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        return set()


# Arguments that set an attention block's hidden width: a user who gives one overrides the
# family's own width at every position.
WIDTH_ARGUMENTS = frozenset({"reduction", "hidden_units", "rd_divisor"})


class AttentionSpec:
    """Which attention block a model uses, and how to make one for each position.

    Args:
        attention: anything `keras_attention.layers.get` accepts, or None for no attention.
        data_format: the model's data format, given to blocks that take `data_format`.
        defaults: a model family's settings (such as its reduction ratio), given only to blocks
            whose constructor names them.
        kwargs: the user's block arguments, given as they are.
    """

    def __init__(self, attention, data_format, defaults=None, kwargs=None, own_block=None):
        self.attention = attention
        self.data_format = data_format
        self.defaults = dict(defaults or {})
        self.kwargs = dict(kwargs or {})
        self.own_block = own_block

    def __bool__(self):
        return self.attention is not None

    @property
    def tag(self):
        """A short name for model names: the registered name, or the class name."""
        if isinstance(self.attention, str):
            return self.attention.lower()
        return getattr(self.attention, "__name__", type(self.attention).__name__).lower()

    def make(self, name, settings=None):
        """A new block for one position (named `name` where the block takes a name).

        `settings` are the family's own block's arguments at this position (EfficientNet's SE
        width, from the block's input channels, its SiLU); they are given only when the block
        is the family's own (`own_block`), and the width ones only when the user's arguments
        set no width of their own.
        """
        if self.attention is None:
            return None
        if isinstance(self.attention, keras.layers.Layer):
            return attention_layers.get(self.attention, **self.kwargs)
        factory = attention_layers.registry.resolve(self.attention)
        accepted = _explicit_parameters(factory)
        offered = {"data_format": self.data_format, **self.defaults}
        if settings and self.own_block is not None and factory is self.own_block:
            if WIDTH_ARGUMENTS & set(self.kwargs):
                settings = {k: v for k, v in settings.items() if k not in WIDTH_ARGUMENTS}
            offered.update(settings)
        arguments = {key: value for key, value in offered.items() if key in accepted}
        if "name" in accepted or (
            inspect.isclass(factory) and issubclass(factory, keras.layers.Layer)
        ):
            arguments["name"] = name
        arguments.update(self.kwargs)
        return attention_layers.get(factory, **arguments)


def attend(x, spec, name, context=None, settings=None):
    """Applies a new attention block to a residual branch: the placement every model shares,
    after the branch's last normalisation and before the shortcut is added.

    A block that cannot sit there (it needs more channels, or channels in groups the position
    does not have) is refused here, naming the block, the position and its channels.
    """
    block = spec.make(name, settings)
    if block is None:
        return x
    try:
        if context is not None:
            return block(x, context=context)
        return block(x)
    except ValueError as error:
        channels = x.shape[channel_axis(spec.data_format)]
        raise ValueError(
            f"attention {spec.tag!r} cannot sit at {name} ({channels} channels, map "
            f"{tuple(x.shape[1:])}): {error}"
        ) from None
