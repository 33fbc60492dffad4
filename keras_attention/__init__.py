"""keras_attention: CNN attention blocks (SE, SSA, SPEM, SE-R, CBAM, ECA, SRM, SGE, coordinate
attention) as Keras 3 layers, the papers' backbones, and tools to profile them.

The core (layers, models, profile, recipes, optimizers, schedules) needs only Keras and NumPy
and runs on every Keras backend. Training, search and export (`keras_attention.training`,
`.tuning`, `.export`, `.data`) use TensorFlow and are imported on first use.

Importing the package registers every object it writes into a `.keras` file (layers,
optimizers, schedules), so `keras.models.load_model` finds them after `import keras_attention`,
and, on the Keras versions that have the bug, corrects Keras' TensorFlow `add`
(`keras_attention.keras_fixes`). It changes nothing else in the process: no environment
variable, no logging level, no file descriptor.

The command line (`keras-attention`, `python -m keras_attention`, `train_keras.py`) is the one
exception to importing Keras at once: it answers `--help`, `--version`, `list` and every usage
error before a backend is loaded, and calls `register()` when a command needs Keras.
"""

import importlib
import os
import sys

__version__ = "0.2.0"

# Submodules, imported on first use (`keras_attention.training`, `from keras_attention import
# models`, ...).
_SUBMODULES = (
    "assembly",
    "callbacks",
    "catalog",
    "cli",
    "comparison",
    "config",
    "convert",
    "data",
    "distribution",
    "errors",
    "export",
    "figures",
    "keras_fixes",
    "layers",
    "models",
    "optimizers",
    "papers",
    "presets",
    "profiling",
    "quiet",
    "recipes",
    "run_folder",
    "runs",
    "schedules",
    "training",
    "tuning",
    "visualize",
)

__all__ = ["Profile", "profile", "register", "__version__", *_SUBMODULES]


def __getattr__(name):
    if name in ("Profile", "profile"):
        from keras_attention import profiling

        return getattr(profiling, name)
    if name == "load_run":
        from keras_attention.runs import load_run

        return load_run
    if name in _SUBMODULES:
        return importlib.import_module(f"keras_attention.{name}")
    raise AttributeError(f"module 'keras_attention' has no attribute {name!r}")


def register():
    """Imports the layers, models, optimizers and schedules (which registers them with Keras'
    serialization) and installs the `keras_fixes` correction where the installed Keras needs
    it. Runs once; `import keras_attention` calls it, except in the command line."""
    from keras_attention import keras_fixes, layers, models, optimizers, schedules  # noqa: F401

    keras_fixes.install()


def started_as_command_line():
    """Whether this process was started as the command line (the `keras-attention` script,
    `python -m keras_attention` or `train_keras.py`), which imports Keras only when a command
    needs it."""
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    if script in ("keras-attention", "keras-attention.exe", "train_keras.py"):
        return True
    argv = list(getattr(sys, "orig_argv", ()))
    return "-m" in argv and argv[argv.index("-m") + 1 : argv.index("-m") + 2] == ["keras_attention"]


if not started_as_command_line():
    register()
