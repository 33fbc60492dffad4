"""Short names for the attention blocks, so that models and the command line accept a name,
a Layer class, a Layer instance (used as a template) or a callable that returns a Layer."""

import inspect

import keras

from keras_attention import catalog
from keras_attention.layers.bam import BAM
from keras_attention.layers.cbam import CBAM
from keras_attention.layers.coordinate_attention import CoordinateAttention
from keras_attention.layers.eca import ECA, ECAMLP, CircularECA
from keras_attention.layers.effective_se import EffectiveSE
from keras_attention.layers.efficient_local_attention import EfficientLocalAttention
from keras_attention.layers.fcanet import FcaNet
from keras_attention.layers.gather_excite import GatherExcite
from keras_attention.layers.global_context import GlobalContext, GlobalContextAdd
from keras_attention.layers.light_cbam import LightCBAM
from keras_attention.layers.sge import SGE
from keras_attention.layers.simam import SimAM
from keras_attention.layers.simple_coordinate_attention import SimpleCoordinateAttention
from keras_attention.layers.spem import SPEM
from keras_attention.layers.squash_spatial_attention import SquashSpatialAttention
from keras_attention.layers.squeeze_excitation import SqueezeExcitation
from keras_attention.layers.srm import SRM
from keras_attention.layers.strip_attention import StripAttention
from keras_attention.layers.triplet_attention import TripletAttention

_CLASSES = {
    cls.__name__: cls
    for cls in (
        SqueezeExcitation,
        SquashSpatialAttention,
        SPEM,
        CBAM,
        ECA,
        SRM,
        SGE,
        CoordinateAttention,
        EffectiveSE,
        ECAMLP,
        CircularECA,
        GatherExcite,
        GlobalContext,
        GlobalContextAdd,
        LightCBAM,
        SimpleCoordinateAttention,
        EfficientLocalAttention,
        StripAttention,
        SimAM,
        TripletAttention,
        BAM,
        FcaNet,
    )
}
# The names and their order come from the catalog, which the command line reads without Keras.
_REGISTRY = {name: _CLASSES[class_name] for name, (class_name, _) in catalog.BLOCKS.items()}


def names():
    """The registered block names, in registration order."""
    return list(_REGISTRY)


def context_blocks():
    """The registered names whose blocks take `context=` (SE-R's auxiliary results)."""
    return [name for name in names() if getattr(resolve(name), "accepts_context", False)]


def register(name, factory):
    """Registers `factory` (a Layer class or a callable returning a Layer) under `name`."""
    key = name.lower()
    if not callable(factory):
        raise TypeError(f"register: factory for {name!r} must be callable, got {factory!r}.")
    _REGISTRY[key] = factory
    return factory


def resolve(identifier):
    """The factory (Layer class or callable) behind a name, class or callable."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _REGISTRY:
            raise ValueError(
                f"Unknown attention block {identifier!r}; expected one of {names()}, "
                "a Layer class or a callable returning a Layer."
            )
        return _REGISTRY[key]
    if callable(identifier) and not isinstance(identifier, keras.layers.Layer):
        return identifier
    raise TypeError(
        f"Cannot make an attention block from {identifier!r}: expected a name from "
        f"{names()}, a Layer class, a Layer instance or a callable."
    )


def get(identifier, **kwargs):
    """Returns a new attention layer for `identifier`, or `None` for `None`.

    Args:
        identifier: a registered name (see `names()`), a `keras.layers.Layer` subclass, a Layer
            instance (a new layer is made from its config) or a callable returning a Layer.
        **kwargs: constructor arguments for the block (for example `reduction=8`).

    Example:

    >>> get("se", reduction=8).reduction
    8
    """
    if identifier is None:
        return None
    if isinstance(identifier, keras.layers.Layer):
        config = identifier.get_config()
        config.pop("name", None)
        config.update(kwargs)
        return type(identifier).from_config(config)
    factory = resolve(identifier)
    layer = factory(**kwargs)
    if not isinstance(layer, keras.layers.Layer):
        kind = "class" if inspect.isclass(factory) else "callable"
        raise TypeError(f"The attention {kind} {factory!r} returned {layer!r}, not a Layer.")
    return layer
