"""`keras_attention.convert_blocks`: the flat layout's name of
`keras_attention.pretrained.timm_blocks`.
"""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.pretrained.timm_blocks")
