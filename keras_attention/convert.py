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

import dataclasses
import os

import keras
import numpy as np

from keras_attention import catalog
from keras_attention.errors import ConfigError, DataError
from keras_attention.layers.spem import SPEM
from keras_attention.layers.squash_spatial_attention import SquashSpatialAttention
from keras_attention.models.common import check_classes
from keras_attention.models.efficientnet import efficientnet
from keras_attention.models.mobilenet_v2 import INVERTED_RESIDUAL_SETTINGS, mobilenet_v2
from keras_attention.models.mobilenet_v3 import mobilenet_v3
from keras_attention.models.regnet import regnet
from keras_attention.models.resnet import DEPTHS as RESNET_DEPTHS
from keras_attention.models.resnet import cifar_resnet, resnet
from keras_attention.models.se_resnet import cifar_se_resnet

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
        from keras_attention.convert_blocks import block_tensors  # the blocks' timm layouts

        found = block_tensors(layer, prefix, se)
        if found is None:
            raise ConfigError(
                f"convert: no PyTorch layout for {type(layer).__name__} layer '{layer.name}'"
            )
        return found
    if getattr(layer, "use_bias", False):
        found.append(Tensor(f"{prefix}.bias", layer.bias, "vector"))
    return found


# --- reading checkpoints -------------------------------------------------------------------------


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


# --- the architectures ---------------------------------------------------------------------------


@dataclasses.dataclass
class Layout:
    """A network built for a checkpoint and the PyTorch module names of its layers."""

    model: keras.Model
    modules: list  # (PyTorch module name, Keras layer) in state-dict order
    classifier: str  # the module name of the classifier
    ignored: tuple = ()  # key suffixes the code holds but never uses
    se: tuple = SE_POINTWISE  # an SE block's two layers (see `layer_tensors`)
    pointwise: tuple = ()  # Dense layers' module names that are 1x1 convolutions in the code


def _classifier(family):
    return catalog.ARCHITECTURE_CLASSIFIERS.get(family, "fc")


def _head_classes(family, state):
    weight = state.get(f"{_classifier(family)}.weight")
    return None if weight is None else int(weight.shape[0])


def _block_modules(layer, ours, theirs, convs, attention=None):
    """A post-activation block's convolutions, BatchNorms and block, in PyTorch's names."""
    modules = []
    for i in range(1, convs + 1):
        modules.append((f"{theirs}.conv{i}", layer(f"{ours}_conv{i}")))
        modules.append((f"{theirs}.bn{i}", layer(f"{ours}_bn{i}")))
    if attention is not None:
        modules.append((attention, layer(f"{ours}_attention")))
    return modules


def _has(model, name):
    return any(layer.name == name for layer in model.layers)


