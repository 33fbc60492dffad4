"""PyTorch checkpoints into this package's networks, exactly.

`from_torch(arch, checkpoint)` builds the network `arch` names (`keras-attention list archs`)
with this package's factories, laid out as the checkpoint's code lays it out (padding, strides,
stems, shortcuts, BatchNorm epsilon, the blocks' hidden widths and kernel sizes), and copies
every tensor of the state dict into it. A key the network lacks, a key the checkpoint lacks and
a tensor of another shape are errors that name the key; nothing is approximated.

Checkpoints are `.pth`/`.pt`/`.bin` files (read with `torch.load(weights_only=True)`),
`.safetensors` files (read with the `safetensors` package and NumPy, no PyTorch), or a state
dict already in memory (tensors or arrays by key).

Layout rules (PyTorch -> Keras): a Conv2d weight `(O, I, kh, kw)` becomes `(kh, kw, I, O)`; a
depthwise one `(C, 1, kh, kw)` becomes `(kh, kw, C, 1)`; a Linear weight is transposed (a 1x1
Conv2d used as a fully connected layer, as in timm's SE, is too); a Conv1d weight `(O, I, k)`
becomes `(k, I, O)`; BatchNorm's weight, bias, running mean and variance become gamma, beta,
moving mean and variance (`num_batches_tracked` has no counterpart and is not read).
"""

from keras_attention import catalog
from keras_attention.errors import ConfigError
from keras_attention.models.common import check_classes
from keras_attention.pretrained.mobile_layouts import (
    efficientnet_layout,
    mobilenet_layout,
    mobilenet_v3_layout,
    regnet_layout,
)
from keras_attention.pretrained.resnet_layouts import (
    byobnet_layout,
    resnet_layout,
    se_r_layout,
    spem_layout,
    ssa_layout,
)
from keras_attention.pretrained.tensors import (  # noqa: F401 - ConversionError and
    ConversionError,  # read_state_dict are part of this module's interface
    head_classes,
    layer_tensors,
    read_state_dict,
)

_LAYOUT_BUILDERS = {
    "torchvision:resnet": resnet_layout,
    "timm:resnet": resnet_layout,
    "timm:legacy_seresnet": resnet_layout,
    "timm:resnext": resnet_layout,
    "timm:legacy_seresnext": resnet_layout,
    "timm:efficientnet": efficientnet_layout,
    "timm:mobilenetv3": mobilenet_v3_layout,
    "timm:regnety": regnet_layout,
    "timm:byobnet": byobnet_layout,
    "torchvision:mobilenet_v2": mobilenet_layout,
    "spem:resnet": spem_layout,
    "ssa:resnet": ssa_layout,
    "se_r:seresnet": se_r_layout,
}


CIFAR_FAMILIES = ("spem:resnet", "se_r:seresnet")


def default_input_shape(arch):
    """The input the architecture was trained at: 32x32 for the CIFAR codes, 224x224 else."""
    family, _ = _parse(arch)
    return (32, 32, 3) if family in CIFAR_FAMILIES else (224, 224, 3)


# Layouts whose blocks timm builds with `block_args=dict(attn_layer=NAME)` (`attention=`).
ATTENTION_LAYOUTS = ("timm:resnet", "timm:resnext")


def layout(arch, num_classes=1000, input_shape=None, state=None, attention=None):
    """The network for `arch` (not yet loaded) and its PyTorch module names; `attention`
    names the block of a timm ResNet or ResNeXt built with `attn_layer=` (its module `se`)."""
    family, groups = _parse(arch)
    if attention is not None:
        if family not in ATTENTION_LAYOUTS or groups[0]:
            raise ConfigError(
                f"attention: only timm's plain ResNets and ResNeXts take a block by name "
                f"(timm:resnet26t --attention cbam); {arch} has its own"
            )
        groups = (_timm_block(attention), *groups[1:])
    shape = tuple(input_shape or default_input_shape(arch))
    return _LAYOUT_BUILDERS[family](family, groups, num_classes, shape, state or {})


def _timm_block(name):
    from keras_attention.pretrained.timm_blocks import TIMM_ATTENTION

    if name not in TIMM_ATTENTION:
        raise ConfigError(
            f"attention: {name!r} has no timm counterpart{catalog.suggest(name, TIMM_ATTENTION)}"
            f"; timm's ResNets take {', '.join(TIMM_ATTENTION)}"
        )
    return name


def expected_state_dict(arch, num_classes=1000, input_shape=None, attention=None):
    """`{key: PyTorch shape}` of the state dict `arch`'s checkpoints hold (BatchNorm's
    `num_batches_tracked` and code the network never runs aside)."""
    found = layout(arch, num_classes, input_shape, attention=attention)
    return {t.key: t.torch_shape() for t in _tensors(found)}


