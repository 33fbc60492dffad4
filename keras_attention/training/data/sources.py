"""The data sets as raw splits: `load(name, ...)` dispatches to the bundled digits, tensorflow-
datasets and folders of images.
"""

import collections
import hashlib
import os

import numpy as np
import tensorflow as tf

from keras_attention import catalog
from keras_attention.errors import DataError
from keras_attention.training.data.image_folders import directory_fingerprint, find_images
from keras_attention.training.data.info import (
    AUTOTUNE,
    IMAGE_EXTENSIONS,
    STATISTICS,
    TEST_FRACTION,
    TEST_SPLIT_SEED,
    DataInfo,
    check_fraction,
)

Splits = collections.namedtuple("Splits", ["train", "validation", "test", "info"])


def load_digits(image_size=32, seed=0, validation_fraction=0.0, channels=1):
    """scikit-learn's digits as 8x8x1 uint8 images (the 0-16 ink levels scaled to 0-255);
    `channels=3` gives them as grey RGB images (for networks pretrained on colour images)."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    check_fraction(validation_fraction)
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
    check_fraction(validation_fraction)
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


def load_directory(directory, image_size=None, seed=0, validation_fraction=0.0, log=None):
    """Images in class sub-folders, split into a fixed test split and, by `seed`, validation
    and training splits. `image_size` defaults to the images' own when they are square and
    all of one size (and then the exports take that size as it is), else 224."""
    check_fraction(validation_fraction)
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
