"""keras_attention: CNN attention blocks (SE, SSA, SPEM, SE-R, CBAM, ECA, SRM, SGE, coordinate
attention) as Keras 3 layers, the papers' backbones, and tools to profile them.

The core (layers, models, profile, recipes, optimizers, schedules) needs only Keras and NumPy
and runs on every Keras backend. Training, search and export (`keras_attention.training`,
`.tuning`, `.export`, `.data`) use TensorFlow and are imported on first use.
"""

import importlib
import os
import sys

from keras_attention import quiet

if (
    os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow"
    and "tensorflow" not in sys.modules
):
    # TensorFlow's C++ libraries print start-up lines while they load (not errors; errors are
    # raised as usual). KERAS_ATTENTION_VERBOSE=1 keeps them.
    with quiet.silenced_stderr():
        import keras  # noqa: F401

# Importing these registers every object the package writes into a `.keras` file (layers,
# optimizers, schedules), so `keras.models.load_model` finds them after `import keras_attention`.
from keras_attention import (
    catalog,
    keras_fixes,
    layers,
    models,
    optimizers,
    papers,
    recipes,
    schedules,
)
from keras_attention.profiling import Profile, profile

keras_fixes.install()  # Keras adds a channels_first bias along the wrong axis on TensorFlow

__version__ = "0.2.0"

# Submodules that need TensorFlow (or matplotlib), loaded when first used.
_LAZY = ("cli", "comparison", "data", "export", "training", "tuning", "visualize")

__all__ = [
    "Profile",
    "catalog",
    "layers",
    "models",
    "optimizers",
    "papers",
    "profile",
    "recipes",
    "schedules",
    "__version__",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"keras_attention.{name}")
    raise AttributeError(f"module 'keras_attention' has no attribute {name!r}")