def _parse(arch):
    try:
        return catalog.parse_architecture(arch)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _tensors(found):
    return [
        t
        for name, layer in found.modules
        for t in layer_tensors(
            layer, name, found.se, "pointwise" if name in found.pointwise else "linear"
        )
    ]


def _listing(keys, limit=8):
    keys = sorted(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_state_dict(found, state, arch, skip=()):
    """Copies `state` into `found.model`, every key checked first; `skip` are module names
    whose tensors are left as initialised (a classifier being replaced)."""
    tensors = [t for t in _tensors(found) if not t.key.startswith(tuple(f"{s}." for s in skip))]
    wanted = {t.key for t in tensors}
    skipped = {k for k in state if k.startswith(tuple(f"{s}." for s in skip))}
    missing = wanted - set(state)
    unexpected = {
        key
        for key in set(state) - wanted - skipped
        if not key.endswith(("num_batches_tracked", *found.ignored))
    }
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s) the network needs: {_listing(missing)}")
        if unexpected:
            parts.append(
                f"{len(unexpected)} unexpected key(s) the network does not have: "
                f"{_listing(unexpected)}"
            )
        raise ConversionError(f"convert {arch}: the checkpoint does not fit; {'; '.join(parts)}")
    for t in tensors:
        shape = tuple(state[t.key].shape)
        if not t.fits(shape):
            raise ConversionError(
                f"convert {arch}: {t.key} has shape {shape}; the network expects {t.torch_shape()}"
            )
    for t in tensors:
        t.variable.assign(t.value(state[t.key]).astype(t.variable.dtype))
    return found.model


def from_torch(arch, checkpoint, num_classes=None, input_shape=None, log=None, attention=None):
    """A Keras model with the weights of a PyTorch checkpoint.

    Args:
        arch: the checkpoint's architecture, such as `"timm:seresnet50"`,
            `"torchvision:resnet50"` or `"timm:legacy_seresnet50"` (`keras-attention list
            archs`).
        checkpoint: a `.pth`/`.pt`/`.bin` file (needs PyTorch), a `.safetensors` file (needs
            the `safetensors` package, not PyTorch), or a state dict of tensors or arrays.
        num_classes: the classifier's classes; None: the checkpoint's. Another number than the
            checkpoint's leaves the classifier newly initialised (fine-tuning).
        input_shape: the input shape without batch; spatial sizes may be None. Default:
            the architecture's (`default_input_shape`).
        log: optional callable for progress lines.
        attention: the block of a timm ResNet or ResNeXt built with
            `block_args=dict(attn_layer=NAME)` (`"cbam"`, `"gc"`, ...; see
            `convert_blocks.TIMM_ATTENTION`).

    Returns:
        A functional Keras model: it gives the PyTorch network's logits (eval mode) on the
        same input in NHWC layout, and trains, fine-tunes, takes `attach_attention` and
        exports like any factory model.

    Example:

    >>> model = from_torch("timm:seresnet50", "seresnet50.safetensors")
    >>> model = from_torch("torchvision:resnet18", torch_model.state_dict(), num_classes=10)
    """
    family, groups = _parse(arch)
    state = read_state_dict(checkpoint)
    found_classes = head_classes(family, state)
    # Without a classifier in the checkpoint (a backbone's), `num_classes` gives a new one;
    # without either, the key check below names what is missing.
    classes = num_classes or found_classes or 1000
    found = layout(arch, check_classes(f"convert {arch}", classes), input_shape, state, attention)
    skip = ()
    if num_classes is not None and found_classes != num_classes:
        skip = (found.classifier,)
        if log:
            log(
                f"convert: the checkpoint's classifier has {found_classes or 'no'} classes; a "
                f"new one of {num_classes} is left initialised"
            )
    model = load_state_dict(found, state, arch, skip)
    # What fine-tuning starts from: the layers left initialised (a new classifier).
    model.new_layers = [layer.name for name, layer in found.modules if name in skip]
    if log:
        log(f"convert: {arch}: {len(state)} tensors into {model.name}")
    return model


def from_keras(model, arch=None, alpha=None):
    """This package's network with the weights of a `keras.applications` EfficientNet or
    MobileNetV3 (see `keras_attention.convert_keras.from_keras`)."""
    from keras_attention.pretrained.keras_applications import from_keras as convert

    return convert(model, arch=arch, alpha=alpha)


def from_keras_file(path, arch, log=None):
    """`from_keras` of a `.keras` or `.h5` file (a keras.applications model or its weights)."""
    from keras_attention.pretrained.keras_applications import from_keras_file as convert

    return convert(path, arch, log=log)
