"""tf.data pipelines: the bundled digits, tensorflow-datasets, and folders of images.

`load(name, ...)` returns `Splits(train, validation, test, info)`: un-batched data sets of raw
`(uint8 image, int32 label)` pairs, as the images are stored, and a `DataInfo`. The validation
split is a fixed, seeded fraction of the training data (it chooses `best.keras`); the test split
is used only for the final figures.

`pipeline(dataset, info, augmentation, training, batch_size)` turns raw images into model
inputs: scaling to [0, 1], resizing (and for ImageNet-style sets cropping), the recipe's
augmentation when training, normalisation by the data set's mean and standard deviation,
batching and one-hot labels. The evaluation path is made of the Keras preprocessing layers of
`preprocessing_layers`, which the export puts inside the served model, so a deployed model
computes exactly what evaluation computed.

Names: `"digits"` (scikit-learn's 1,797 real 8x8 handwritten digits, bundled and offline,
with a fixed stratified 80/20 train/test split), `"cifar10"`, `"cifar100"`, `"imagenette"`,
`"imagenet2012"` (tensorflow-datasets; ImageNet needs its manual download directory), and
`"dir:PATH"` for a folder with one sub-folder of images per class.
"""

import collections
import dataclasses
import hashlib
import json
import os

import keras
import numpy as np
import tensorflow as tf

from keras_attention import catalog
from keras_attention.errors import DataError

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

Splits = collections.namedtuple("Splits", ["train", "validation", "test", "info"])


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


def _check_fraction(fraction):
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_split: expected a fraction in [0, 1), got {fraction!r}")
    return fraction


# --- sources -------------------------------------------------------------------------------------


