"""tf.data pipelines: the bundled digits, tensorflow-datasets, and directories of images.

`load(name, ...)` returns the un-batched train and test sets of `(image, label)` and a
`DataInfo`; `pipeline(dataset, info, augmentation, training, batch_size)` applies a recipe's
augmentation as parallel maps, batches, one-hot encodes and prefetches.

Names: `"digits"` (scikit-learn's 1,797 real 8x8 handwritten digits, bundled and offline, with a
fixed stratified 80/20 split), `"cifar10"`, `"cifar100"`, `"imagenette"`, `"imagenet2012"` (from
tensorflow-datasets; ImageNet needs its manual download directory), and `"dir:PATH"` for a
directory with one sub-directory of images per class.
"""

import dataclasses
import math
import os

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# Per-channel mean and std of the training images, in [0, 1] units.
STATISTICS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
TFDS_SPLITS = {
    "cifar10": ("train", "test"),
    "cifar100": ("train", "test"),
    "imagenette": ("train", "validation"),
    "imagenet2012": ("train", "validation"),
}
AUGMENTATIONS = ("none", "digits", "cifar", "cifar_rotate", "cifar_no_normalize", "imagenet")


@dataclasses.dataclass
class DataInfo:
    name: str
    num_classes: int
    image_shape: tuple  # (height, width, channels) the pipelines produce
    train_size: int
    test_size: int
    mean: tuple
    std: tuple
    class_names: tuple = ()

    def to_dict(self):
        return dataclasses.asdict(self)


# --- sources -----------------------------------------------------------------------------------


def load_digits(image_size=32, seed=0, test_fraction=0.2):
    """scikit-learn's digits as float images in [0, 1] of `image_size` x `image_size` x 1."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    images = tf.image.resize(images, (image_size, image_size), method="bilinear").numpy()
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=test_fraction, random_state=seed, stratify=digits.target
    )
    mean, std = float(x_train.mean()), float(x_train.std())
    info = DataInfo(
        "digits",
        10,
        (image_size, image_size, 1),
        len(x_train),
        len(x_test),
        (mean,),
        (std,),
        tuple(str(i) for i in range(10)),
    )
    return (
        tf.data.Dataset.from_tensor_slices((x_train, y_train.astype("int32"))),
        tf.data.Dataset.from_tensor_slices((x_test, y_test.astype("int32"))),
        info,
    )


def load_tfds(name, image_size=None, data_dir=None, manual_dir=None, download=True):
    """A tensorflow-datasets image classification set as float images in [0, 1]."""
    import tensorflow_datasets as tfds

    if name not in TFDS_SPLITS:
        raise ValueError(f"load_tfds: unsupported data set {name!r}; expected {list(TFDS_SPLITS)}.")
    kwargs = {}
    if manual_dir:
        kwargs["download_and_prepare_kwargs"] = {
            "download_config": tfds.download.DownloadConfig(manual_dir=manual_dir)
        }
    (train, test), builder_info = tfds.load(
        name,
        split=list(TFDS_SPLITS[name]),
        as_supervised=True,
        with_info=True,
        data_dir=data_dir,
        download=download,
        **kwargs,
    )
    shape = builder_info.features["image"].shape
    if image_size is None:
        if shape[0] is None:
            image_size = 224
        else:
            image_size = shape[0]
    channels = shape[-1] or 3
    stats = STATISTICS.get(name, STATISTICS["imagenet"])
    labels = builder_info.features["label"]
    split_train, split_test = TFDS_SPLITS[name]
    info = DataInfo(
        name,
        labels.num_classes,
        (image_size, image_size, channels),
        _split_size(builder_info, split_train, train),
        _split_size(builder_info, split_test, test),
        *stats,
        tuple(labels.names),
    )
    return train.map(_to_float, AUTOTUNE), test.map(_to_float, AUTOTUNE), info


def _split_size(builder_info, split, dataset):
    """Examples in a split: from the data set's metadata, else (mock data, some community
    sets) from the dataset's cardinality."""
    if builder_info.splits:
        return builder_info.splits[split].num_examples
    count = int(dataset.cardinality())
    if count < 0:
        raise ValueError(f"The size of split {split!r} of {builder_info.name!r} is unknown.")
    return count


def find_images(directory):
    """`(paths, labels, class_names)` for a directory with one sub-directory per class.

    Every file is opened and verified first, so that a corrupt or unsupported image is
    reported by its file name instead of failing deep inside TensorFlow during training.
    """
    from PIL import Image, UnidentifiedImageError

    if not os.path.isdir(directory):
        raise ValueError(f"Image directory {directory!r} does not exist.")
    class_names = sorted(
        d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d))
    )
    if not class_names:
        raise ValueError(f"Image directory {directory!r} has no class sub-directories.")
    paths, labels, bad = [], [], []
    for label, class_name in enumerate(class_names):
        folder = os.path.join(directory, class_name)
        for file_name in sorted(os.listdir(folder)):
            path = os.path.join(folder, file_name)
            if not file_name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            try:
                with Image.open(path) as image:
                    image.verify()
                with Image.open(path) as image:
                    image.load()  # verify() misses truncated pixel data
            except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as error:
                bad.append(f"{path}: {error}")
                continue
            paths.append(path)
            labels.append(label)
    if bad:
        listed = "\n  ".join(bad)
        raise ValueError(f"{len(bad)} unreadable image(s) in {directory!r}:\n  {listed}")
    if not paths:
        raise ValueError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) found in {directory!r}.")
    return paths, labels, class_names


