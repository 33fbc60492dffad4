"""`keras_attention.visualize`, the flat layout's name of `keras_attention.explore.visualize`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.explore.visualize")
