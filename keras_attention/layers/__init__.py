"""Attention blocks as Keras layers, and the registry that names them."""

from keras_attention.layers import registry
from keras_attention.layers.auxiliary_classifier import AuxiliaryClassifier
from keras_attention.layers.base import AttentionBlock
from keras_attention.layers.batch_normalization import (
    BATCHNORM_KINDS,
    TorchBatchNormalization,
    batch_normalization,
)
from keras_attention.layers.cbam import CBAM
from keras_attention.layers.coordinate_attention import CoordinateAttention
from keras_attention.layers.eca import ECA
from keras_attention.layers.pooling import (
    POOLING_MODES,
    GlobalPooling,
    adaptive_average_pool,
    global_pool,
)
from keras_attention.layers.registry import get, names, register, resolve
from keras_attention.layers.result_context import ResultContext
from keras_attention.layers.sge import SGE
from keras_attention.layers.spem import SPEM
from keras_attention.layers.squash_spatial_attention import SquashSpatialAttention
from keras_attention.layers.squeeze_excitation import SqueezeExcitation
from keras_attention.layers.srm import SRM

__all__ = [
    "AttentionBlock",
    "AuxiliaryClassifier",
    "BATCHNORM_KINDS",
    "CBAM",
    "CoordinateAttention",
    "ECA",
    "GlobalPooling",
    "POOLING_MODES",
    "ResultContext",
    "SGE",
    "SPEM",
    "SRM",
    "SquashSpatialAttention",
    "TorchBatchNormalization",
    "SqueezeExcitation",
    "adaptive_average_pool",
    "batch_normalization",
    "get",
    "global_pool",
    "names",
    "register",
    "registry",
    "resolve",
]
