"""`keras_attention.runs`, the flat layout's name of `keras_attention.export.runs`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.export.runs")
