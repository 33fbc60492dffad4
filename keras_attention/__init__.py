"""keras_attention: CNN attention blocks (SE, SSA, SPEM, SE-R, CBAM, ECA, SRM, SGE, coordinate
attention) as Keras 3 layers."""

from keras_attention import layers

__version__ = "0.1.0"

__all__ = ["layers", "__version__"]
