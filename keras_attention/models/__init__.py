"""Backbones of the papers and the families where attention lives (ResNet, ResNeXt, MobileNetV2
and V3, EfficientNet, RegNetY), each with an `attention=` choice, and attention for existing
models (`attach_attention`, `replace_attention`, `pyramid_outputs`).

Floor 2: imports floors 0 and 1 (`catalog`, `layers`) and Keras only. Pretrained networks are
`keras_attention.pretrained`'s (`keras_attention.from_preset`).
"""

import importlib

from keras_attention.models.attach import attach_attention, replace_attention, residual_adds
from keras_attention.models.common import AttentionSpec
from keras_attention.models.efficientnet import efficientnet
from keras_attention.models.mobilenet_v2 import mobilenet_v2
from keras_attention.models.mobilenet_v3 import mobilenet_v3
from keras_attention.models.pyramid import feature_extractor, pyramid_outputs
from keras_attention.models.registry import build, parse
from keras_attention.models.regnet import regnet
from keras_attention.models.resnet import cifar_resnet, resnet, resnext
from keras_attention.models.se_resnet import (
    PAPER_AUX_LOSS_WEIGHTS,
    cifar_se_resnet,
    inference_model,
)

__all__ = [
    "AttentionSpec",
    "attach_attention",
    "build",
    "residual_adds",
    "PAPER_AUX_LOSS_WEIGHTS",
    "cifar_resnet",
    "cifar_se_resnet",
    "efficientnet",
    "feature_extractor",
    "inference_model",
    "mobilenet_v2",
    "mobilenet_v3",
    "parse",
    "pyramid_outputs",
    "regnet",
    "replace_attention",
    "resnet",
    "resnext",
]


def __getattr__(name):
    """`models.from_preset`: `keras_attention.from_preset`, looked up on first use."""
    # `models.from_preset` was this package's name before `pretrained/` held it; it is looked
    # up on use, so that `models` imports nothing of the floors above it.
    if name == "from_preset":
        return importlib.import_module("keras_attention.pretrained.presets").from_preset
    raise AttributeError(f"module 'keras_attention.models' has no attribute {name!r}")
