"""`keras_attention.recipes`, the flat layout's name of `keras_attention.training.recipes`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.training.recipes")
