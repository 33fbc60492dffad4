"""`keras.applications` models into this package's networks, weights copied exactly, so a
user's Keras EfficientNet or MobileNetV3 becomes a network whose SE can be swapped.

The architectures are ours built in their Keras layout (`layout="keras"`): the same
convolutions, padding and BatchNorm constants, so only names and a few shapes differ. SE's two
1x1 convolutions on a (1, 1, C) map become `SqueezeExcitation`'s two Dense layers, and
MobileNetV3's head convolutions on the pooled map become Dense layers (kernel `(1, 1, I, O)`
-> `(I, O)`). The input preprocessing layers (`Rescaling`, `Normalization`) are copied in front
of the stem as they are.
"""

import os
import re

import keras
import numpy as np

from keras_attention import catalog
from keras_attention.errors import ConfigError

# Keras architecture names (`convert FILE --arch keras:NAME`): our factory and its settings,
# and the keras.applications constructor.
KERAS_ARCHS = {
    name: (
        ("efficientnet", dict(variant=name[-2:]), f"EfficientNet{name[-2:].upper()}")
        if name.startswith("efficientnet")
        else ("mobilenet_v3", dict(size=name[13:]), f"MobileNetV3{name[13:].title()}")
    )
    for name in catalog.KERAS_ARCHITECTURES
}
# Keras' own model names (`EfficientNetB0(...).name`, `MobileNetV3Large(...).name`).
_KERAS_MODEL_NAMES = {
    **{f"efficientnetb{i}": f"efficientnet_b{i}" for i in range(8)},
    "mobilenetv3large": "mobilenet_v3_large",
    "mobilenetv3small": "mobilenet_v3_small",
}
# (Keras layer name pattern, our layer name) per family; `\1`, `\2` are the block's indices.
_NAMES = {
    "efficientnet": (
        (r"stem_conv", "stem_conv"),
        (r"stem_bn", "stem_bn"),
        (r"block(\d+[a-z])_expand_conv", r"block\1_expand"),
        (r"block(\d+[a-z])_expand_bn", r"block\1_expand_bn"),
        (r"block(\d+[a-z])_dwconv", r"block\1_depthwise"),
        (r"block(\d+[a-z])_bn", r"block\1_depthwise_bn"),
        (r"block(\d+[a-z])_se_reduce", r"block\1_attention.squeeze"),
        (r"block(\d+[a-z])_se_expand", r"block\1_attention.excite"),
        (r"block(\d+[a-z])_project_conv", r"block\1_project"),
        (r"block(\d+[a-z])_project_bn", r"block\1_project_bn"),
        (r"top_conv", "top_conv"),
        (r"top_bn", "top_bn"),
        (r"predictions", "predictions"),
    ),
    "mobilenet_v3": (
        (r"conv", "stem_conv"),
        (r"conv_bn", "stem_bn"),
        (r"expanded_conv_(?:(\d+)_)?expand", r"block\1_expand"),
        (r"expanded_conv_(?:(\d+)_)?expand_bn", r"block\1_expand_bn"),
        (r"expanded_conv_(?:(\d+)_)?depthwise", r"block\1_depthwise"),
        (r"expanded_conv_(?:(\d+)_)?depthwise_bn", r"block\1_depthwise_bn"),
        (r"expanded_conv_(?:(\d+)_)?squeeze_excite_conv", r"block\1_attention.squeeze"),
        (r"expanded_conv_(?:(\d+)_)?squeeze_excite_conv_1", r"block\1_attention.excite"),
        (r"expanded_conv_(?:(\d+)_)?project", r"block\1_project"),
        (r"expanded_conv_(?:(\d+)_)?project_bn", r"block\1_project_bn"),
        (r"conv_1", "top_conv"),
        (r"conv_1_bn", "top_bn"),
        (r"conv_2", "head"),
        (r"logits", "predictions"),
    ),
}
_PREPROCESSING = (keras.layers.Rescaling, keras.layers.Normalization)
# MobileNetV3 width multipliers tried, in this order, when none is given.
_ALPHAS = (1.0, 0.75, 0.5, 0.35, 1.25, 1.5)


