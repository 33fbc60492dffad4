"""What a data set is to a run: `DataInfo` (classes, image shape, sizes, statistics, fingerprint),
the fixed fractions of the splits, the normalisation statistics and the augmentation names.
"""

import dataclasses

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


# Per-channel mean and std of the training images, in [0, 1] units.
STATISTICS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


AUGMENTATIONS = ("none", "digits", "cifar", "cifar_rotate", "cifar_no_normalize", "imagenet")


# ImageNet evaluation resizes the shorter side to size / 0.875 and takes the central crop.
CENTER_CROP_FRACTION = 0.875


DEFAULT_VALIDATION_FRACTION = 0.1


TEST_FRACTION = 0.2  # digits and image folders: the test share of all images


TEST_SPLIT_SEED = 0  # the test split does not depend on a run's seed


@dataclasses.dataclass
class DataInfo:
    """What a data set is, as the pipelines and the run record need it: its name, classes and their
    names, the image shape the pipelines produce (and the stored one), the split sizes, the
    normalisation mean and std, the resizing interpolation and centre-crop fraction, and the
    fingerprint that identifies the data."""

    name: str
    num_classes: int
    image_shape: tuple  # (height, width, channels) the pipelines produce
    train_size: int
    test_size: int
    mean: tuple
    std: tuple
    class_names: tuple = ()
    validation_size: int = 0
    raw_shape: tuple = None  # the stored images' shape, when every image has the same
    # What identifies the data (`run.json` records it; a resume on other data is refused).
    fingerprint: dict = None
    # How images are resized to `image_shape` (a pretrained preset's, else bilinear), and the
    # central fraction ImageNet-style evaluation keeps (a preset's crop_pct).
    interpolation: str = "bilinear"
    crop_fraction: float = CENTER_CROP_FRACTION

    def to_dict(self):
        return dataclasses.asdict(self)


def fingerprint_changes(recorded, current):
    """`"images: 60 -> 120, ..."`: how two data fingerprints differ ("" when they do not)."""
    recorded, current = recorded or {}, current or {}
    changes = []
    for key in sorted(set(recorded) | set(current)):
        old, new = recorded.get(key), current.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            inner = [
                f"{name}: {old.get(name, 0)} -> {new.get(name, 0)}"
                for name in sorted(set(old) | set(new))
                if old.get(name) != new.get(name)
            ]
            changes.append(f"{key} {', '.join(inner[:5])}{', ...' if len(inner) > 5 else ''}")
        elif key == "sha256":
            if not changes:
                changes.append("the images' names or sizes changed")
        else:
            changes.append(f"{key}: {old!r} -> {new!r}")
    return ", ".join(changes)


def check_fraction(fraction):
    """Raises `ValueError` unless `fraction` is in [0, 1)."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_split: expected a fraction in [0, 1), got {fraction!r}")
    return fraction


def info_from_dict(record):
    """A `DataInfo` from its `to_dict()` (as metrics.json stores it)."""
    fields = {field.name for field in dataclasses.fields(DataInfo)}
    values = {k: v for k, v in record.items() if k in fields}
    for name in ("image_shape", "mean", "std", "class_names", "raw_shape"):
        if values.get(name) is not None:
            values[name] = tuple(values[name])
    return DataInfo(**values)
