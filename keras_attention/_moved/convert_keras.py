"""`keras_attention.convert_keras`: the flat layout's name of
`keras_attention.pretrained.keras_applications`.
"""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("keras_attention.pretrained.keras_applications")