def _error(message):
    from keras_attention.pretrained.tensors import ConversionError

    return ConversionError(message)


def keras_arch(model, arch=None):
    """The `KERAS_ARCHS` name of a `keras.applications` model: `arch` (with or without
    `keras:`) when given, else read from the model's name."""
    if arch is None:
        key = re.sub(r"[^a-z0-9]", "", model.name.lower())
        if key not in _KERAS_MODEL_NAMES:
            raise ConfigError(
                f"convert: cannot tell the architecture of Keras model {model.name!r}; give "
                f"arch= one of {', '.join(KERAS_ARCHS)}"
            )
        return _KERAS_MODEL_NAMES[key]
    try:
        return catalog.parse_keras_architecture(arch)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _ours(family, keras_name):
    for pattern, ours in _NAMES[family]:
        match = re.fullmatch(pattern, keras_name)
        if match:
            # MobileNetV3's first block has no index in Keras' names ("expanded_conv_").
            return ours.replace(r"\1", match.group(1) or "0") if match.groups() else ours
    return None


def _weighted(model):
    return [layer for layer in model.layers if layer.weights]


def _settings(source, family, options):
    """Our factory's arguments for `source`: its classes, input, minimalism and width."""
    shape = tuple(source.input_shape[1:])
    top = any(layer.name in ("predictions", "logits") for layer in source.layers)
    settings = dict(options, include_top=top, input_shape=shape)
    norm = next(x for x in source.layers if isinstance(x, keras.layers.BatchNormalization))
    axis = norm.axis[0] if isinstance(norm.axis, (list, tuple)) else norm.axis
    settings["data_format"] = "channels_first" if axis == 1 else "channels_last"
    if top:
        head = source.get_layer("predictions" if family == "efficientnet" else "logits")
        settings["num_classes"] = int(head.kernel.shape[-1])
    if family == "mobilenet_v3":
        names = {layer.name for layer in source.layers}
        settings["minimalistic"] = not any("squeeze_excite" in n for n in names)
    return settings


def _copy(family, source, target):
    """Copies every weighted layer of `source` into `target`; a layer with no counterpart or of
    another shape is a ConversionError naming it."""
    filled = set()
    for layer in _weighted(source):
        if isinstance(layer, _PREPROCESSING):
            continue
        name = _ours(family, layer.name)
        if name is None:
            raise _error(f"convert: Keras layer {layer.name!r} has no counterpart in {target.name}")
        owner, _, part = name.partition(".")
        try:
            ours = target.get_layer(owner)
        except ValueError:
            raise _error(
                f"convert: {target.name} has no layer {owner!r} for Keras layer {layer.name!r}"
            ) from None
        if part:
            ours = getattr(ours, part, None)
            if ours is None:
                raise _error(
                    f"convert: {owner} of {target.name} ({type(target.get_layer(owner)).__name__})"
                    f" is not the SE block Keras layer {layer.name!r} belongs to"
                )
        values = layer.get_weights()
        wanted = [tuple(w.shape) for w in ours.weights]
        # A 1x1 convolution on a pooled (1, 1, C) map is a Dense layer here.
        pairs = zip(values, wanted, strict=False)  # a count that differs fails the check below
        values = [v.reshape(s) if v.size == int(np.prod(s)) else v for v, s in pairs]
        got = [tuple(v.shape) for v in values]
        if got != wanted:
            raise _error(
                f"convert: Keras layer {layer.name!r} has weights of shapes {got}; "
                f"{name} of {target.name} expects {wanted}"
            )
        ours.set_weights(values)
        filled.add(owner if not part else f"{owner}.{part}")
    unfilled = [
        layer.name
        for layer in _weighted(target)
        if not isinstance(layer, _PREPROCESSING)
        and layer.name not in filled
        and not {f"{layer.name}.squeeze", f"{layer.name}.excite"} <= filled
    ]
    if unfilled:
        raise _error(
            f"convert: {len(unfilled)} layer(s) of {target.name} found nothing to copy in "
            f"{source.name}: {', '.join(unfilled[:8])}"
        )


