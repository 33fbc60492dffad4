"""`keras_attention.run_folder`, the flat layout's name of `keras_attention.io.run_folder`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.io.run_folder")
