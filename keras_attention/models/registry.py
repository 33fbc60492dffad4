"""Models by name, for the command line: `cifar_resnet20`, `preact_resnet164`,
`cifar_se_resnet50`, `resnet50`, `mobilenet_v2`, `mobilenet_v2_0.5` (see
`keras_attention.catalog.MODEL_FAMILIES`)."""

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
    **se_resnet_options,
):
    """Builds a model by name. `se_resnet_options` (reduction, aux_positions, feed_attention,
    aux_context, stop_gradient) go to `cifar_se_resnet`."""
    family, number = parse(name)
    common = dict(
        num_classes=num_classes, input_shape=input_shape, attention_kwargs=attention_kwargs
    )
    if family == "cifar_se_resnet":
        return cifar_se_resnet(number, attention=attention or "se", **common, **se_resnet_options)
    if se_resnet_options.get("aux_positions"):
        raise ValueError(
            f"aux_positions: auxiliary classifiers are an option of cifar_se_resnet models, "
            f"not of {name!r}; got aux_positions={tuple(se_resnet_options['aux_positions'])}."
        )
    if family in ("cifar_resnet", "preact_resnet"):
        return cifar_resnet(number, attention, preact=family == "preact_resnet", **common)
    if family == "resnet":
        return resnet(number, attention, **common)
    return mobilenet_v2(number, attention, dropout=dropout, **common)
