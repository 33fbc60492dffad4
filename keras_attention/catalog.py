"""What exists, by name: attention blocks, model families and data sets, with one-line
descriptions, and the parsing of model names.

This module imports nothing heavy (no Keras, no TensorFlow), so that the command line can list
what exists and reject a bad name at once, before a backend is loaded. The layer registry, the
model factories and the data loaders read their names from here.
"""

import re

# name: (class in keras_attention.layers, one-line description)
BLOCKS = {
    "se": (
        "SqueezeExcitation",
        "Squeeze-and-Excitation: pooled channels -> FC -> ReLU -> FC -> sigmoid channel gate; "
        "with a context input it is SE-R",
    ),
    "ssa": (
        "SquashSpatialAttention",
        "Squash and Spatial Attention: one saliency map from pooled-channel-weighted features, "
        "2 parameters",
    ),
    "spem": (
        "SPEM",
        "self-adaptive mix pooling (learnable max/min mix) with reweight and excitation, 4C+2 "
        "parameters",
    ),
    "cbam": ("CBAM", "channel gate on avg and max pools, then a 7x7 spatial gate"),
    "eca": ("ECA", "1-D convolution over the pooled channel vector, kernel size from C"),
    "srm": ("SRM", "style pooling (mean, std), channel-wise FC, BatchNorm, sigmoid"),
    "sge": ("SGE", "spatial group-wise enhance: one normalised similarity map per group"),
    "coord": (
        "CoordinateAttention",
        "coordinate attention: pooling along height and along width, one gate per direction",
    ),
}

# Depths of the ImageNet ResNets (and the SE-R paper's CIFAR SE-ResNets): block type and blocks
# per stage (He et al.).
IMAGENET_BLOCKS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
# The SE-R paper's best auxiliary loss weights (aux heads after stages 2 and 3), by depth.
PAPER_AUX_LOSS_WEIGHTS = {34: (0.4, 0.4), 50: (0.3, 0.3), 101: (0.3, 0.2)}

# CIFAR depths He et al. build from bottlenecks (9n + 2); every other 6n + 2 depth is basic.
CIFAR_BOTTLENECK_DEPTHS = (83, 164, 245, 326, 1001)

# family: (name pattern, example names, one-line description)
MODEL_FAMILIES = {
    "cifar_resnet": (
        r"cifar_resnet(\d+)",
        "cifar_resnet20, cifar_resnet164",
        "the SPEM code's CIFAR ResNet, post-activation: basic 6n+2 (20, 56, 110), bottleneck "
        "9n+2 (83, 164, 245, 326)",
    ),
    "preact_resnet": (
        r"preact_resnet(\d+)",
        "preact_resnet164",
        "the same CIFAR ResNet with pre-activation blocks (He et al., 2016)",
    ),
    "cifar_se_resnet": (
        r"cifar_se_resnet(\d+)",
        "cifar_se_resnet50",
        "the SE-R paper's CIFAR SE-ResNet 18/34/50/101/152, auxiliary heads with "
        "--aux-positions (SE-R)",
    ),
    "resnet": (
        r"resnet(\d+)",
        "resnet50",
        "ImageNet ResNet-18/34/50/101/152",
    ),
    "mobilenet_v2": (
        r"mobilenet_v2(?:_([\d.]+))?",
        "mobilenet_v2, mobilenet_v2_0.5",
        "MobileNetV2 with a width multiplier, attention on the expanded channels",
    ),
}

# name: (one-line description, (train split, test split) in tensorflow-datasets or None)
DATASETS = {
    "digits": (
        "scikit-learn's 1,797 handwritten digits (8x8, bundled, offline), fixed 80/20 split",
        None,
    ),
    "cifar10": (
        "CIFAR-10 from tensorflow-datasets (50,000 / 10,000, 10 classes)",
        ("train", "test"),
    ),
    "cifar100": (
        "CIFAR-100 from tensorflow-datasets (50,000 / 10,000, 100 classes)",
        ("train", "test"),
    ),
    "imagenette": (
        "Imagenette from tensorflow-datasets (10 ImageNet classes)",
        ("train", "validation"),
    ),
    "imagenet2012": (
        "ImageNet from tensorflow-datasets (needs --manual-dir with the downloaded archives)",
        ("train", "validation"),
    ),
    "dir:PATH": ("a folder with one sub-folder of images per class", None),
}


def tfds_splits(name):
    """`(train split, test split)` of a tensorflow-datasets name, or None."""
    return DATASETS[name][1] if name in DATASETS else None


def check_block(name):
    """Returns `name` if it names a registered block or "none", else raises ValueError."""
    if name in BLOCKS or name == "none":
        return name
    raise ValueError(
        f"attention: unknown block {name!r}; expected one of {', '.join(BLOCKS)} or none"
    )


def check_dataset(name):
    """Returns `name` if it names a data set, else raises ValueError listing the known ones."""
    if name in DATASETS and name != "dir:PATH":
        return name
    if name.startswith("dir:") and len(name) > 4:
        return name
    raise ValueError(
        f"unknown data set {name!r}; expected one of "
        f"{', '.join(n for n in DATASETS if n != 'dir:PATH')} or dir:PATH"
    )


def parse_model(name):
    """`(family, number)` for a model name: the depth, or MobileNetV2's width multiplier.

    Raises ValueError naming the model, the reason and the accepted names when the name or its
    depth does not exist.
    """
    for family, (pattern, _, _) in MODEL_FAMILIES.items():
        match = re.fullmatch(pattern, name)
        if not match:
            continue
        value = match.group(1)
        if family == "mobilenet_v2":
            alpha = float(value) if value else 1.0
            if alpha <= 0:
                raise ValueError(f"model {name!r}: the width multiplier must be > 0")
            return family, alpha
        depth = int(value)
        if family in ("resnet", "cifar_se_resnet") and depth not in IMAGENET_BLOCKS:
            raise ValueError(
                f"model {name!r}: depth {depth} does not exist; expected one of "
                f"{', '.join(f'{family}{d}' for d in IMAGENET_BLOCKS)}"
            )
        if family in ("cifar_resnet", "preact_resnet"):
            check_cifar_depth(depth, cifar_block(depth), f"model {name!r}")
        return family, depth
    examples = ", ".join(example for _, example, _ in MODEL_FAMILIES.values())
    raise ValueError(f"unknown model {name!r}; expected names like {examples}")


def cifar_block(depth):
    """The block type a CIFAR ResNet of `depth` uses when none is given."""
    return "bottleneck" if depth in CIFAR_BOTTLENECK_DEPTHS else "basic"


def check_cifar_depth(depth, block, owner="cifar_resnet"):
    """Blocks per stage `n` of a CIFAR ResNet: depth 6n + 2 (basic) or 9n + 2 (bottleneck)."""
    per_block = {"basic": 6, "bottleneck": 9}.get(block)
    if per_block is None:
        raise ValueError(f"{owner}: block must be 'basic' or 'bottleneck', got {block!r}")
    if not isinstance(depth, int) or depth < per_block + 2 or (depth - 2) % per_block:
        raise ValueError(
            f"{owner}: depth {depth!r} does not fit {block} blocks; expected {per_block}n + 2 "
            f"with n >= 1 (for example {per_block + 2}, {per_block * 3 + 2} or "
            f"{per_block * 18 + 2})"
        )
    return (depth - 2) // per_block
