"""Pretrained networks: PyTorch checkpoints (timm's, torchvision's, the papers' authors') and
`keras.applications` models converted exactly into this package's networks (`convert`, one
module per checkpoint layout), and the named presets that fetch and convert them (`presets`).

Floor 3: imports floors 0 to 2 (`catalog`, `layers`, `models`); torch, safetensors and
huggingface_hub only when a checkpoint is read.
"""

# ruff: noqa: F401 - the names below are this package's interface

from keras_attention.pretrained.presets import from_preset
