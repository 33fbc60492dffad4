"""The attention blocks as Keras layers (one class per file), the pooling, excitation and
normalisation code they share, and the registry that names them (`registry`).

Floor 1: imports floor 0 (`catalog`, `errors`), Keras and NumPy only, and computes with
`keras.ops`, so every block runs on every Keras backend.
"""

from keras_attention.layers import registry
from keras_attention.layers.auxiliary_classifier import AuxiliaryClassifier
from keras_attention.layers.bam import BAM
from keras_attention.layers.base import AttentionBlock
from keras_attention.layers.batch_normalization import (
    BATCHNORM_KINDS,
    TorchBatchNormalization,
    batch_normalization,
)
from keras_attention.layers.cbam import CBAM
from keras_attention.layers.coordinate_attention import CoordinateAttention
from keras_attention.layers.eca import ECA, ECAMLP, CircularECA
from keras_attention.layers.effective_se import EffectiveSE
from keras_attention.layers.efficient_local_attention import EfficientLocalAttention
from keras_attention.layers.fcanet import FcaNet
from keras_attention.layers.gather_excite import GatherExcite
from keras_attention.layers.global_context import GlobalContext, GlobalContextAdd
from keras_attention.layers.light_cbam import LightCBAM
from keras_attention.layers.pooling import (
    POOLING_MODES,
    GlobalPooling,
    adaptive_average_pool,
    global_pool,
)
from keras_attention.layers.registry import get, names, register, resolve
from keras_attention.layers.result_context import ResultContext
from keras_attention.layers.sge import SGE
from keras_attention.layers.simam import SimAM
from keras_attention.layers.simple_coordinate_attention import SimpleCoordinateAttention
from keras_attention.layers.spem import SPEM
from keras_attention.layers.squash_spatial_attention import SquashSpatialAttention
from keras_attention.layers.squeeze_excitation import SqueezeExcitation
from keras_attention.layers.srm import SRM
from keras_attention.layers.strip_attention import StripAttention
from keras_attention.layers.triplet_attention import TripletAttention

__all__ = [
    "AttentionBlock",
    "AuxiliaryClassifier",
    "BAM",
    "BATCHNORM_KINDS",
    "CBAM",
    "CircularECA",
    "CoordinateAttention",
    "ECA",
    "ECAMLP",
    "EffectiveSE",
    "EfficientLocalAttention",
    "FcaNet",
    "GatherExcite",
    "GlobalContext",
    "GlobalContextAdd",
    "LightCBAM",
    "SimAM",
    "SimpleCoordinateAttention",
    "StripAttention",
    "TripletAttention",
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
