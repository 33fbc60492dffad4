"""The model families and their options by name, and the parsing of model names (`cifar_resnet20`,
`resnet50`, `efficientnet_b0`, ...).
"""

import re

from keras_attention.catalog.blocks import BLOCK_ARGUMENTS, BLOCKS, LAYER_ARGUMENTS
from keras_attention.catalog.choices import suggest

# Each family's factory options for --model-kwargs (the model name, block, classes, input shape
# and block arguments have options of their own), checked the same way.
_RESNET_OPTIONS = (
    "include_top",
    "data_format",
    "stride_on",
    "batchnorm",
    "stem",
    "stem_width",
    "stem_pool",
    "avg_down",
    "cardinality",
    "width_per_group",
    "group_width",
    "activation",
    "attention_at",
    "name",
)


MODEL_OPTIONS = {
    "cifar_resnet": ("block", "include_top", "data_format", "batchnorm", "name"),
    "preact_resnet": ("block", "include_top", "data_format", "batchnorm", "name"),
    "cifar_se_resnet": (
        "reduction",
        "aux_positions",
        "feed_attention",
        "aux_context",
        "stop_gradient",
        "aux_dropout",
        "data_format",
        "batchnorm",
        "name",
    ),
    "resnet": _RESNET_OPTIONS,
    "mobilenet_v2": ("include_top", "dropout", "data_format", "batchnorm", "layout", "name"),
    # resnet's, but the two a ResNeXt's name gives (resnext50_32x4d).
    "resnext": tuple(o for o in _RESNET_OPTIONS if o not in ("cardinality", "width_per_group")),
    "mobilenet_v3": ("include_top", "dropout", "data_format", "batchnorm", "layout", "name"),
    "efficientnet": (
        "include_top",
        "dropout",
        "drop_connect_rate",
        "data_format",
        "batchnorm",
        "layout",
        "name",
    ),
    "regnet": ("include_top", "data_format", "batchnorm", "name"),
}


BATCHNORMS = ("keras", "torch")


def check_arguments(model, attention, attention_kwargs, model_kwargs):
    """Raises ValueError naming the block or the factory, the argument and what it takes, for
    an `--attention-kwargs` or `--model-kwargs` name it does not take."""
    if attention in BLOCK_ARGUMENTS and attention_kwargs:
        takes = [*BLOCK_ARGUMENTS[attention], *LAYER_ARGUMENTS]
        unknown = [name for name in attention_kwargs if name not in takes]
        if unknown:
            raise ValueError(
                f"attention_kwargs: {BLOCKS[attention][0]} ({attention}) takes no argument "
                f"{', '.join(map(repr, unknown))}{suggest(unknown[0], takes)}; it takes "
                f"{', '.join(takes)}"
            )
    family, _ = parse_model(model)
    takes = MODEL_OPTIONS[family]
    unknown = [name for name in model_kwargs or {} if name not in takes]
    if unknown:
        raise ValueError(
            f"model_kwargs: {model!r} takes no option {', '.join(map(repr, unknown))}"
            f"{suggest(unknown[0], takes)}; it takes {', '.join(takes)}"
        )
    batchnorm = (model_kwargs or {}).get("batchnorm", "keras")
    if batchnorm not in BATCHNORMS:
        raise ValueError(
            f"model_kwargs: batchnorm must be 'keras' or 'torch', got {batchnorm!r}"
            f"{suggest(batchnorm, BATCHNORMS)}"
        )


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
"""The SE-R paper's best auxiliary loss weights `(aux1, aux2)` (heads after stages 2 and 3), by
the depth of the SE-R-ResNet."""


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
    "resnext": (
        r"resnext(\d+)(?:_(\d+)x(\d+)d)?",
        "resnext50_32x4d, resnext26_32x4d",
        "ResNeXt-26/50/101/152 (cardinality x width per group; 32x4d by default), SE-ResNeXt "
        "with --attention se",
    ),
    "mobilenet_v3": (
        r"mobilenet_v3_(large|small)(_minimal)?(?:_([\d.]+))?",
        "mobilenet_v3_large, mobilenet_v3_small_0.75, mobilenet_v3_large_minimal",
        "MobileNetV3 Large/Small with a width multiplier, its SE (or any block) in the blocks "
        "the paper gives SE",
    ),
    "efficientnet": (
        r"efficientnet_(b\d)",
        "efficientnet_b0, efficientnet_b3",
        "EfficientNet B0-B7, its SE (or any block) in every MBConv",
    ),
    "regnet": (
        r"regnety_(\d{3})",
        "regnety_002, regnety_032",
        "RegNetY-200MF ... 3.2GF (timm's layout), its SE (or any block) in every block",
    ),
}


