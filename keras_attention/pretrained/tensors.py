"""How a PyTorch tensor becomes a Keras variable (`Tensor`, `layer_tensors`: the layout rules in
`convert`'s docstring), how checkpoints are read (`read_state_dict`), and what a network's
layout is (`Layout`: its Keras model and, per PyTorch key, the variable it fills).
"""

import dataclasses
import os

import keras
import numpy as np

from keras_attention import catalog
from keras_attention.errors import ConfigError, DataError
from keras_attention.layers.spem import SPEM
from keras_attention.layers.squash_spatial_attention import SquashSpatialAttention

SPEM_WEIGHTS = ("w1", "b1", "w2", "b2")


class ConversionError(DataError):
    """The checkpoint does not fit the architecture: the message names the keys."""


# How a PyTorch tensor becomes a Keras variable: (to Keras, the PyTorch shape of a Keras shape).
_LAYOUTS = {
    "conv": (lambda w: w.transpose(2, 3, 1, 0), lambda s: (s[3], s[2], s[0], s[1])),
    "depthwise": (lambda w: w.transpose(2, 3, 0, 1), lambda s: (s[2], s[3], s[0], s[1])),
    "linear": (lambda w: w.T, lambda s: (s[1], s[0])),
    # A 1x1 Conv2d used as a fully connected layer (timm's and the SE code's SE blocks).
    "pointwise": (lambda w: w[:, :, 0, 0].T, lambda s: (s[1], s[0], 1, 1)),
    "conv1d": (lambda w: w.transpose(2, 1, 0), lambda s: (s[2], s[1], s[0])),
    # A Linear weight (O, I) in a 1x1 Conv2D kernel (timm's SimpleCoordAttn).
    "linear_1x1": (lambda w: w.T[None, None], lambda s: (s[3], s[2])),
    "vector": (lambda w: w, lambda s: tuple(s)),
    # A per-channel parameter stored as (1, C, 1, 1) to broadcast over NCHW maps (SPEM).
    "channel": (lambda w: w.reshape(-1), lambda s: (1, s[0], 1, 1)),
}


@dataclasses.dataclass
class Tensor:
    """One state-dict key and the Keras variable it fills."""

    key: str
    variable: object
    layout: str

    def torch_shape(self):
        return _LAYOUTS[self.layout][1](tuple(self.variable.shape))

    def fits(self, shape):
        return tuple(shape) == self.torch_shape()

    def value(self, array):
        return _LAYOUTS[self.layout][0](np.asarray(array))


SE_POINTWISE = ("fc1", "fc2", "pointwise")


def layer_tensors(layer, prefix, se=SE_POINTWISE, dense="linear"):
    """The `Tensor`s of one Keras layer under the PyTorch module name `prefix`.

    `se` names an SE block's two fully connected layers and their kind: timm's and the SE
    authors' code have 1x1 convolutions `fc1`, `fc2` ("pointwise"); pytorch-cifar100 has
    `Linear`s `0`, `2` ("linear").
    """
    if isinstance(layer, keras.layers.BatchNormalization):
        pairs = zip(("weight", "bias", "running_mean", "running_var"), layer.weights, strict=True)
        return [Tensor(f"{prefix}.{key}", variable, "vector") for key, variable in pairs]
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        found = [Tensor(f"{prefix}.weight", layer.kernel, "depthwise")]
    elif isinstance(layer, keras.layers.Conv2D):
        found = [Tensor(f"{prefix}.weight", layer.kernel, "conv")]
    elif isinstance(layer, keras.layers.Dense):
        found = [Tensor(f"{prefix}.weight", layer.kernel, dense)]
    elif isinstance(layer, SPEM):  # the parameters sit on the SPEM code's block itself
        found = [Tensor(f"{prefix}.{n}", getattr(layer, n), "channel") for n in SPEM_WEIGHTS]
        return [*found, Tensor(f"{prefix}.p", layer.pooling.mix_weights, "vector")]
    elif isinstance(layer, SquashSpatialAttention):
        return layer_tensors(layer.norm, f"{prefix}.bn")
    else:
        from keras_attention.pretrained.timm_blocks import block_tensors  # the blocks' timm layouts

        found = block_tensors(layer, prefix, se)
        if found is None:
            raise ConfigError(
                f"convert: no PyTorch layout for {type(layer).__name__} layer '{layer.name}'"
            )
        return found
    if getattr(layer, "use_bias", False):
        found.append(Tensor(f"{prefix}.bias", layer.bias, "vector"))
    return found


