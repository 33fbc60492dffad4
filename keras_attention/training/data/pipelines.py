"""From raw images to model inputs: the evaluation preprocessing as Keras layers
(`preprocessing_layers`, which the export puts inside the served model), the recipes'
augmentations (`augmenter`) and the batched pipeline (`pipeline`).
"""

import keras
import numpy as np
import tensorflow as tf

from keras_attention.training.data.info import AUGMENTATIONS, AUTOTUNE


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