# The families whose own networks have SE: attention "se" is that SE (its widths, SiLU or
# hard sigmoid), the default of their factories.
OWN_SE_FAMILIES = ("cifar_se_resnet", "mobilenet_v3", "efficientnet", "regnet")


EFFICIENTNET_VARIANTS = tuple(f"b{i}" for i in range(8))


REGNET_VARIANTS = ("y_002", "y_004", "y_006", "y_008", "y_016", "y_032")


# How each family's models are named: the family and its depth (or width multiplier); the
# attention block is a separate choice (--attention), not part of the name.
MODEL_NAME_RULES = {
    "cifar_resnet": "cifar_resnetDEPTH",
    "preact_resnet": "preact_resnetDEPTH",
    "cifar_se_resnet": "cifar_se_resnetDEPTH",
    "resnet": "resnetDEPTH",
    "mobilenet_v2": "mobilenet_v2[_ALPHA]",
    "resnext": "resnextDEPTH[_CARDINALITYxWIDTHd]",
    "mobilenet_v3": "mobilenet_v3_SIZE[_minimal][_ALPHA]",
    "efficientnet": "efficientnet_bN",
    "regnet": "regnety_NNN",
}


def model_names():
    """Every valid model name of the fixed-depth families, and examples of the others."""
    names = [f"cifar_resnet{d}" for d in (8, 14, 20, 32, 44, 56, 110, 83, 164, 245, 326)]
    names += [f"preact_resnet{d}" for d in (20, 56, 110, 164)]
    names += [f"cifar_se_resnet{d}" for d in IMAGENET_BLOCKS]
    names += [f"resnet{d}" for d in IMAGENET_BLOCKS]
    names += ["mobilenet_v2", "mobilenet_v2_0.35", "mobilenet_v2_0.5", "mobilenet_v2_0.75"]
    names += [f"resnext{d}_32x4d" for d in (26, 50, 101, 152)]
    names += [f"mobilenet_v3_{size}{m}" for size in ("large", "small") for m in ("", "_minimal")]
    names += [f"efficientnet_{v}" for v in EFFICIENTNET_VARIANTS]
    names += [f"regnety_{v[2:]}" for v in REGNET_VARIANTS]
    return names


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
        if family in ("resnext", "mobilenet_v3", "efficientnet", "regnet"):
            return family, _parse_new_family(name, family, match)
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
    raise ValueError(
        f"model: unknown model {name!r}{suggest(name, model_names())}; expected names like "
        f"{examples} (see 'list models')"
    )


def _parse_new_family(name, family, match):
    """The factory's leading arguments: ResNeXt's `(depth, cardinality, width)`, MobileNetV3's
    `(size, alpha, minimalistic)`, EfficientNet's and RegNet's variant."""
    if family == "resnext":
        depth, cardinality, width = match.groups()
        if int(depth) not in (26, 50, 101, 152):
            raise ValueError(
                f"model {name!r}: ResNeXt depth {depth} does not exist; expected one of "
                "resnext26, resnext50, resnext101, resnext152"
            )
        return int(depth), int(cardinality or 32), int(width or 4)
    if family == "mobilenet_v3":
        size, minimal, alpha = match.groups()
        alpha = float(alpha) if alpha else 1.0
        if alpha <= 0:
            raise ValueError(f"model {name!r}: the width multiplier must be > 0")
        return size, alpha, bool(minimal)
    if family == "efficientnet":
        variant = match.group(1)
        choices = EFFICIENTNET_VARIANTS
    else:
        variant = f"y_{match.group(1)}"
        choices = REGNET_VARIANTS
    if variant not in choices:
        examples = [
            f"efficientnet_{v}" if family == "efficientnet" else f"regnety_{v[2:]}" for v in choices
        ]
        raise ValueError(
            f"model {name!r}: no such variant{suggest(name, examples)}; expected one of "
            f"{', '.join(examples)}"
        )
    return variant


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
