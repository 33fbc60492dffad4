"""`keras_attention.quiet`, the flat layout's name of `keras_attention.io.quiet`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.io.quiet")
