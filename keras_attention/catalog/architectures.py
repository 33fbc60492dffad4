"""The checkpoint architectures `convert` reads, by name (`timm:resnet50`, `torchvision:resnet18`,
`keras:efficientnet_b0`, ...), and their parsing.
"""

import re

from keras_attention.catalog.choices import suggest
from keras_attention.catalog.networks import IMAGENET_BLOCKS

# PyTorch checkpoint layouts `keras-attention convert` reads (`keras-attention list archs`):
# family -> (pattern, examples, description). The pattern's groups are the family's settings.
_DEPTHS = "|".join(str(depth) for depth in IMAGENET_BLOCKS)


# timm also has ResNet-26 (bottlenecks, two per stage).
_TIMM_DEPTHS = "|".join(str(depth) for depth in sorted([*IMAGENET_BLOCKS, 26]))


ARCHITECTURES = {
    "torchvision:resnet": (
        rf"torchvision:resnet({_DEPTHS})",
        "torchvision:resnet50",
        "torchvision's ResNet-18/34/50/101/152 (a bottleneck strides its 3x3)",
    ),
    "torchvision:mobilenet_v2": (
        r"torchvision:mobilenet_v2",
        "torchvision:mobilenet_v2",
        "torchvision's MobileNetV2 (width 1.0)",
    ),
    "timm:resnet": (
        rf"timm:(se|eca)?resnet({_TIMM_DEPTHS})(d|t)?",
        "timm:resnet50, timm:seresnet50, timm:ecaresnet50d, timm:resnet50t",
        "timm's ResNets with SE or ECA; 'd': deep stem and average-pool shortcuts, 't': the "
        "tiered deep stem",
    ),
    "timm:resnext": (
        r"timm:(se|eca)?resnext(26|50|101|152)(d|t)?_(\d+)x(\d+)d",
        "timm:resnext50_32x4d, timm:seresnext50_32x4d, timm:seresnext26d_32x4d",
        "timm's ResNeXts (grouped bottlenecks) with SE or ECA; 'd' and 't' as for the ResNets",
    ),
    "timm:legacy_seresnext": (
        r"timm:legacy_seresnext(26|50|101)_(\d+)x(\d+)d",
        "timm:legacy_seresnext50_32x4d",
        "the SE authors' ImageNet SE-ResNeXts (Caffe layout), as timm's legacy_seresnext*",
    ),
    "timm:efficientnet": (
        r"timm:(tf_)?efficientnet_(b[0-7])",
        "timm:efficientnet_b0, timm:tf_efficientnet_b3",
        "timm's EfficientNet B0-B7 (tf_: TensorFlow padding and BatchNorm, as keras.applications)",
    ),
    "timm:mobilenetv3": (
        r"timm:(tf_)?mobilenetv3_(large|small)_(minimal_)?(\d{3})",
        "timm:mobilenetv3_large_100, timm:tf_mobilenetv3_small_minimal_100",
        "timm's MobileNetV3 Large/Small, width x100 (tf_: TensorFlow padding and BatchNorm)",
    ),
    "timm:regnety": (
        r"timm:regnety_(002|004|006|008|016|032)",
        "timm:regnety_002, timm:regnety_032",
        "timm's RegNetY-200MF ... 3.2GF",
    ),
    "timm:byobnet": (
        r"timm:(gcresnet50t|gcresnext50ts|(?:gc|eca_|se)?resnext26ts)",
        "timm:gcresnet50t, timm:gcresnext50ts, timm:eca_resnext26ts",
        "timm's ByobNet ResNets, the block after the 3x3 convolution: gcresnet50t, "
        "gcresnext50ts, (se|eca_|gc)resnext26ts ('ts': grouped by 32, SiLU)",
    ),
    "timm:legacy_seresnet": (
        rf"timm:legacy_seresnet({_DEPTHS})",
        "timm:legacy_seresnet50",
        "the SE authors' ImageNet SE-ResNets (Caffe layout), as timm's legacy_seresnet*",
    ),
    "spem:resnet": (
        r"spem:resnet(\d+)",
        "spem:resnet164",
        "the SPEM code's CIFAR ResNet with SPEM (bottleneck depths 9n+2: 83, 164, ...), "
        "models/spem.py",
    ),
    "ssa:resnet": (
        rf"ssa:resnet({_DEPTHS})",
        "ssa:resnet50",
        "the SSA code's SSA-ResNet (official_SSANet.py; its unused 1x1 convolution is not read)",
    ),
    "se_r:seresnet": (
        rf"se_r:seresnet({_DEPTHS})",
        "se_r:seresnet50",
        "the CIFAR SE-ResNet the SE-R code builds on (pytorch-cifar100 models/senet.py; the "
        "reduction is read from the checkpoint)",
    ),
}


# The classifier's module name in each layout's state dict (its rows are the classes).
ARCHITECTURE_CLASSIFIERS = {
    "timm:legacy_seresnet": "last_linear",
    "timm:legacy_seresnext": "last_linear",
    "timm:efficientnet": "classifier",
    "timm:mobilenetv3": "classifier",
    "timm:regnety": "head.fc",
    "timm:byobnet": "head.fc",
    "torchvision:mobilenet_v2": "classifier.1",
    "se_r:seresnet": "linear",
}


# keras.applications models `convert --arch keras:NAME` reads (a .keras or .h5 file).
KERAS_ARCHITECTURES = (
    *(f"efficientnet_b{i}" for i in range(8)),
    "mobilenet_v3_large",
    "mobilenet_v3_small",
)


def parse_keras_architecture(name):
    """The keras.applications model `keras:NAME` names; a ValueError listing them otherwise."""
    short = str(name).removeprefix("keras:")
    if short in KERAS_ARCHITECTURES:
        return short
    raise ValueError(
        f"arch: unknown Keras architecture {name!r}{suggest(short, KERAS_ARCHITECTURES)}; "
        f"expected keras: and one of {', '.join(KERAS_ARCHITECTURES)}"
    )


def parse_architecture(name):
    """`(family, groups)` for a checkpoint layout name such as `timm:seresnet50`; a
    ValueError naming it and the accepted names otherwise."""
    for family, (pattern, _, _) in ARCHITECTURES.items():
        match = re.fullmatch(pattern, str(name))
        if match:
            return family, match.groups()
    examples = [example for _, example, _ in ARCHITECTURES.values()]
    known = [e.strip() for line in examples for e in line.split(",")]
    raise ValueError(
        f"arch: unknown architecture {name!r}{suggest(str(name), known)}; expected one of "
        f"{'; '.join(examples)} (keras-attention list archs)"
    )
