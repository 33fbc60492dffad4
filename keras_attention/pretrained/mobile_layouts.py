"""The checkpoint layouts of the mobile and efficient families: torchvision's MobileNetV2, timm's
MobileNetV3, EfficientNet (and its `tf_` variants) and RegNetY.
"""

from keras_attention.models.efficientnet import efficientnet
from keras_attention.models.mobilenet_v2 import INVERTED_RESIDUAL_SETTINGS, mobilenet_v2
from keras_attention.models.mobilenet_v3 import mobilenet_v3
from keras_attention.models.regnet import regnet
from keras_attention.pretrained.tensors import Layout, has_layer


def mobilenet_layout(family, groups, num_classes, input_shape, state):
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
    pairs = _INVERTED_RESIDUAL if has_layer(model, f"{ours}_expand") else _DEPTHWISE_SEPARABLE
    return [
        (f"{theirs}.{name}", model.get_layer(f"{ours}_{suffix}"))
        for name, suffix in pairs
        if has_layer(model, f"{ours}_{suffix}")
    ]


def efficientnet_layout(family, groups, num_classes, input_shape, state):
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
        while has_layer(model, f"block{stage}{chr(ord('a') + index)}_project"):
            ours = f"block{stage}{chr(ord('a') + index)}"
            modules += _mbconv_modules(model, ours, f"blocks.{stage - 1}.{index}")
            index += 1
    modules += [("conv_head", layer("top_conv")), ("bn2", layer("top_bn"))]
    modules.append(("classifier", layer("predictions")))
    return Layout(model, modules, "classifier", se=_TIMM_SE)


# Blocks per stage of timm's MobileNetV3 arch_def, before the last 1x1 convolution's stage.
_MOBILENET_V3_STAGES = {"large": (1, 2, 3, 4, 2, 3), "small": (1, 2, 3, 2, 3)}


def mobilenet_v3_layout(family, groups, num_classes, input_shape, state):
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


def regnet_layout(family, groups, num_classes, input_shape, state):
    """timm's RegNetY: `stem.{conv,bn}`, `sS.bI.{conv1,conv2,conv3}.{conv,bn}`, `se.fc1/fc2`,
    `downsample.{conv,bn}`, `head.fc`."""
    model = regnet(f"y_{groups[0]}", num_classes=num_classes, input_shape=input_shape)
    layer = model.get_layer
    modules = [("stem.conv", layer("stem_conv")), ("stem.bn", layer("stem_bn"))]
    stage = 1
    while has_layer(model, f"stage{stage}_block1_conv1"):
        index = 1
        while has_layer(model, f"stage{stage}_block{index}_conv1"):
            ours, theirs = f"stage{stage}_block{index}", f"s{stage}.b{index}"
            for i in (1, 2, 3):
                modules.append((f"{theirs}.conv{i}.conv", layer(f"{ours}_conv{i}")))
                modules.append((f"{theirs}.conv{i}.bn", layer(f"{ours}_bn{i}")))
                if i == 2 and has_layer(model, f"{ours}_attention"):
                    modules.append((f"{theirs}.se", layer(f"{ours}_attention")))
            if has_layer(model, f"{ours}_down"):
                modules.append((f"{theirs}.downsample.conv", layer(f"{ours}_down")))
                modules.append((f"{theirs}.downsample.bn", layer(f"{ours}_down_bn")))
            index += 1
        stage += 1
    modules.append(("head.fc", layer("predictions")))
    return Layout(model, modules, "head.fc")