def load_digits(image_size=32, seed=0, validation_fraction=0.0, channels=1):
    """scikit-learn's digits as 8x8x1 uint8 images (the 0-16 ink levels scaled to 0-255);
    `channels=3` gives them as grey RGB images (for networks pretrained on colour images)."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    _check_fraction(validation_fraction)
    digits = sklearn_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype("uint8")[..., None]
    fingerprinted = images
    if channels not in (1, 3):
        raise ValueError(f"digits: channels must be 1 or 3, got {channels!r}")
    images = np.repeat(images, channels, axis=-1)
    labels = digits.target.astype("int32")
    # The test split is fixed; the seed chooses the validation split (and the training).
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_FRACTION, random_state=TEST_SPLIT_SEED, stratify=labels
    )
    x_val, y_val = x_train[:0], y_train[:0]
    if validation_fraction:
        x_train, x_val, y_train, y_val = train_test_split(
            x_train, y_train, test_size=validation_fraction, random_state=seed, stratify=y_train
        )
    # Normalisation statistics of the training images as the model sees them (resized).
    seen = tf.image.resize(x_train.astype("float32") / 255.0, (image_size, image_size)).numpy()
    info = DataInfo(
        "digits",
        10,
        (image_size, image_size, channels),
        len(x_train),
        len(x_test),
        (float(seen.mean()),) * channels,
        (float(seen.std()),) * channels,
        tuple(str(i) for i in range(10)),
        validation_size=len(x_val),
        raw_shape=(8, 8, channels),
        fingerprint={
            "source": "sklearn.datasets.load_digits",
            "images": int(len(images)),
            "sha256": hashlib.sha256(fingerprinted.tobytes() + labels.tobytes()).hexdigest(),
        },
    )

    def source(x, y):
        return tf.data.Dataset.from_tensor_slices((x, y))

    return Splits(source(x_train, y_train), source(x_val, y_val), source(x_test, y_test), info)


def load_tfds(
    name, image_size=None, data_dir=None, manual_dir=None, download=True, validation_fraction=0.0
):
    """A tensorflow-datasets image classification set; the validation split is the first
    `validation_fraction` of the training split (TFDS split slicing, whole percent)."""
    import tensorflow_datasets as tfds

    splits = catalog.tfds_splits(name)
    if splits is None:
        raise ValueError(
            f"dataset: {name!r} is not a tensorflow-datasets set; expected one of "
            f"{[n for n in catalog.DATASETS if catalog.tfds_splits(n)]}"
        )
    _check_fraction(validation_fraction)
    kwargs = {}
    if manual_dir:
        kwargs["download_and_prepare_kwargs"] = {
            "download_config": tfds.download.DownloadConfig(manual_dir=manual_dir)
        }
    if download:
        prepare_tfds(name, data_dir, manual_dir)
    train_split, test_split = splits
    percent = int(round(validation_fraction * 100))
    requested = [train_split, test_split]
    if percent:
        requested = [f"{train_split}[{percent}%:]", test_split, f"{train_split}[:{percent}%]"]
    loaded, builder_info = tfds.load(
        name,
        split=requested,
        as_supervised=True,
        with_info=True,
        data_dir=data_dir,
        download=download,
        **kwargs,
    )
    train, test = loaded[0], loaded[1]
    validation = loaded[2] if percent else train.take(0)
    shape = builder_info.features["image"].shape
    if image_size is None:
        image_size = shape[0] if shape[0] is not None else 224
    channels = shape[-1] or 3
    labels = builder_info.features["label"]
    info = DataInfo(
        name,
        labels.num_classes,
        (image_size, image_size, channels),
        _split_size(train),
        _split_size(test),
        *STATISTICS.get(name, STATISTICS["imagenet"]),
        tuple(labels.names),
        validation_size=_split_size(validation),
        raw_shape=tuple(shape) if None not in shape else None,
        fingerprint={
            "source": "tensorflow-datasets",
            "name": name,
            "version": str(builder_info.version),
            "splits": requested,
            "images": {"train": _split_size(train), "test": _split_size(test)},
        },
    )
    return Splits(train, validation, test, info)


# How often tensorflow-datasets' downloader retries a failed request (urllib3, with a backoff
# of 0.2 s doubling each time): its default of 10 spends three and a half minutes before it
# reports that a machine is offline. Two retries say it in about a second.
DOWNLOAD_RETRIES = 2


def prepare_tfds(name, data_dir=None, manual_dir=None):
    """Downloads and prepares a tensorflow-datasets set unless `data_dir` already has it.

    Every failure is a `DataError` of one line naming the data set and `--data-dir` or
    `--manual-dir`: a set that needs archives downloaded by hand (ImageNet) without a manual
    folder, a manual folder that is missing or empty, and a download that fails (offline:
    in about a second, with `DOWNLOAD_RETRIES`).
    """
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download import downloader

    builder = tfds.builder(name, data_dir=data_dir)
    if builder.is_prepared():
        return builder
    where = data_dir or os.path.join("~", "tensorflow_datasets")
    if getattr(builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", None):
        if not manual_dir:
            raise DataError(
                f"dataset: {name} is not prepared in {where} and its archives must be "
                "downloaded by hand: give their folder with --manual-dir (and --data-dir for "
                "where to prepare it)"
            )
        if not os.path.isdir(manual_dir) or not os.listdir(manual_dir):
            state = "is empty" if os.path.isdir(manual_dir) else "does not exist"
            raise DataError(
                f"manual_dir: {manual_dir!r} {state}; it should hold the archives of {name}"
            )
    config = tfds.download.DownloadConfig(manual_dir=manual_dir) if manual_dir else None
    retries = downloader.MAX_RETRIES
    downloader.MAX_RETRIES = DOWNLOAD_RETRIES  # for this download only (see above)
    try:
        builder.download_and_prepare(download_config=config)
    except Exception as error:  # noqa: BLE001 - network, archive and preparation errors alike
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise DataError(
            f"dataset: {name} is not prepared in {where} and could not be downloaded "
            f"({type(error).__name__}: {reason}); prepare it where there is a network (the "
            f"same command, or `tfds build {name}`) and give its folder with --data-dir"
        ) from error
    finally:
        downloader.MAX_RETRIES = retries
    return builder


def _split_size(dataset):
    count = int(dataset.cardinality())
    if count < 0:  # unknown: count once
        count = int(dataset.reduce(0, lambda n, _: n + 1))
    return count


def _check_cache_path(directory):
    root = os.environ.get("KERAS_ATTENTION_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_attention"
    )
    key = hashlib.sha256(os.path.abspath(directory).encode()).hexdigest()[:20]
    return os.path.join(root, "image_checks", f"{key}.json")


# The first bytes of each format TensorFlow's decoder reads, and of formats it does not.
DECODED_FORMATS = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
}
OTHER_FORMATS = {b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WebP or another RIFF file"}
# Where each decoded format's data ends when the file is whole.
FORMAT_ENDS = {"PNG": b"IEND\xaeB`\x82", "JPEG": b"\xff\xd9", "GIF": b";"}


def unreadable_reason(path):
    """Why TensorFlow's image decoder refused `path`, in a person's words, from the file's
    bytes: an empty file, not an image, an image format it does not read, a truncated or
    otherwise damaged PNG/JPEG/GIF/BMP. (The decoder's own message names its kernel and
    device, not the file's fault.)"""
    with open(path, "rb") as handle:
        head = handle.read(16)
        handle.seek(max(0, os.path.getsize(path) - 16))
        tail = handle.read().rstrip(b"\x00")
    if not head:
        return "empty file"
    kind = next((k for magic, k in DECODED_FORMATS.items() if head.startswith(magic)), None)
    if kind is None:
        other = next((k for magic, k in OTHER_FORMATS.items() if head.startswith(magic)), None)
        if other is not None:
            return f"unsupported format ({other}); use PNG, JPEG, GIF or BMP"
        return "not an image (not PNG, JPEG, GIF or BMP data)"
    if kind in FORMAT_ENDS and not tail.endswith(FORMAT_ENDS[kind]):
        return f"truncated {kind} (the file ends before the image does)"
    return f"damaged {kind} (its data cannot be decoded)"


def _decodes(path):
    """`(problem, (height, width))`: why TensorFlow's decoder (the one the pipeline uses)
    cannot read `path` (else None), and the image's size."""
    try:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        if image.shape[0] == 0 or image.shape[1] == 0:
            return "empty image (no pixels)", None
    except (tf.errors.InvalidArgumentError, tf.errors.OpError):
        return unreadable_reason(path), None
    return None, (int(image.shape[0]), int(image.shape[1]))


CHECK_LOG_SECONDS = 5.0  # how often the image check of a folder reports how far it is


def _stamp(path):
    """What says a file is unchanged since it was checked: its size and modification time."""
    stat = os.stat(path)
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _visible(name):
    """Hidden files and folders (`.ipynb_checkpoints`, `.DS_Store`) are not data."""
    return not name.startswith(".")


def find_images(directory, log=None):
    """`(paths, labels, class_names, size, skipped)` for a folder with one sub-folder per
    class: `size` is the `(height, width)` every image has (None when they differ) and
    `skipped` the files that are not images (by extension), which are left out. Hidden files
    and folders are ignored.

    Every image is decoded once, before training, by the decoder the pipeline uses, so that a
    corrupt file or one whose content does not match its name is reported by name and reason
    instead of failing in the middle of `fit`. What was checked is remembered (by path, size
    and modification time) in `~/.cache/keras_attention` (or `$KERAS_ATTENTION_CACHE`), so a
    second run on an unchanged folder does not decode again. `log` gets a line every few
    seconds while images are decoded, with how many are left.
    """
    from keras_attention import progress

    if not os.path.isdir(directory):
        raise ValueError(f"dataset: image folder {directory!r} does not exist")
    class_names = sorted(
        d
        for d in os.listdir(directory)
        if _visible(d) and os.path.isdir(os.path.join(directory, d))
    )
    if len(class_names) < 2:
        raise DataError(
            f"dataset: image folder {directory!r} has {len(class_names)} class sub-folder(s) "
            f"{class_names}; expected at least 2 (one sub-folder of images per class)"
        )
    cache_path = _check_cache_path(directory)
    try:
        with open(cache_path) as handle:
            checked = json.load(handle)
    except (OSError, ValueError):
        checked = {}
    candidates, skipped = [], []
    for label, class_name in enumerate(class_names):
        folder = os.path.join(directory, class_name)
        for file_name in sorted(filter(_visible, os.listdir(folder))):
            path = os.path.join(folder, file_name)
            if not os.path.isfile(path):
                continue
            if file_name.lower().endswith(IMAGE_EXTENSIONS):
                candidates.append((path, label, _stamp(path)))
            else:
                skipped.append(path)
    paths, labels, bad, remembered, sizes = [], [], [], {}, set()
    counter = progress.Counter(
        sum(str(checked.get(path, "")).rpartition(":")[0] != stamp for path, _, stamp in candidates)
    )
    last = counter.started
    for path, label, stamp in candidates:
        known_stamp, _, known_size = str(checked.get(path, "")).rpartition(":")
        if known_stamp == stamp and "x" in known_size:
            problem, size = None, tuple(int(v) for v in known_size.split("x"))
        else:
            problem, size = _decodes(path)
            counter.step()
            if log is not None and counter.clock() - last > CHECK_LOG_SECONDS:
                last = counter.clock()
                log(f"checking the images of {directory}: {counter.status()}")
        if problem:
            bad.append(f"{path}: {problem}")
            continue
        remembered[path] = f"{stamp}:{size[0]}x{size[1]}"
        sizes.add(size)
        paths.append(path)
        labels.append(label)
    if bad:
        listed = "\n  ".join(bad)
        raise DataError(f"{len(bad)} unreadable image(s) in {directory!r}:\n  {listed}")
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=len(class_names))
    if min(counts) < 2:
        empty = [name for name, n in zip(class_names, counts, strict=True) if n < 2]
        raise DataError(
            f"dataset: image folder {directory!r} has too few images: classes {empty} have "
            f"fewer than 2 ({', '.join(IMAGE_EXTENSIONS)} files); every class needs at least 2"
        )
    try:
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        with open(cache_path + ".tmp", "w") as handle:
            json.dump(remembered, handle)
        os.replace(cache_path + ".tmp", cache_path)
    except OSError:
        pass  # a read-only home only costs the next run another check
    size = sizes.pop() if len(sizes) == 1 else None
    return paths, labels, class_names, size, skipped


