"""Models by name, for the command line: `cifar_resnet20`, `preact_resnet164`,
`cifar_se_resnet50`, `resnet50`, `mobilenet_v2`, `mobilenet_v2_0.5` (see
`keras_attention.catalog.MODEL_FAMILIES`)."""

import inspect

from keras_attention.catalog import parse_model as parse
from keras_attention.models.mobilenet_v2 import mobilenet_v2
from keras_attention.models.resnet import cifar_resnet, resnet
from keras_attention.models.se_resnet import cifar_se_resnet

__all__ = ["build", "parse"]


def build(
    name,
    attention=None,
    num_classes=10,
    input_shape=(32, 32, 3),
    attention_kwargs=None,
    dropout=0.0,
    **options,
):
    """Builds a model by name.

    `options` go to the family's factory: `batchnorm` to every family; `reduction`,
    `aux_positions`, `feed_attention`, `aux_context`, `stop_gradient` and `aux_dropout` to
    `cifar_se_resnet`; `stride_on` to `resnet`; `block` to the CIFAR ResNets. An option the
    family does not take is a ValueError naming it.
    """
    family, number = parse(name)
    common = dict(
        num_classes=num_classes, input_shape=input_shape, attention_kwargs=attention_kwargs
    )
    if options.get("aux_positions") and family != "cifar_se_resnet":
        raise ValueError(
            f"aux_positions: auxiliary classifiers are an option of cifar_se_resnet models, "
            f"not of {name!r}; got aux_positions={tuple(options['aux_positions'])}."
        )
    if family == "cifar_se_resnet":
        factory, args = cifar_se_resnet, dict(attention=attention or "se")
    elif family in ("cifar_resnet", "preact_resnet"):
        factory, args = cifar_resnet, dict(attention=attention, preact=family == "preact_resnet")
    elif family == "resnet":
        factory, args = resnet, dict(attention=attention)
    else:
        factory, args = mobilenet_v2, dict(attention=attention, dropout=dropout)
    accepted = set(inspect.signature(factory).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        takes = sorted(accepted - set(common) - set(args) - {"depth", "alpha"})
        raise ValueError(
            f"model_kwargs: {name!r} ({factory.__name__}) takes no option {', '.join(unknown)}; "
            f"it takes {', '.join(takes)}."
        )
    return factory(number, **args, **common, **options)
