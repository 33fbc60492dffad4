"""What a run can use, by name: the data sets, the hyperparameters a search varies and their
objectives, and the export formats.
"""

from keras_attention.catalog.blocks import BLOCKS
from keras_attention.catalog.choices import suggest
from keras_attention.catalog.networks import parse_model

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
