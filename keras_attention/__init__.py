"""keras_attention: CNN attention blocks (SE, SSA, SPEM, SE-R, CBAM, ECA, SRM, SGE, coordinate
attention) as Keras 3 layers, the papers' backbones, and tools to profile them."""

from keras_attention import layers, models
from keras_attention.profiling import Profile, profile

__version__ = "0.1.0"

__all__ = ["Profile", "layers", "models", "profile", "__version__"]
