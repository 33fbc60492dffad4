"""`keras_attention.schedules`, the flat layout's name of `keras_attention.training.schedules`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.training.schedules")
