"""What exists, by name: attention blocks, model families and data sets, with one-line
descriptions, and the parsing of model names.

This module imports nothing heavy (no Keras, no TensorFlow), so that the command line can list
what exists and reject a bad name at once, before a backend is loaded. The layer registry, the
model factories and the data loaders read their names from here.
"""

import difflib
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
    "ese": ("EffectiveSE", "effective SE: one C->C layer and a hard-sigmoid gate (timm)"),
    "ecam": ("ECAMLP", "ECA with a 1->rd->1 channel MLP along the pooled channels (timm)"),
    "ceca": ("CircularECA", "ECA with the channel sequence wrapped around (timm)"),
    "ge": ("GatherExcite", "Gather-Excite: global or local gather, MLP excite (timm)"),
    "gc": ("GlobalContext", "Global Context: attention pooling, LayerNorm MLP, scale fusion"),
    "gca": ("GlobalContextAdd", "Global Context with add fusion (timm's gca)"),
    "lcbam": ("LightCBAM", "light CBAM: averaged avg+max channel gate, 1-channel spatial gate"),
    "scoord": ("SimpleCoordinateAttention", "timm's simplified coordinate attention"),
    "ela": ("EfficientLocalAttention", "efficient local attention: strip convs, GroupNorm"),
    "strip": ("StripAttention", "strip attention: depthwise (k,1) and (1,k) strips (timm)"),
    "simam": ("SimAM", "SimAM: parameter-free energy-based attention"),
    "triplet": (
        "TripletAttention",
        "triplet attention: three rotated Z-pool 7x7 gates, 300 parameters",
    ),
    "bam": ("BAM", "Bottleneck Attention Module: channel and dilated spatial branches"),
    "fca": ("FcaNet", "FcaNet: SE on multi-spectral DCT pooling"),
}

# Each block's constructor arguments (besides Keras' name, dtype and trainable), so that the
# command line checks --attention-kwargs before a backend loads; tests/test_command_line.py
# checks them against the classes' signatures.
BLOCK_ARGUMENTS = {
    "se": (
        "reduction",
        "use_bias",
        "pooling",
        "hidden_units",
        "rd_divisor",
        "activation",
        "gate",
        "data_format",
    ),
    "ssa": ("squash", "groups", "epsilon", "momentum", "batchnorm", "data_format"),
    "spem": ("alpha", "data_format"),
    "cbam": (
        "reduction",
        "kernel_size",
        "pooling",
        "hidden_units",
        "use_bias",
        "batchnorm",
        "data_format",
    ),
    "eca": (
        "kernel_size",
        "gamma",
        "b",
        "min_kernel_size",
        "use_mlp",
        "padding",
        "pooling",
        "data_format",
    ),
    "srm": ("epsilon", "batchnorm", "data_format"),
    "sge": ("groups", "epsilon", "data_format"),
    "coord": ("reduction", "min_units", "use_bias", "batchnorm", "data_format"),
    "ese": ("pooling", "data_format"),
    "ecam": (
        "use_mlp",
        "kernel_size",
        "gamma",
        "b",
        "min_kernel_size",
        "padding",
        "pooling",
        "data_format",
    ),
    "ceca": (
        "padding",
        "kernel_size",
        "gamma",
        "b",
        "min_kernel_size",
        "use_mlp",
        "pooling",
        "data_format",
    ),
    "ge": (
        "extent",
        "extra_params",
        "feat_size",
        "use_mlp",
        "rd_ratio",
        "rd_divisor",
        "batchnorm",
        "data_format",
    ),
    "gc": ("fuse_scale", "fuse_add", "use_attn", "rd_ratio", "rd_divisor", "data_format"),
    "gca": ("fuse_scale", "fuse_add", "use_attn", "rd_ratio", "rd_divisor", "data_format"),
    "lcbam": ("rd_ratio", "rd_divisor", "kernel_size", "batchnorm", "data_format"),
    "scoord": ("rd_ratio", "rd_divisor", "has_skip", "data_format"),
    "ela": ("kernel_size", "has_skip", "data_format"),
    "strip": ("kernel_size", "has_skip", "data_format"),
    "simam": ("e_lambda", "data_format"),
    "triplet": ("kernel_size", "no_spatial", "batchnorm", "data_format"),
    "bam": ("reduction", "dilation", "batchnorm", "data_format"),
    "fca": (
        "reduction",
        "dct_size",
        "use_bias",
        "pooling",
        "hidden_units",
        "rd_divisor",
        "activation",
        "gate",
        "data_format",
    ),
}
LAYER_ARGUMENTS = ("name", "dtype", "trainable")
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


# The hyperparameters a search can vary (keras_attention.tuning.SPACE gives their ranges).
HYPERPARAMETERS = (
    "attention",
    "reduction",
    "aux_positions",
    "aux1_weight",
    "aux2_weight",
    "aux_dropout",
    "spem_alpha",
    "learning_rate",
)
# Those of the auxiliary classifiers (cifar_se_resnet models only).
AUX_HYPERPARAMETERS = ("aux_positions", "aux1_weight", "aux2_weight", "aux_dropout")
AUX_POSITION_CHOICES = ("1", "2", "3", "1,2", "1,3", "2,3")
# Blocks whose constructor takes a reduction ratio (the search's `reduction` applies to them).
REDUCTION_BLOCKS = ("se", "cbam", "coord", "bam", "fca")
# Hyperparameters a --range can narrow (the others are choices: --choices).
NUMERIC_HYPERPARAMETERS = (
    "aux1_weight",
    "aux2_weight",
    "aux_dropout",
    "spem_alpha",
    "learning_rate",
)