def _resnet_layout(family, groups, num_classes, input_shape, state):
    """torchvision's, timm's and the SE authors' (legacy) ImageNet ResNets and ResNeXts."""
    legacy = family.startswith("timm:legacy_")
    grouped = {}
    if family == "timm:legacy_seresnext":
        block, depth, variant = "se", int(groups[0]), None
        grouped = dict(cardinality=int(groups[1]), width_per_group=int(groups[2]))
    elif legacy:
        block, depth, variant = "se", int(groups[0]), None
    elif family == "torchvision:resnet":
        block, depth, variant = None, int(groups[0]), None
    else:
        block, depth, variant = groups[0], int(groups[1]), groups[2]
        if family == "timm:resnext":
            grouped = dict(cardinality=int(groups[3]), width_per_group=int(groups[4]))
    # The SE authors' SE-ResNet strides a bottleneck's first 1x1; their SE-ResNeXt its 3x3.
    options = dict(stride_on="1x1" if family == "timm:legacy_seresnet" else "3x3", **grouped)
    if variant:
        options.update(stem="deep" if variant == "d" else "deep_tiered", avg_down=True)
    if legacy:
        options.update(stem_pool="ceil")
    kwargs = None
    if block and not legacy:  # the arguments that make our block timm's (SE: C/16 to 8s)
        from keras_attention.convert_blocks import TIMM_ATTENTION

        kwargs = TIMM_ATTENTION[block][1]
    model = resnet(
        depth,
        attention=block,
        num_classes=num_classes,
        input_shape=input_shape,
        attention_kwargs=kwargs,
        **options,
    )
    layer = model.get_layer
    modules = []
    if variant:
        for index, name in ((0, "stem_conv1"), (1, "stem_bn1"), (3, "stem_conv2")):
            modules.append((f"conv1.{index}", layer(name)))
        modules += [("conv1.4", layer("stem_bn2")), ("conv1.6", layer("stem_conv"))]
        modules.append(("bn1", layer("stem_bn")))
    else:
        stem = "layer0." if legacy else ""
        modules += [(f"{stem}conv1", layer("stem_conv")), (f"{stem}bn1", layer("stem_bn"))]
    modules += _resnet_stages(model, depth, "se_module" if legacy else "se" if block else None)
    if variant:  # downsample.0 is the average pool (or Identity): no tensors
        modules = [(n.replace(".downsample.1", ".downsample.2"), m) for n, m in modules]
        modules = [(n.replace(".downsample.0", ".downsample.1"), m) for n, m in modules]
    classifier = _classifier(family)
    modules.append((classifier, layer("predictions")))
    return Layout(model, modules, classifier)


def _resnet_stages(model, depth, attention, counts=None):
    """`layerS.B.{convI,bnI}`, `layerS.B.ATTENTION` and `layerS.B.downsample.{0,1}`."""
    block, counts = RESNET_DEPTHS[depth] if counts is None else counts
    convs = 3 if block == "bottleneck" else 2
    modules = []
    for stage, count in enumerate(counts, start=1):
        for index in range(count):
            ours, theirs = f"stage{stage}_block{index + 1}", f"layer{stage}.{index}"
            where = None if attention is None else f"{theirs}.{attention}".rstrip(".")
            modules += _block_modules(model.get_layer, ours, theirs, convs, where)
            if _has(model, f"{ours}_down"):
                modules.append((f"{theirs}.downsample.0", model.get_layer(f"{ours}_down")))
                modules.append((f"{theirs}.downsample.1", model.get_layer(f"{ours}_down_bn")))
    return modules


# timm's ByobNet ResNets (timm/models/byobnet.py model_cfgs): depth, block, `resnet` options.
# All have the tiered deep stem (24, 32, 64) and the block after the 3x3 convolution; the
# "ts" ones pool in the stem, group their 3x3 in 32s and use SiLU.
_TS = dict(group_width=32, activation="silu")
TIMM_BYOBNET = {
    "gcresnet50t": (50, "gca", dict(stem_pool=None)),
    "gcresnext50ts": (50, "gca", _TS),
    "resnext26ts": (26, None, _TS),
    "seresnext26ts": (26, "se", _TS),
    "eca_resnext26ts": (26, "eca", _TS),
    "gcresnext26ts": (26, "gca", _TS),
}