def load_directory(directory, image_size=224, test_fraction=0.2, seed=0):
    """Images in class sub-directories, split into train and test with a fixed seed."""
    paths, labels, class_names = find_images(directory)
    order = np.random.default_rng(seed).permutation(len(paths))
    paths, labels = np.array(paths)[order], np.array(labels, "int32")[order]
    n_test = max(1, int(round(len(paths) * test_fraction))) if len(paths) > 1 else 0
    info = DataInfo(
        f"dir:{directory}",
        len(class_names),
        (image_size, image_size, 3),
        len(paths) - n_test,
        n_test,
        *STATISTICS["imagenet"],
        tuple(class_names),
    )

    def read(path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image.set_shape((None, None, 3))
        return _to_float(image, label)

    def source(p, y):
        return tf.data.Dataset.from_tensor_slices((p, y)).map(read, AUTOTUNE)

    return source(paths[n_test:], labels[n_test:]), source(paths[:n_test], labels[:n_test]), info


def load(name, image_size=None, data_dir=None, manual_dir=None, seed=0):
    """Un-batched `(train, test, info)` for a data set name (see the module docstring)."""
    if name == "digits":
        return load_digits(image_size or 32, seed)
    if name.startswith("dir:"):
        return load_directory(name[4:], image_size or 224, seed=seed)
    return load_tfds(name, image_size, data_dir, manual_dir)


# --- augmentations -----------------------------------------------------------------------------


def _to_float(image, label):
    return tf.image.convert_image_dtype(image, tf.float32), label


def pad_and_crop(image, pad):
    """Zero-pads by `pad` on every side and crops back to the original size at random."""
    shape = tf.shape(image)
    padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
    return tf.image.random_crop(padded, shape)


def rotate(image, degrees):
    """Rotates about the centre by a uniform random angle in [-degrees, degrees] (bilinear,
    zero fill), as torchvision's RandomRotation."""
    angle = tf.random.uniform((), -degrees, degrees) * math.pi / 180.0
    height = tf.cast(tf.shape(image)[0], tf.float32)
    width = tf.cast(tf.shape(image)[1], tf.float32)
    cos, sin = tf.cos(angle), tf.sin(angle)
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    # Output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2).
    transform = [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=tf.stack(transform)[None],
        output_shape=tf.shape(image)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )[0]


def random_resized_crop(image, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """Inception-style crop of a random area and aspect ratio, resized to `size`."""
    begin, crop_size, _ = tf.image.sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        area_range=scale,
        aspect_ratio_range=ratio,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    crop = tf.slice(image, begin, crop_size)
    return tf.image.resize(crop, (size, size), method="bilinear")


def center_crop(image, size, fraction=0.875):
    """Resizes the shorter side to `size / fraction`, then takes the central `size` square."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = (size / fraction) / tf.reduce_min(shape)
    resized = tf.image.resize(image, tf.cast(tf.round(shape * scale), tf.int32), method="bilinear")
    return tf.image.resize_with_crop_or_pad(resized, size, size)


def augmenter(augmentation, info, training):
    """The `(image, label) -> (image, label)` map of an augmentation name."""
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"Unknown augmentation {augmentation!r}; expected one of {AUGMENTATIONS}.")
    size = info.image_shape[0]
    mean = tf.constant(info.mean, tf.float32)
    std = tf.constant(info.std, tf.float32)
    normalize = augmentation not in ("none", "cifar_no_normalize")

    def apply(image, label):
        if augmentation == "imagenet":
            image = random_resized_crop(image, size) if training else center_crop(image, size)
        elif tf.compat.dimension_value(image.shape[0]) != size:
            image = tf.image.resize(image, (size, size), method="bilinear")
        if training and augmentation.startswith("cifar"):
            image = pad_and_crop(image, 4)
        if training and augmentation == "digits":
            image = pad_and_crop(image, max(1, size // 8))
        if training and augmentation in ("cifar", "cifar_rotate", "cifar_no_normalize", "imagenet"):
            image = tf.image.random_flip_left_right(image)
        if training and augmentation == "cifar_rotate":
            image = rotate(image, 15.0)
        if normalize:
            image = (image - mean) / std
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
    """Batches an un-batched `(image, label)` set for `model.fit`.

    Augmentation runs in parallel maps after an optional in-memory cache (the default for the
    small in-memory sets: digits and CIFAR); labels become one-hot (for label smoothing), and
    a dict `{name: labels}` when `output_names` names several model outputs.
    """
    if cache is None:
        cache = info.name in ("digits", "cifar10", "cifar100")
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(
            min(info.train_size, 10_000), seed=seed, reshuffle_each_iteration=True
        )
    dataset = dataset.map(augmenter(augmentation, info, training), num_parallel_calls=AUTOTUNE)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)

    def encode(images, labels):
        one_hot = tf.one_hot(labels, info.num_classes)
        if output_names and len(output_names) > 1:
            return images, {name: one_hot for name in output_names}
        return images, one_hot

    return dataset.map(encode, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
