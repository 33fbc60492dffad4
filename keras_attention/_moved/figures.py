"""`keras_attention.figures`, the flat layout's name of `keras_attention.explore.figures`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.explore.figures")