def directory_fingerprint(directory, paths, labels, class_names):
    """The images of a folder by relative path and size: their count and bytes, the count per
    class, and a digest of the list."""
    digest = hashlib.sha256()
    total = 0
    for path in sorted(str(p) for p in paths):
        size = os.path.getsize(path)
        total += size
        digest.update(f"{os.path.relpath(path, directory)}\0{size}\n".encode())
    counts = np.bincount(np.asarray(labels, "int64"), minlength=len(class_names))
    return {
        "source": "folder",
        "images": len(paths),
        "bytes": total,
        "classes": {name: int(n) for name, n in zip(class_names, counts, strict=True)},
        "sha256": digest.hexdigest(),
    }


def load_directory(directory, image_size=None, seed=0, validation_fraction=0.0, log=None):
    """Images in class sub-folders, split into a fixed test split and, by `seed`, validation
    and training splits. `image_size` defaults to the images' own when they are square and
    all of one size (and then the exports take that size as it is), else 224."""
    _check_fraction(validation_fraction)
    paths, labels, class_names, shared, skipped = find_images(directory, log)
    if skipped and log is not None:
        kinds = sorted({os.path.splitext(p)[1] or "no extension" for p in skipped})
        log(
            f"{directory}: {len(skipped)} file(s) that are not images left out "
            f"({', '.join(kinds[:6])}); images are {', '.join(IMAGE_EXTENSIONS)}"
        )
    square = shared is not None and shared[0] == shared[1]
    if image_size is None:
        image_size = shared[0] if square else 224
    order = np.random.default_rng(TEST_SPLIT_SEED).permutation(len(paths))
    n_test = max(1, int(round(len(paths) * TEST_FRACTION)))
    # The test split is fixed; the seed orders the rest (validation, then training).
    rest = order[n_test:][np.random.default_rng(seed).permutation(len(order) - n_test)]
    order = np.concatenate([order[:n_test], rest])
    paths, labels = np.array(paths)[order], np.array(labels, "int32")[order]
    n_validation = int(round((len(paths) - n_test) * validation_fraction))
    if validation_fraction:
        n_validation = max(1, n_validation)
    if len(paths) - n_test - n_validation < 1:
        raise DataError(
            f"dataset: image folder {directory!r} has {len(paths)} images, too few for a "
            f"training, validation and test split"
        )
    info = DataInfo(
        f"dir:{directory}",
        len(class_names),
        (image_size, image_size, 3),
        len(paths) - n_test - n_validation,
        n_test,
        *STATISTICS["imagenet"],
        tuple(class_names),
        validation_size=n_validation,
        raw_shape=(*shared, 3) if shared else None,
        fingerprint=directory_fingerprint(directory, paths, labels, class_names),
    )

    def read(path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image.set_shape((*(shared or (None, None)), 3))
        return image, label

    def source(p, y):
        return tf.data.Dataset.from_tensor_slices((p, y)).map(read, AUTOTUNE)

    test = slice(0, n_test)
    validation = slice(n_test, n_test + n_validation)
    train = slice(n_test + n_validation, None)
    return Splits(
        source(paths[train], labels[train]),
        source(paths[validation], labels[validation]),
        source(paths[test], labels[test]),
        info,
    )


def load(
    name,
    image_size=None,
    data_dir=None,
    manual_dir=None,
    seed=0,
    validation_split=0.0,
    log=None,
    channels=None,
):
    """`Splits(train, validation, test, info)` for a data set name (see the module docstring).

    `validation_split` is the fraction of the training data held out for validation (0: none).
    `channels` is the channels the model takes: the digits are given as grey RGB images for
    3; another data set must have them already.
    """
    catalog.check_dataset(name)
    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise ValueError(f"image_size: expected a positive integer, got {image_size!r}")
    if name == "digits":
        return load_digits(image_size or 32, seed, validation_split, channels or 1)
    if name.startswith("dir:"):
        splits = load_directory(name[4:], image_size, seed, validation_split, log)
    else:
        splits = load_tfds(
            name, image_size, data_dir, manual_dir, validation_fraction=validation_split
        )
    if channels and splits.info.image_shape[-1] != channels:
        raise ValueError(
            f"dataset: {name!r} has {splits.info.image_shape[-1]} channel(s); the model takes "
            f"{channels}"
        )
    return splits


# --- preprocessing and augmentation --------------------------------------------------------------


def preprocessing_layers(info, augmentation):
    """The evaluation preprocessing of raw images (uint8 or float 0-255) as Keras layers:
    scaling to [0, 1], resizing to the model's size (ImageNet-style sets: shorter side to
    size / 0.875, then the central crop) and normalisation. The evaluation pipeline and the
    exported serving model both use these layers."""
    check_augmentation(augmentation)
    size = info.image_shape[0]
    # float32 whatever the global dtype policy: inputs are made in full precision.
    layers = [keras.layers.Rescaling(1.0 / 255.0, name="scale", dtype="float32")]
    if augmentation == "imagenet":
        resized = int(round(size / info.crop_fraction))
        layers += [
            keras.layers.Resizing(
                resized,
                resized,
                interpolation=info.interpolation,
                crop_to_aspect_ratio=True,
                name="resize",
                dtype="float32",
            ),
            keras.layers.CenterCrop(size, size, name="center_crop", dtype="float32"),
        ]
    elif info.raw_shape is None or tuple(info.raw_shape[:2]) != (size, size):
        layers.append(
            keras.layers.Resizing(
                size, size, interpolation=info.interpolation, name="resize", dtype="float32"
            )
        )
    if augmentation not in ("none", "cifar_no_normalize"):
        layers.append(normalization_layer(info))
    return layers


def preprocessing_contract(info, augmentation):
    """What `preprocessing_layers` does, as data (export.json and `load_run` record it): the
    input a model trained on `info` takes and how raw images become it."""
    check_augmentation(augmentation)
    size = info.image_shape[0]
    if augmentation == "imagenet":
        resize = f"shorter side to {int(round(size / info.crop_fraction))}, central {size}x{size}"
    elif info.raw_shape is None or tuple(info.raw_shape[:2]) != (size, size):
        resize = f"{info.interpolation} to {size}x{size}"
    else:
        resize = None
    normalize = augmentation not in ("none", "cifar_no_normalize")
    return {
        "raw_input": "uint8 images, 0-255, height x width x channels",
        "raw_shape": list(info.raw_shape) if info.raw_shape else None,
        "channels": int(info.image_shape[-1]),
        "scale": "x / 255",
        "resize": resize,
        "center_crop_fraction": info.crop_fraction if augmentation == "imagenet" else None,
        "image_size": [int(size), int(size)],
        "normalize": "(x - mean) / std, per channel" if normalize else None,
        "mean": [float(m) for m in info.mean] if normalize else None,
        "std": [float(v) for v in info.std] if normalize else None,
    }


def info_from_dict(record):
    """A `DataInfo` from its `to_dict()` (as metrics.json stores it)."""
    fields = {field.name for field in dataclasses.fields(DataInfo)}
    values = {k: v for k, v in record.items() if k in fields}
    for name in ("image_shape", "mean", "std", "class_names", "raw_shape"):
        if values.get(name) is not None:
            values[name] = tuple(values[name])
    return DataInfo(**values)


def normalization_layer(info):
    """A float32 `keras.layers.Normalization` with the data set's per-channel `mean` and `std`
    (variance `std ** 2`), named `normalize`."""
    std = np.asarray(info.std, "float32")
    return keras.layers.Normalization(
        mean=np.asarray(info.mean, "float32"),
        variance=std * std,
        name="normalize",
        dtype="float32",
    )


def check_augmentation(augmentation):
    """Returns `augmentation` if it is one of `AUGMENTATIONS`, else raises ValueError listing
    them."""
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"Unknown augmentation {augmentation!r}; expected one of {AUGMENTATIONS}.")
    return augmentation


