"""What exists, by name: the attention blocks, model families, data sets, hyperparameters,
export formats and checkpoint architectures, with one-line descriptions, and the parsing and
checking of those names.

Floor 0: imports nothing but the standard library and `keras_attention.errors`, so that the
command line lists what exists and refuses a bad name before a backend loads. Every other folder
reads its names from here.
"""

# ruff: noqa: F401 - the names below are this package's interface

from keras_attention.catalog.architectures import *  # noqa: F403
from keras_attention.catalog.blocks import *  # noqa: F403
from keras_attention.catalog.choices import suggest
from keras_attention.catalog.networks import *  # noqa: F403
from keras_attention.catalog.runs import *  # noqa: F403
