"""`keras_attention.presets`, the flat layout's name of `keras_attention.pretrained.presets`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.pretrained.presets")
