"""The `keras-attention` command line: one module per command (`train`, `tune`, `export`,
`predict`, `evaluate`, `compare`, `reproduce`, `convert`, `listing`, `profile`), the option types
they share (`options`) and the entry point (`startup.main`).

Floor 7, the top: imports any floor below, and imports Keras and TensorFlow only inside a
command that needs them, so `--help`, `--version`, `list` and every usage error are answered
before a backend loads. Reachable as the console script `keras-attention`, as
`python -m keras_attention` and through the repository's `train_keras.py`.
"""

# ruff: noqa: F401 - the names below are this package's interface

from keras_attention.cli.startup import main
