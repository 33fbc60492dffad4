"""Backbones of the papers with an `attention=` choice, and attention for existing models."""

from keras_attention.models.common import AttentionSpec
from keras_attention.models.resnet import cifar_resnet, resnet

__all__ = ["AttentionSpec", "cifar_resnet", "resnet"]
