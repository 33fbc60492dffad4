"""keras_attention: CNN attention blocks (SE, SSA, SPEM, SE-R, CBAM, ECA, SRM, SGE, coordinate
attention and more) as Keras 3 layers, the papers' backbones and the families where attention
lives, pretrained networks, and TensorFlow training, search and export.

The package is laid out in floors; a folder imports only from its own floor and the ones below
(`tests/test_layout.py` reads every import and checks it):

| floor | what | needs |
| --- | --- | --- |
| 0 | `errors.py`; `catalog/`: what exists, by name; `io/`: run folder, progress, logs | Python |
| 1 | `layers/`: the attention blocks; `keras_fixes.py` | Keras, NumPy |
| 2 | `models/`: the factories, `attach_attention` | Keras, NumPy |
| 3 | `pretrained/`: checkpoints, presets; `explore/`: profile, maps, figures | Keras, NumPy |
| 4 | `formats/`: `.keras`, SavedModel, TFLite, ONNX files of a model, checked | TensorFlow |
| 5 | `training/`: the run description, recipes, data, the loop, search, tables | TensorFlow |
| 6 | `export/`: a trained run exported (`export_run`) and used (`load_run`) | TensorFlow |
| 7 | `cli/`: the command line, one module per command | TensorFlow when a command needs it |

Floors 0 to 3 run on every Keras backend (torch, safetensors and matplotlib are imported where
they are used). This module is the front door: `__version__`,
`register`, `load_run`, `profile`, `from_preset`, and the module names of the flat layout this
package had before (`keras_attention.config`, `.data`, `.convert`, `.runs`, ...; see `MOVED`),
which still import, as attributes and in `import` statements, and are the same module objects
as their new homes.

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

# The flat layout's module names, and where each module lives now. `keras_attention.NAME` and
# `import keras_attention.NAME` both give the module itself: the second through the small
# modules of `_moved/` (a folder on this package's `__path__`, nowhere else), each of which puts
# the new module in its place.
MOVED = {
    "assembly": "keras_attention.training.assembly",
    "callbacks": "keras_attention.training.callbacks",
    "comparison": "keras_attention.training.comparison",
    "config": "keras_attention.training.config",
    "convert": "keras_attention.pretrained.convert",
    "convert_blocks": "keras_attention.pretrained.timm_blocks",
    "convert_keras": "keras_attention.pretrained.keras_applications",
    "data": "keras_attention.training.data",
    "distribution": "keras_attention.training.distribution",
    "figures": "keras_attention.explore.figures",
    "optimizers": "keras_attention.training.optimizers",
    "papers": "keras_attention.training.papers",
    "presets": "keras_attention.pretrained.presets",
    "profiling": "keras_attention.explore.profiling",
    "progress": "keras_attention.io.progress",
    "quiet": "keras_attention.io.quiet",
    "recipes": "keras_attention.training.recipes",
    "run_folder": "keras_attention.io.run_folder",
    "runs": "keras_attention.export.runs",
    "schedules": "keras_attention.training.schedules",
    "tuning": "keras_attention.training.tuning",
    "visualize": "keras_attention.explore.visualize",
}

# The folders and the modules that stay at the top.
_SUBMODULES = (
    "catalog",
    "cli",
    "errors",
    "explore",
    "export",
    "keras_fixes",
    "layers",
    "models",
    "pretrained",
    "training",
)

__path__.append(os.path.join(os.path.dirname(__file__), "_moved"))

__all__ = [
    "Profile",
    "from_preset",
    "load_run",
    "profile",
    "register",
    "__version__",
    *_SUBMODULES,
    *MOVED,
]


def __getattr__(name):
    if name in ("Profile", "profile"):
        from keras_attention.explore import profiling

        return getattr(profiling, name)
    if name == "load_run":
        from keras_attention.export.runs import load_run

        return load_run
    if name == "from_preset":
        from keras_attention.pretrained.presets import from_preset

        return from_preset
    if name in _SUBMODULES or name in MOVED:
        return importlib.import_module(f"keras_attention.{name}")
    raise AttributeError(f"module 'keras_attention' has no attribute {name!r}")


def register():
    """Imports the layers, models, optimizers and schedules (which registers them with Keras'
    serialization) and installs the `keras_fixes` correction where the installed Keras needs
    it. Runs once; `import keras_attention` calls it, except in the command line."""
    from keras_attention import keras_fixes, layers, models  # noqa: F401
    from keras_attention.training import optimizers, schedules  # noqa: F401

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
