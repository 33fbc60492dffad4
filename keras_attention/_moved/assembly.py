"""`keras_attention.assembly`, the flat layout's name of `keras_attention.training.assembly`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.training.assembly")
