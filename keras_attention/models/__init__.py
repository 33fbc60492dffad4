"""Backbones of the papers with an `attention=` choice, and attention for existing models."""

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
from keras_attention.presets import from_preset

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
    "from_preset",
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
