"""The TensorFlow workflow: a run's description (`config`), the papers' recipes (`recipes`,
`optimizers`, `schedules`), the data (`data`), the loop
(`loop`, with `callbacks`, `assembly`, `distribution`), search (`tuning`), block comparisons
(`comparison`) and the papers' tables (`papers`).

Floor 5: imports floors 0 to 4 (`catalog`, `io`, `layers`, `models`, `pretrained`,
`explore`, `formats`), never `export` or `cli`. `keras_attention.training.train` and the
loop's other functions are `keras_attention.training.loop`'s, imported on first use so that
`register()` can import the optimizers and schedules without loading TensorFlow.
"""

import importlib

# The names of the flat layout's `keras_attention.training` module, now `training.loop`.
LOOP_NAMES = (
    "train",
    "seed_everything",
    "finished_run",
    "describe",
    "plot_history",
    # the loop module's interface, defined by `assembly` and `config`
    "TrainConfig",
    "build_compiled",
    "check_configuration",
    "compile_model",
    "effective_values",
    "make_pipelines",
    "monitor",
    "output_names",
    "recorded_values",
    "resolve",
)


def __getattr__(name):
    """`training.train` and the loop's other names (`LOOP_NAMES`), imported on first use."""
    if name in LOOP_NAMES:
        return getattr(importlib.import_module("keras_attention.training.loop"), name)
    raise AttributeError(f"module 'keras_attention.training' has no attribute {name!r}")
