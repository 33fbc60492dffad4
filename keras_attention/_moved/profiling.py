"""`keras_attention.profiling`, the flat layout's name of `keras_attention.explore.profiling`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.explore.profiling")