def pad_and_crop(image, pad, crop=None):
    """Zero-pads by `pad` on every side, then a random crop back to the original size (the
    CIFAR augmentation: a shift of up to `pad` pixels). The crop is `keras.layers.RandomCrop`;
    the padding is `tf.pad`, as Keras has no per-image padding layer."""
    crop = crop or keras.layers.RandomCrop(image.shape[0], image.shape[1], dtype="float32")
    return crop(tf.pad(image, [[pad, pad], [pad, pad], [0, 0]]))


def random_rotation(degrees, seed=None):
    """A rotation by a uniform angle in [-degrees, degrees] about the centre, bilinear with
    zero fill (torchvision's RandomRotation), as `keras.layers.RandomRotation`."""
    return keras.layers.RandomRotation(
        degrees / 360.0, fill_mode="constant", interpolation="bilinear", seed=seed, dtype="float32"
    )


def random_resized_crop(image, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """Inception-style crop of a random area and aspect ratio, resized to `size`.

    Written here because Keras has no random-resized-crop layer (`RandomCrop` keeps the scale,
    `RandomZoom` keeps the aspect ratio); the crop box is TensorFlow's own sampler."""
    begin, crop_size, _ = tf.image.sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        area_range=scale,
        aspect_ratio_range=ratio,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    crop = tf.slice(image, begin, crop_size)
    resized = tf.image.resize(crop, (size, size), method="bilinear")
    return tf.ensure_shape(resized, (size, size, image.shape[-1]))


def augmenter(augmentation, info, training, seed=None):
    """The `(raw image, label) -> (model input, label)` map of an augmentation name.

    Evaluation applies `preprocessing_layers`. Training scales, resizes, then applies the
    recipe's augmentation with Keras' layers: `"digits"` a shift of up to size / 8 pixels,
    `"cifar"` a 4-pixel shift and a horizontal flip, `"cifar_rotate"` also a rotation of up to
    15 degrees (bilinear, zero fill, as torchvision's RandomRotation), `"imagenet"` a random
    resized crop and a flip; then normalisation.
    """
    check_augmentation(augmentation)
    evaluation = preprocessing_layers(info, augmentation)
    if not training:

        def apply(image, label):
            for layer in evaluation:
                image = layer(image)
            return image, label

        return apply

    size = info.image_shape[0]
    scale = evaluation[0]
    normalize = evaluation[-1] if isinstance(evaluation[-1], keras.layers.Normalization) else None
    resize = keras.layers.Resizing(size, size, interpolation=info.interpolation, dtype="float32")
    crop = keras.layers.RandomCrop(size, size, seed=seed, dtype="float32")
    flip = keras.layers.RandomFlip("horizontal", seed=seed, dtype="float32")
    rotation = random_rotation(15.0, seed)
    shift = {"digits": max(1, size // 8), "cifar": 4, "cifar_rotate": 4, "cifar_no_normalize": 4}

    def apply(image, label):
        image = scale(image)
        if augmentation == "imagenet":
            image = random_resized_crop(image, size)
        elif tf.compat.dimension_value(image.shape[0]) != size or image.shape[1] != size:
            image = resize(image)
        if augmentation in shift:
            image = pad_and_crop(image, shift[augmentation], crop)
        if augmentation in ("cifar", "cifar_rotate", "cifar_no_normalize", "imagenet"):
            image = flip(image)
        if augmentation == "cifar_rotate":
            image = rotation(image)
        if normalize is not None:
            image = normalize(image)
        return image, label

    return apply


def pipeline(
    dataset,
    info,
    augmentation="none",
    training=False,
    batch_size=64,
    output_names=None,
    seed=0,
    cache=None,
    drop_remainder=False,
):
    """Batches an un-batched `(raw image, label)` set for `model.fit`.

    Augmentation runs in parallel maps after an optional in-memory cache of the raw images (the
    default for the small sets: digits and CIFAR); labels become one-hot (for label
    smoothing), and a dict `{name: labels}` when `output_names` names several model outputs.
    """
    if cache is None:
        cache = info.name in ("digits", "cifar10", "cifar100")
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(
            max(1, min(info.train_size, 10_000)), seed=seed, reshuffle_each_iteration=True
        )
    # Training's random augmentation draws from stateful generators: mapped in parallel, the
    # draws would go to the images in whatever order the threads run, and the same seed
    # would not give the same run. Mapped in order, they do.
    dataset = dataset.map(
        augmenter(augmentation, info, training, seed),
        num_parallel_calls=None if training else AUTOTUNE,
    )
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)

    def encode(images, labels):
        one_hot = tf.one_hot(labels, info.num_classes)
        if output_names and len(output_names) > 1:
            return images, {name: one_hot for name in output_names}
        return images, one_hot

    return dataset.map(encode, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
