"""`keras_attention.progress`, the flat layout's name of `keras_attention.io.progress`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.io.progress")
