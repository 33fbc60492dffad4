"""`keras_attention.callbacks`, the flat layout's name of `keras_attention.training.callbacks`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.training.callbacks")