def objectives(model):
    """The metrics a search of `model` can optimise (`tune --objective`)."""
    family, _ = parse_model(model)
    if family == "cifar_se_resnet":
        return ("val_main_accuracy", "val_loss", "val_main_loss", "main_accuracy", "loss")
    return ("val_accuracy", "val_loss", "accuracy", "loss")


# TFLite conversions of an export, and every format `predict` can run.
TFLITE_MODES = ("float32", "float16", "dynamic_int8", "full_int8")
EXPORT_FORMATS = (
    "keras",
    "saved_model",
    *(f"tflite_{mode}" for mode in TFLITE_MODES),
    "onnx",
)
# What `export --formats` chooses from (TFLite's modes are chosen with --modes).
EXPORT_KINDS = ("keras", "saved_model", "tflite", "onnx")


def export_file(format):
    """The file (or folder) of an export format inside `RUN_DIR/export`."""
    if format == "keras":
        return "model.keras"
    if format == "saved_model":
        return "saved_model"
    if format == "onnx":
        return "model.onnx"
    return f"model_{format.removeprefix('tflite_')}.tflite"


def suggest(name, choices):
    """`" (did you mean 'se'?)"` for the choice closest to `name` (ignoring case, `-` and
    `_`), or "" when none is close."""
    if not isinstance(name, str):
        return ""

    def key(text):
        return str(text).lower().replace("-", "").replace("_", "")

    by_key = {key(c): c for c in choices}
    if key(name) in by_key and by_key[key(name)] != name:
        return f" (did you mean {by_key[key(name)]!r}?)"
    close = difflib.get_close_matches(key(name), list(by_key), n=1, cutoff=0.6)
    return f" (did you mean {by_key[close[0]]!r}?)" if close else ""


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


def check_hyperparameters(model, names, option, fixed=None):
    """Raises ValueError for a hyperparameter name that does not exist, or that the search
    cannot use: auxiliary-classifier ones on a model without them, and ones that depend on a
    block or on positions that `fixed` rules out (`reduction` with a block that takes none,
    `spem_alpha` with a block other than SPEM, `aux2_weight` with one auxiliary head)."""
    for name in names:
        if name not in HYPERPARAMETERS:
            raise ValueError(
                f"{option} {name}: unknown hyperparameter{suggest(name, HYPERPARAMETERS)}; "
                f"known: {', '.join(HYPERPARAMETERS)}"
            )
    family, _ = parse_model(model)
    unusable = sorted(n for n in names if n in AUX_HYPERPARAMETERS and family != "cifar_se_resnet")
    if unusable:
        raise ValueError(
            f"{option} {', '.join(unusable)}: {model!r} has no auxiliary classifiers (only "
            "cifar_se_resnet models have them)"
        )
    block = (fixed or {}).get("attention")
    if block is not None and "reduction" in names and block not in REDUCTION_BLOCKS:
        raise ValueError(
            f"{option} reduction: the block is fixed to {block!r}, which takes no reduction "
            f"(only {', '.join(REDUCTION_BLOCKS)} do)"
        )
    if block is not None and "spem_alpha" in names and block != "spem":
        raise ValueError(f"{option} spem_alpha: the block is fixed to {block!r}, not spem")
    positions = (fixed or {}).get("aux_positions")
    if positions is not None and "aux2_weight" in names and "," not in str(positions):
        raise ValueError(
            f"{option} aux2_weight: aux_positions is fixed to {positions!r}, one auxiliary "
            "head (aux2_weight weighs the second)"
        )


def check_hyperparameter_value(name, value, option="value"):
    """Raises ValueError when `value` cannot be hyperparameter `name`."""
    if name == "attention":
        if value not in BLOCKS:
            raise ValueError(
                f"{option} attention: unknown block {value!r}{suggest(value, BLOCKS)}; expected "
                f"one of {', '.join(BLOCKS)}"
            )
    elif name == "aux_positions":
        if str(value) not in AUX_POSITION_CHOICES:
            raise ValueError(
                f"{option} aux_positions: expected one of {', '.join(AUX_POSITION_CHOICES)}, "
                f"got {value!r}"
            )
    elif name == "reduction":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{option} reduction: expected a positive integer, got {value!r}")
    elif not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{option} {name}: expected a number >= 0, got {value!r}")


def tfds_splits(name):
    """`(train split, test split)` of a tensorflow-datasets name, or None."""
    return DATASETS[name][1] if name in DATASETS else None


def check_block(name):
    """Returns `name` if it names a registered block or "none", else raises ValueError."""
    if name in BLOCKS or name == "none":
        return name
    raise ValueError(
        f"attention: unknown block {name!r}{suggest(name, [*BLOCKS, 'none'])}; expected one of "
        f"{', '.join(BLOCKS)} or none"
    )


def check_dataset(name):
    """Returns `name` if it names a data set, else raises ValueError listing the known ones."""
    if name in DATASETS and name != "dir:PATH":
        return name
    if name.startswith("dir:") and len(name) > 4:
        return name
    known = [n for n in DATASETS if n != "dir:PATH"]
    raise ValueError(
        f"dataset: unknown data set {name!r}{suggest(name, known)}; expected one of "
        f"{', '.join(known)} or dir:PATH"
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