def from_keras(model, arch=None, alpha=None):
    """This package's network with the weights of a `keras.applications` model.

    Args:
        model: a `keras.applications.EfficientNetB0` ... `B7`, `MobileNetV3Large` or
            `MobileNetV3Small` (or one loaded from a `.keras` or `.h5` file), with or without
            its top.
        arch: `"efficientnet_b0"` ... `"efficientnet_b7"`, `"mobilenet_v3_large"`,
            `"mobilenet_v3_small"` (a `keras:` prefix is accepted); default: read from the
            model's name.
        alpha: MobileNetV3's width multiplier; default: the first of 1.0, 0.75, 0.5, 0.35,
            1.25, 1.5 whose shapes fit.

    Returns:
        The network from `keras_attention.models` in its Keras layout, the same input
        preprocessing in front: on the same input it gives the Keras model's outputs before
        its softmax (logits), and its SE can be swapped (`attention=` of the factory, with the
        other weights copied by `keras_attention.convert.transfer_weights`).

    Example:

    >>> source = keras.applications.EfficientNetB0(weights=None)
    >>> model = from_keras(source)
    """
    from keras_attention import models

    arch = keras_arch(model, arch)
    family, options, _ = KERAS_ARCHS[arch]
    settings = _settings(model, family, options)
    preprocessing = [
        type(layer).from_config(layer.get_config())
        for layer in model.layers
        if isinstance(layer, _PREPROCESSING)
    ]
    factory = getattr(models, family)
    alphas = [alpha] if alpha is not None or family != "mobilenet_v3" else list(_ALPHAS)
    error = None
    for candidate in alphas:
        if candidate is not None:
            settings["alpha"] = candidate
        target = factory(**settings, preprocessing=preprocessing)
        try:
            _copy(family, model, target)
        except ValueError as failure:  # the shapes of another width multiplier may fit
            error = error or failure
            continue
        originals = [layer for layer in model.layers if isinstance(layer, _PREPROCESSING)]
        for ours, theirs in zip(preprocessing, originals, strict=True):
            ours.set_weights(theirs.get_weights())
            if hasattr(ours, "finalize_state"):
                ours.finalize_state()
        return target
    raise error


def read_keras(path, arch):
    """The Keras model in `path`: a whole model (`.keras`, or `.h5` saved by `model.save`), or
    keras.applications weights (`.h5` from `save_weights` or Keras' downloads) loaded into
    the `arch` model, with or without its top. A file that is neither is named."""
    from keras_attention.pretrained.tensors import ConversionError

    name = keras_arch(None, arch)
    if not os.path.isfile(path):
        raise ConfigError(f"convert: no Keras file {path!r}")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:
        failure = str(error).splitlines()[0] if str(error) else type(error).__name__
    if path.endswith(".h5"):
        constructor = getattr(keras.applications, KERAS_ARCHS[name][2])
        for top in (True, False):
            model = constructor(weights=None, include_top=top, classifier_activation=None)
            try:
                model.load_weights(path)
                return model
            except Exception:  # the other top, or not weights of this architecture
                continue
    raise ConversionError(
        f"convert: {path} is damaged or not a Keras model or {name} weights ({failure})"
    )


def from_keras_file(path, arch, log=None):
    """`from_keras` of the model or weights in a `.keras` or `.h5` file (`read_keras`)."""
    model = from_keras(read_keras(path, arch), arch=arch)
    if log:
        log(f"convert: {arch}: {len(model.weights)} weights from {path} into {model.name}")
    return model