def read_state_dict(checkpoint):
    """`{key: numpy array}` from a file or a state dict in memory.

    A training checkpoint's dict (`{"state_dict": ...}`, `{"model": ...}`) is unwrapped, and
    the `module.` prefix `DataParallel` adds is removed.
    """
    if isinstance(checkpoint, (str, os.PathLike)):
        state = _read_file(os.fspath(checkpoint))
    elif isinstance(checkpoint, dict):
        state = checkpoint
    else:
        raise ConfigError(
            f"convert: checkpoint must be a file path or a state dict, got "
            f"{type(checkpoint).__name__}"
        )
    for wrapper in ("state_dict", "model", "state_dict_ema"):
        if isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    arrays = {}
    for key, value in state.items():
        if hasattr(value, "detach"):  # a torch.Tensor
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray):
            arrays[key] = value
    if arrays and all(key.startswith("module.") for key in arrays):
        arrays = {key.removeprefix("module."): value for key, value in arrays.items()}
    if not arrays:
        raise ConversionError(f"convert: {checkpoint!r} holds no tensors")
    return arrays


def _read_file(path):
    if not os.path.isfile(path):
        raise ConfigError(f"convert: no checkpoint file {path!r}")
    if path.endswith(".safetensors"):
        try:
            from safetensors.numpy import load_file
        except ImportError:
            raise ConfigError(
                "convert: reading .safetensors needs the safetensors package: pip install "
                "'keras-cnn-attention[convert]'"
            ) from None
        try:
            return load_file(path)
        except Exception as error:
            raise ConversionError(
                f"convert: {path} is damaged or not safetensors ({error})"
            ) from None
    try:
        import torch
    except ImportError:
        raise ConfigError(
            f"convert: reading {os.path.basename(path)} needs PyTorch (pip install torch); "
            ".safetensors files need only the safetensors package"
        ) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConversionError(
            f"convert: {path} is damaged or not a checkpoint ({message})"
        ) from None


@dataclasses.dataclass
class Layout:
    """A network built for a checkpoint and the PyTorch module names of its layers."""

    model: keras.Model
    modules: list  # (PyTorch module name, Keras layer) in state-dict order
    classifier: str  # the module name of the classifier
    ignored: tuple = ()  # key suffixes the code holds but never uses
    se: tuple = SE_POINTWISE  # an SE block's two layers (see `layer_tensors`)
    pointwise: tuple = ()  # Dense layers' module names that are 1x1 convolutions in the code


def classifier_name(family):
    """The PyTorch name of `family`'s classifier (`fc`, `classifier`, `head.fc`, ...)."""
    return catalog.ARCHITECTURE_CLASSIFIERS.get(family, "fc")


def head_classes(family, state):
    """The classes of the checkpoint's classifier, or None for a checkpoint without one."""
    weight = state.get(f"{classifier_name(family)}.weight")
    return None if weight is None else int(weight.shape[0])


def block_modules(layer, ours, theirs, convs, attention=None):
    """A post-activation block's convolutions, BatchNorms and block, in PyTorch's names."""
    modules = []
    for i in range(1, convs + 1):
        modules.append((f"{theirs}.conv{i}", layer(f"{ours}_conv{i}")))
        modules.append((f"{theirs}.bn{i}", layer(f"{ours}_bn{i}")))
    if attention is not None:
        modules.append((attention, layer(f"{ours}_attention")))
    return modules


def has_layer(model, name):
    """Whether `model` has a layer called `name`."""
    return any(layer.name == name for layer in model.layers)