def _byobnet_layout(family, groups, num_classes, input_shape, state):
    """timm's ByobNet ResNets: `stem.convI.{conv,bn}`, `stages.S.B.{conv1_1x1, conv2_kxk,
    conv3_1x1, shortcut}.{conv,bn}`, the block `stages.S.B.attn`, `head.fc`."""
    from keras_attention.convert_blocks import TIMM_ATTENTION

    depth, block, options = TIMM_BYOBNET[groups[0]]
    model = resnet(
        depth,
        attention=block,
        num_classes=num_classes,
        input_shape=input_shape,
        attention_kwargs=TIMM_ATTENTION[block][1] if block else None,
        stem="deep_tiered",
        stride_on="3x3",
        attention_at="3x3",
        **options,
    )
    layer = model.get_layer
    modules = []
    for i, ours in enumerate(("stem_conv1", "stem_conv2", "stem_conv"), start=1):
        modules.append((f"stem.conv{i}.conv", layer(ours)))
        modules.append((f"stem.conv{i}.bn", layer(ours.replace("conv", "bn"))))
    names = {1: "conv1_1x1", 2: "conv2_kxk", 3: "conv3_1x1"}
    for stage, count in enumerate(RESNET_DEPTHS[depth][1], start=1):
        for index in range(count):
            ours, theirs = f"stage{stage}_block{index + 1}", f"stages.{stage - 1}.{index}"
            for i, name in names.items():
                modules.append((f"{theirs}.{name}.conv", layer(f"{ours}_conv{i}")))
                modules.append((f"{theirs}.{name}.bn", layer(f"{ours}_bn{i}")))
            if block:
                modules.append((f"{theirs}.attn", layer(f"{ours}_attention")))
            if _has(model, f"{ours}_down"):
                modules.append((f"{theirs}.shortcut.conv", layer(f"{ours}_down")))
                modules.append((f"{theirs}.shortcut.bn", layer(f"{ours}_down_bn")))
    modules.append(("head.fc", layer("predictions")))
    return Layout(model, modules, "head.fc")


def _spem_layout(family, groups, num_classes, input_shape, state):
    """The SPEM code's CIFAR ResNet (models/spem.py): SPEM's parameters on the block."""
    depth = int(groups[0])
    model = cifar_resnet(depth, "spem", num_classes, block="bottleneck", input_shape=input_shape)
    n = catalog.check_cifar_depth(depth, "bottleneck")
    layer = model.get_layer
    modules = [("conv1", layer("stem_conv")), ("bn1", layer("stem_bn"))]
    modules += _resnet_stages(model, depth, "", counts=("bottleneck", (n, n, n)))
    modules.append(("fc", layer("predictions")))
    return Layout(model, modules, "fc")


def _ssa_layout(family, groups, num_classes, input_shape, state):
    """The SSA code's SSA-ResNet (official_SSANet.py): torchvision's layout, `Salient` after
    bn3; its `Salient.conv`, which `forward` never uses, is not read."""
    depth = int(groups[0])
    model = resnet(depth, "ssa", num_classes, input_shape=input_shape, stride_on="3x3")
    layer = model.get_layer
    modules = [("conv1", layer("stem_conv")), ("bn1", layer("stem_bn"))]
    modules += _resnet_stages(model, depth, "Salient")
    modules.append(("fc", layer("predictions")))
    return Layout(model, modules, "fc", ignored=(".Salient.conv.weight",))


