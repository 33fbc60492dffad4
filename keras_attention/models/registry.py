"""Models by name: `cifar_resnet20`, `preact_resnet164`, `cifar_se_resnet50`, `resnet50`,
`mobilenet_v2`, `mobilenet_v2_0.5` (see `keras_attention.catalog.MODEL_FAMILIES`)."""

import inspect

from keras_attention.catalog import parse_model as parse
from keras_attention.models.efficientnet import efficientnet
from keras_attention.models.mobilenet_v2 import mobilenet_v2
from keras_attention.models.mobilenet_v3 import mobilenet_v3
from keras_attention.models.regnet import regnet
from keras_attention.models.resnet import cifar_resnet, resnet, resnext
from keras_attention.models.se_resnet import cifar_se_resnet

__all__ = ["build", "parse"]

# The factory of each family whose name gives more than one leading argument.
_FACTORIES = {
    "resnext": resnext,
    "mobilenet_v3": mobilenet_v3,
    "efficientnet": efficientnet,
    "regnet": regnet,
}


def build(
    name,
    attention=None,
    num_classes=None,
    input_shape=None,
    attention_kwargs=None,
    dropout=None,
    **options,
):
    """Builds a model by name: a family and its depth (or MobileNetV2's width).

    Names: `cifar_resnetDEPTH` (basic 6n+2: 8, 14, 20, 32, 44, 56, 110; bottleneck 9n+2: 83,
    164, 245, 326), `preact_resnetDEPTH`, `cifar_se_resnetDEPTH` (18, 34, 50, 101, 152),
    `resnetDEPTH` (18, 34, 50, 101, 152), `mobilenet_v2` or `mobilenet_v2_ALPHA`
    (`mobilenet_v2_0.5`), `resnextDEPTH[_CxWd]` (`resnext50_32x4d`),
    `mobilenet_v3_SIZE[_minimal][_ALPHA]` (`mobilenet_v3_large`, `mobilenet_v3_small_0.75`),
    `efficientnet_bN` (b0 ... b7) and `regnety_NNN` (002 ... 032). The block is `attention`,
    not part of the name: `"se"` is the family's own SE where it has one (cifar_se_resnet,
    MobileNetV3, EfficientNet, RegNetY: their widths and activations), None the network
    without attention.

    Args:
        name: a model name, as above (`keras-attention list models`).
        attention: a registered block name, Layer class, Layer instance or callable; None
            for none.
        num_classes: default the family's data set: 10 for the CIFAR families, 1000 for
            `resnet*` and `mobilenet_v2*` (ImageNet).
        input_shape: default `(32, 32, 3)` for the CIFAR families, `(224, 224, 3)` for the
            ImageNet ones (EfficientNet: the variant's, 240 for B1 ... 600 for B7).
        attention_kwargs: arguments for every attention block.
        dropout: the classifier's dropout (MobileNetV2: default 0; MobileNetV3 and
            EfficientNet: default their own).
        **options: go to the family's factory: `batchnorm` to every family; `reduction`,
            `aux_positions`, `feed_attention`, `aux_context`, `stop_gradient` and
            `aux_dropout` to `cifar_se_resnet`; `stride_on` to `resnet`; `block` to the CIFAR
            ResNets. An option the family does not take is a ValueError naming it and
            listing those it takes.

    Example:

    >>> model = build("resnet50", "se")  # SE-ResNet-50 for ImageNet, 224x224, 1000 classes
    >>> model = build("cifar_resnet20", "spem", num_classes=100)
    """
    family, number = parse(name)
    imagenet = family not in ("cifar_resnet", "preact_resnet", "cifar_se_resnet")
    num_classes = num_classes or (1000 if imagenet else 10)
    common = dict(num_classes=num_classes, attention_kwargs=attention_kwargs)
    if input_shape is not None or family not in _FACTORIES:  # else the variant's own size
        common["input_shape"] = tuple(input_shape or ((224, 224, 3) if imagenet else (32, 32, 3)))
    if options.get("aux_positions") and family != "cifar_se_resnet":
        raise ValueError(
            f"aux_positions: auxiliary classifiers are an option of cifar_se_resnet models, "
            f"not of {name!r}; got aux_positions={tuple(options['aux_positions'])}."
        )
    if family in _FACTORIES:
        factory = _FACTORIES[family]
        leading = number if isinstance(number, tuple) else (number,)
        names = {
            "resnext": ("cardinality", "width_per_group"),
            "mobilenet_v3": ("alpha", "minimalistic"),
        }.get(family, ())
        args = dict(zip(names, leading[1:], strict=True), attention=attention)
        if dropout is not None and family in ("mobilenet_v3", "efficientnet"):
            args["dropout"] = dropout
        number = leading[0]
    elif family == "cifar_se_resnet":
        factory, args = cifar_se_resnet, dict(attention=attention)
    elif family in ("cifar_resnet", "preact_resnet"):
        factory, args = cifar_resnet, dict(attention=attention, preact=family == "preact_resnet")
    elif family == "resnet":
        factory, args = resnet, dict(attention=attention)
    else:
        factory, args = mobilenet_v2, dict(attention=attention, dropout=dropout or 0.0)
    accepted = set(inspect.signature(factory).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        from keras_attention.catalog import suggest

        leading = {"depth", "alpha", "variant", "size"}
        takes = sorted(accepted - set(common) - set(args) - leading)
        raise ValueError(
            f"model_kwargs: {name!r} ({factory.__name__}) takes no option {', '.join(unknown)}"
            f"{suggest(unknown[0], takes)}; it takes {', '.join(takes)}"
        )
    return factory(number, **args, **common, **options)
