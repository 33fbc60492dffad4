"""Models by name, for the command line: `cifar_resnet20`, `preact_resnet164`,
`cifar_se_resnet50`, `resnet50`, `mobilenet_v2`, `mobilenet_v2_0.5`."""

import re

from keras_attention.models.mobilenet_v2 import mobilenet_v2
from keras_attention.models.resnet import cifar_resnet, resnet
from keras_attention.models.se_resnet import cifar_se_resnet

_PATTERNS = (
    (r"cifar_se_resnet(\d+)", "cifar_se_resnet"),
    (r"preact_resnet(\d+)", "preact_resnet"),
    (r"cifar_resnet(\d+)", "cifar_resnet"),
    (r"resnet(\d+)", "resnet"),
    (r"mobilenet_v2(?:_([\d.]+))?", "mobilenet_v2"),
)
EXAMPLES = ("cifar_resnet20", "preact_resnet164", "cifar_se_resnet50", "resnet50", "mobilenet_v2")


def parse(name):
    """`(family, number)` for a model name: the depth, or MobileNetV2's width multiplier."""
    for pattern, family in _PATTERNS:
        match = re.fullmatch(pattern, name)
        if match:
            value = match.group(1)
            if family == "mobilenet_v2":
                return family, float(value) if value else 1.0
            return family, int(value)
    raise ValueError(f"Unknown model {name!r}; expected names like {', '.join(EXAMPLES)}.")


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
        raise ValueError(f"Auxiliary classifiers are an option of cifar_se_resnet, not {name!r}.")
    if family in ("cifar_resnet", "preact_resnet"):
        return cifar_resnet(number, attention, preact=family == "preact_resnet", **common)
    if family == "resnet":
        return resnet(number, attention, **common)
    return mobilenet_v2(number, attention, dropout=dropout, **common)