def _se_r_layout(family, groups, num_classes, input_shape, state):
    """pytorch-cifar100's SE-ResNet (models/senet.py), which the SE-R code builds on:
    `pre`, `stageS.B.residual.*`, `excitation.{0,2}`, `shortcut.{0,1}`, `linear`."""
    depth = int(groups[0])
    block, counts = catalog.IMAGENET_BLOCKS[depth]
    excitation = state.get("stage1.0.excitation.0.weight")
    reduction = 16  # the code's default
    if excitation is not None and excitation.shape[0]:
        reduction = max(1, int(excitation.shape[1]) // int(excitation.shape[0]))
    model = cifar_se_resnet(
        depth, "se", reduction, num_classes=num_classes, input_shape=input_shape
    )
    layer = model.get_layer
    modules = [("pre.0", layer("stem_conv")), ("pre.1", layer("stem_bn"))]
    convs = 3 if block == "bottleneck" else 2
    for stage, count in enumerate(counts, start=1):
        for index in range(count):
            ours, theirs = f"stage{stage}_block{index + 1}", f"stage{stage}.{index}"
            for i in range(convs):  # residual: conv, BN, ReLU per convolution
                modules.append((f"{theirs}.residual.{3 * i}", layer(f"{ours}_conv{i + 1}")))
                modules.append((f"{theirs}.residual.{3 * i + 1}", layer(f"{ours}_bn{i + 1}")))
            modules.append((f"{theirs}.excitation", layer(f"{ours}_attention")))
            if _has(model, f"{ours}_down"):
                modules.append((f"{theirs}.shortcut.0", layer(f"{ours}_down")))
                modules.append((f"{theirs}.shortcut.1", layer(f"{ours}_down_bn")))
    modules.append(("linear", layer("main")))
    return Layout(model, modules, "linear", se=("0", "2", "linear"))


def _mobilenet_layout(family, groups, num_classes, input_shape, state):
    """torchvision's MobileNetV2: `features.0` stem, `features.1-17` blocks, `features.18`."""
    model = mobilenet_v2(num_classes=num_classes, input_shape=input_shape, layout="torch")
    layer = model.get_layer
    modules = [("features.0.0", layer("stem_conv")), ("features.0.1", layer("stem_bn"))]
    block = 0
    for expansion, _, repeats, _ in INVERTED_RESIDUAL_SETTINGS:
        for _ in range(repeats):
            theirs, ours = f"features.{block + 1}.conv", f"block{block}"
            convs = [] if expansion == 1 else [("0.0", "expand"), ("0.1", "expand_bn")]
            first = 0 if expansion == 1 else 1
            convs += [(f"{first}.0", "depthwise"), (f"{first}.1", "depthwise_bn")]
            convs += [(f"{first + 1}", "project"), (f"{first + 2}", "project_bn")]
            modules += [(f"{theirs}.{index}", layer(f"{ours}_{name}")) for index, name in convs]
            block += 1
    modules += [("features.18.0", layer("head_conv")), ("features.18.1", layer("head_bn"))]
    modules.append(("classifier.1", layer("predictions")))
    return Layout(model, modules, "classifier.1")


# timm's MBConv blocks (_efficientnet_blocks.py): module names -> our layer suffixes.
_DEPTHWISE_SEPARABLE = (
    ("conv_dw", "depthwise"),
    ("bn1", "depthwise_bn"),
    ("se", "attention"),
    ("conv_pw", "project"),
    ("bn2", "project_bn"),
)
_INVERTED_RESIDUAL = (
    ("conv_pw", "expand"),
    ("bn1", "expand_bn"),
    ("conv_dw", "depthwise"),
    ("bn2", "depthwise_bn"),
    ("se", "attention"),
    ("conv_pwl", "project"),
    ("bn3", "project_bn"),
)
_TIMM_SE = ("conv_reduce", "conv_expand", "pointwise")


def _mbconv_modules(model, ours, theirs):
    """One of timm's MBConv blocks: a DepthwiseSeparableConv where ours has no expansion."""
    pairs = _INVERTED_RESIDUAL if _has(model, f"{ours}_expand") else _DEPTHWISE_SEPARABLE
    return [
        (f"{theirs}.{name}", model.get_layer(f"{ours}_{suffix}"))
        for name, suffix in pairs
        if _has(model, f"{ours}_{suffix}")
    ]


def _efficientnet_layout(family, groups, num_classes, input_shape, state):
    """timm's EfficientNet: `conv_stem`, `bn1`, `blocks.S.I`, `conv_head`, `bn2`."""
    tf, variant = groups
    model = efficientnet(
        variant,
        num_classes=num_classes,
        input_shape=input_shape,
        layout="keras" if tf else "torch",
    )
    layer = model.get_layer
    modules = [("conv_stem", layer("stem_conv")), ("bn1", layer("stem_bn"))]
    for stage in range(1, 8):
        index = 0
        while _has(model, f"block{stage}{chr(ord('a') + index)}_project"):
            ours = f"block{stage}{chr(ord('a') + index)}"
            modules += _mbconv_modules(model, ours, f"blocks.{stage - 1}.{index}")
            index += 1
    modules += [("conv_head", layer("top_conv")), ("bn2", layer("top_bn"))]
    modules.append(("classifier", layer("predictions")))
    return Layout(model, modules, "classifier", se=_TIMM_SE)


# Blocks per stage of timm's MobileNetV3 arch_def, before the last 1x1 convolution's stage.
_MOBILENET_V3_STAGES = {"large": (1, 2, 3, 4, 2, 3), "small": (1, 2, 3, 2, 3)}


def _mobilenet_v3_layout(family, groups, num_classes, input_shape, state):
    """timm's MobileNetV3: `conv_stem`, `bn1`, `blocks.S.I`, the last stage's `conv`/`bn1`,
    `conv_head` (a 1x1 convolution with bias on the pooled map), `classifier`."""
    tf, size, minimal, width = groups
    model = mobilenet_v3(
        size,
        alpha=int(width) / 100,
        minimalistic=bool(minimal),
        num_classes=num_classes,
        input_shape=input_shape,
        layout="keras" if tf else "torch",
    )
    layer = model.get_layer
    modules = [("conv_stem", layer("stem_conv")), ("bn1", layer("stem_bn"))]
    block = 0
    stages = _MOBILENET_V3_STAGES[size]
    for stage, count in enumerate(stages):
        for index in range(count):
            modules += _mbconv_modules(model, f"block{block}", f"blocks.{stage}.{index}")
            block += 1
    last = f"blocks.{len(stages)}.0"
    modules += [(f"{last}.conv", layer("top_conv")), (f"{last}.bn1", layer("top_bn"))]
    modules += [("conv_head", layer("head")), ("classifier", layer("predictions"))]
    return Layout(model, modules, "classifier", se=_TIMM_SE, pointwise=("conv_head",))


def _regnet_layout(family, groups, num_classes, input_shape, state):
    """timm's RegNetY: `stem.{conv,bn}`, `sS.bI.{conv1,conv2,conv3}.{conv,bn}`, `se.fc1/fc2`,
    `downsample.{conv,bn}`, `head.fc`."""
    model = regnet(f"y_{groups[0]}", num_classes=num_classes, input_shape=input_shape)
    layer = model.get_layer
    modules = [("stem.conv", layer("stem_conv")), ("stem.bn", layer("stem_bn"))]
    stage = 1
    while _has(model, f"stage{stage}_block1_conv1"):
        index = 1
        while _has(model, f"stage{stage}_block{index}_conv1"):
            ours, theirs = f"stage{stage}_block{index}", f"s{stage}.b{index}"
            for i in (1, 2, 3):
                modules.append((f"{theirs}.conv{i}.conv", layer(f"{ours}_conv{i}")))
                modules.append((f"{theirs}.conv{i}.bn", layer(f"{ours}_bn{i}")))
                if i == 2 and _has(model, f"{ours}_attention"):
                    modules.append((f"{theirs}.se", layer(f"{ours}_attention")))
            if _has(model, f"{ours}_down"):
                modules.append((f"{theirs}.downsample.conv", layer(f"{ours}_down")))
                modules.append((f"{theirs}.downsample.bn", layer(f"{ours}_down_bn")))
            index += 1
        stage += 1
    modules.append(("head.fc", layer("predictions")))
    return Layout(model, modules, "head.fc")


_LAYOUT_BUILDERS = {
    "torchvision:resnet": _resnet_layout,
    "timm:resnet": _resnet_layout,
    "timm:legacy_seresnet": _resnet_layout,
    "timm:resnext": _resnet_layout,
    "timm:legacy_seresnext": _resnet_layout,
    "timm:efficientnet": _efficientnet_layout,
    "timm:mobilenetv3": _mobilenet_v3_layout,
    "timm:regnety": _regnet_layout,
    "timm:byobnet": _byobnet_layout,
    "torchvision:mobilenet_v2": _mobilenet_layout,
    "spem:resnet": _spem_layout,
    "ssa:resnet": _ssa_layout,
    "se_r:seresnet": _se_r_layout,
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
    from keras_attention.convert_blocks import TIMM_ATTENTION

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
    found_classes = _head_classes(family, state)
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
    from keras_attention.convert_keras import from_keras as convert

    return convert(model, arch=arch, alpha=alpha)


def from_keras_file(path, arch, log=None):
    """`from_keras` of a `.keras` or `.h5` file (a keras.applications model or its weights)."""
    from keras_attention.convert_keras import from_keras_file as convert

    return convert(path, arch, log=log)
