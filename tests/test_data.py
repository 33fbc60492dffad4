"""Data pipelines: the bundled digits, mock TFDS loading, image directories, augmentations."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from keras_attention import data


def _first_batch(dataset):
    return next(iter(dataset))


def test_digits_is_the_real_data_set_with_a_fixed_split():
    train, test, info = data.load("digits")
    assert (info.train_size, info.test_size, info.num_classes) == (1437, 360, 10)
    assert info.image_shape == (32, 32, 1)
    x, y = _first_batch(train.batch(2000))
    assert x.shape == (1437, 32, 32, 1) and x.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    counts = np.bincount(y.numpy(), minlength=10)
    assert counts.min() >= 139 and counts.max() <= 147  # stratified 80% of 174-183 per class
    _, test_again, _ = data.load("digits")
    np.testing.assert_array_equal(
        _first_batch(test.batch(400))[1], _first_batch(test_again.batch(400))[1]
    )


def test_digits_image_size():
    _, _, info = data.load("digits", image_size=16)
    assert info.image_shape == (16, 16, 1)


def test_pipeline_shapes_dtypes_and_normalisation():
    train, test, info = data.load("digits")
    batches = data.pipeline(train, info, "digits", training=True, batch_size=64)
    x, y = _first_batch(batches)
    assert x.shape == (64, 32, 32, 1) and y.shape == (64, 10) and x.dtype == tf.float32
    np.testing.assert_allclose(tf.reduce_sum(y, axis=1), 1.0)
    everything = np.concatenate(
        [b[0].numpy() for b in data.pipeline(test, info, "digits", training=False, batch_size=512)]
    )
    assert abs(everything.mean()) < 0.1 and abs(everything.std() - 1.0) < 0.1
    multi = data.pipeline(test, info, "none", batch_size=8, output_names=["main", "aux1"])
    labels = _first_batch(multi)[1]
    assert set(labels) == {"main", "aux1"}


def test_training_augmentation_is_applied_and_evaluation_is_deterministic():
    train, _, info = data.load("digits")
    raw = _first_batch(train.batch(32))[0].numpy()
    normalised = (raw - info.mean[0]) / info.std[0]

    def first(training):
        batches = data.pipeline(
            train.take(32), info, "digits", training=training, batch_size=32, cache=False
        )
        # Keep the order: compare the same images (shuffle is part of training).
        return _first_batch(batches.unbatch().batch(32))[0].numpy()

    np.testing.assert_allclose(first(False), normalised, rtol=1e-5, atol=1e-5)
    tf.random.set_seed(1)
    augmented = data.pipeline(train.take(32), info, "digits", training=True, batch_size=32)
    seen = np.sort(_first_batch(augmented)[0].numpy().reshape(32, -1), axis=0)
    assert not np.allclose(seen, np.sort(normalised.reshape(32, -1), axis=0))


def test_pad_and_crop_shifts_content():
    image = tf.reshape(tf.range(1, 65, dtype=tf.float32), (8, 8, 1))
    tf.random.set_seed(3)
    crops = [data.pad_and_crop(image, 2).numpy() for _ in range(20)]
    assert all(c.shape == (8, 8, 1) for c in crops)
    assert any(not np.array_equal(c, image.numpy()) for c in crops)
    for crop in crops:  # every crop is the image shifted by at most 2, padded with zeros
        values = crop[crop > 0]
        assert set(values.tolist()) <= set(range(1, 65))


def test_rotation_keeps_the_centre_and_rotates():
    image = np.zeros((33, 33, 1), "float32")
    image[16, 16:] = 1.0  # a ray from the centre to the right
    tf.random.set_seed(4)
    rotated = data.rotate(tf.constant(image), 15.0).numpy()
    assert rotated.shape == image.shape
    assert rotated[16, 16, 0] == pytest.approx(1.0)
    angles = []
    for _ in range(10):
        r = data.rotate(tf.constant(image), 15.0).numpy()[..., 0]
        ys, xs = np.nonzero(r > 0.5)
        angles.append(np.degrees(np.arctan2(-(ys - 16), xs - 16 + 1e-9)[xs > 20].mean()))
    assert max(abs(a) for a in angles) <= 15.5 and np.std(angles) > 1.0


def test_flip_is_applied_by_the_cifar_augmentation():
    image = np.zeros((32, 32, 3), "float32")
    image[:, :16] = 1.0
    info = data.DataInfo("x", 2, (32, 32, 3), 1, 1, (0.0,) * 3, (1.0,) * 3)
    apply = data.augmenter("cifar", info, training=True)
    tf.random.set_seed(5)
    left_heavy = [float(apply(tf.constant(image), 0)[0][:, :16].numpy().mean()) for _ in range(30)]
    assert min(left_heavy) < 0.5 < max(left_heavy)  # some flipped, some not


def test_imagenet_crops():
    image = tf.random.uniform((120, 90, 3))
    assert data.random_resized_crop(image, 64).shape == (64, 64, 3)
    assert data.center_crop(image, 64).shape == (64, 64, 3)


def test_unknown_augmentation():
    _, _, info = data.load("digits")
    with pytest.raises(ValueError, match="Unknown augmentation 'blur'"):
        data.augmenter("blur", info, True)


@pytest.mark.parametrize("name, classes", [("cifar10", 10), ("cifar100", 100)])
def test_tfds_loading_with_mock_data(name, classes, tmp_path):
    with tfds.testing.mock_data(num_examples=12, data_dir=str(tmp_path)):
        train, test, info = data.load(name)
    assert info.num_classes == classes and info.image_shape == (32, 32, 3)
    assert info.mean == data.STATISTICS[name][0]
    batch = data.pipeline(train, info, "cifar_rotate", training=True, batch_size=4)
    x, y = _first_batch(batch)
    assert x.shape == (4, 32, 32, 3) and x.dtype == tf.float32 and y.shape == (4, classes)
    x, _ = _first_batch(data.pipeline(test, info, "cifar", training=False, batch_size=4))
    assert x.shape == (4, 32, 32, 3)


def _write_images(root, corrupt=False):
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 255, (20 + i, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    if corrupt:
        (root / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
        good = (root / "cat" / "0.png").read_bytes()
        (root / "cat" / "truncated.png").write_bytes(good[: len(good) // 2])


def test_image_directory(tmp_path):
    _write_images(tmp_path)
    train, test, info = data.load(f"dir:{tmp_path}", image_size=16)
    assert info.class_names == ("cat", "dog") and info.train_size + info.test_size == 8
    x, y = _first_batch(data.pipeline(train, info, "imagenet", training=True, batch_size=8))
    assert x.shape[1:] == (16, 16, 3) and y.shape[1] == 2
    x, _ = _first_batch(data.pipeline(test, info, "imagenet", training=False, batch_size=8))
    assert x.shape[1:] == (16, 16, 3)


def test_corrupt_images_are_reported_by_file_name(tmp_path):
    _write_images(tmp_path, corrupt=True)
    with pytest.raises(ValueError) as error:
        data.load(f"dir:{tmp_path}", image_size=16)
    message = str(error.value)
    assert "2 unreadable image(s)" in message
    assert "broken.jpg" in message and "truncated.png" in message


def test_directory_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        data.load(f"dir:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="no class sub-directories"):
        data.load(f"dir:{tmp_path}")
