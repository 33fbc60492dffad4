"""Data pipelines: the bundled digits, mock TFDS loading, image folders, augmentations."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from keras_attention import data, recipes
from keras_attention.training.data import image_folders


def _first_batch(dataset):
    return next(iter(dataset))


def test_digits_is_the_real_data_set_with_a_fixed_split():
    train, validation, test, info = data.load("digits")
    assert (info.train_size, info.validation_size, info.test_size) == (1437, 0, 360)
    assert info.num_classes == 10 and info.image_shape == (32, 32, 1)
    assert info.raw_shape == (8, 8, 1)
    x, y = _first_batch(train.batch(2000))
    assert x.shape == (1437, 8, 8, 1) and x.dtype == tf.uint8
    # scikit-learn's 0-16 ink levels, scaled to 0-255.
    from sklearn.datasets import load_digits

    levels = np.round(np.arange(17) * 255 / 16).astype(np.uint8)
    assert set(np.unique(x.numpy())) <= set(levels.tolist())
    assert len(np.unique(x.numpy())) == 17 and load_digits().images.max() == 16
    counts = np.bincount(y.numpy(), minlength=10)
    assert counts.min() >= 139 and counts.max() <= 147  # stratified 80% of 174-183 per class
    again = data.load("digits")
    np.testing.assert_array_equal(
        _first_batch(test.batch(400))[1], _first_batch(again.test.batch(400))[1]
    )


def test_validation_split_is_a_seeded_part_of_the_training_data():
    whole = data.load("digits")
    split = data.load("digits", validation_split=0.1)
    assert split.info.validation_size == 144 and split.info.train_size == 1293
    assert split.info.test_size == 360
    fingerprint = {img.tobytes() for img, _ in whole.train.as_numpy_iterator()}
    held_out = [img.tobytes() for img, _ in split.validation.as_numpy_iterator()]
    trained = [img.tobytes() for img, _ in split.train.as_numpy_iterator()]
    tested = {img.tobytes() for img, _ in split.test.as_numpy_iterator()}
    # Held out of training, taken from the training data, never from the test set.
    assert set(held_out) <= fingerprint and not set(held_out) & set(trained)
    assert len(set(held_out) & tested) <= 2  # a few digits are drawn identically
    other_seed = data.load("digits", seed=1, validation_split=0.1)
    assert [img.tobytes() for img, _ in other_seed.validation.as_numpy_iterator()] != held_out
    with pytest.raises(ValueError, match=r"validation_split: expected a fraction in \[0, 1\)"):
        data.load("digits", validation_split=1.5)


def test_digits_image_size():
    assert data.load("digits", image_size=16).info.image_shape == (16, 16, 1)


def test_pipeline_shapes_dtypes_and_normalisation():
    train, _, test, info = data.load("digits")
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


def test_evaluation_is_scale_resize_normalise_and_training_augments():
    train, _, _, info = data.load("digits")
    raw = _first_batch(train.batch(32))[0].numpy().astype("float32") / 255.0
    resized = tf.image.resize(raw, (32, 32)).numpy()
    normalised = (resized - info.mean[0]) / info.std[0]

    def first(training):
        batches = data.pipeline(
            train.take(32), info, "digits", training=training, batch_size=32, cache=False
        )
        # Keep the order: compare the same images (shuffle is part of training).
        return _first_batch(batches.unbatch().batch(32))[0].numpy()

    np.testing.assert_allclose(first(False), normalised, rtol=1e-5, atol=1e-5)
    augmented = data.pipeline(train.take(32), info, "digits", training=True, batch_size=32)
    seen = np.sort(_first_batch(augmented)[0].numpy().reshape(32, -1), axis=0)
    assert not np.allclose(seen, np.sort(normalised.reshape(32, -1), axis=0))


def _shift(crop, image):
    """The (dy, dx) with crop[y, x] == image[y - dy, x - dx] where the crop is not padding."""
    size = image.shape[0]
    for dy in range(-size + 1, size):
        for dx in range(-size + 1, size):
            shifted = np.zeros_like(image)
            src = image[max(0, -dy) : size - max(0, dy), max(0, -dx) : size - max(0, dx)]
            shifted[
                max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]
            ] = src
            if np.array_equal(shifted, crop):
                return dy, dx
    return None


def test_pad_and_crop_shifts_by_at_most_the_padding():
    image = np.arange(1, 65, dtype=np.float32).reshape(8, 8, 1)
    shifts = set()
    for _ in range(60):
        crop = data.pad_and_crop(tf.constant(image), 2).numpy()
        assert crop.shape == (8, 8, 1)
        shift = _shift(crop, image)
        assert shift is not None and max(abs(shift[0]), abs(shift[1])) <= 2, shift
        shifts.add(shift)
    assert len(shifts) > 5  # random shifts, not a fixed one
    assert {s[0] for s in shifts} >= {-2, 2} or {s[1] for s in shifts} >= {-2, 2}


def test_rotation_keeps_the_centre_and_rotates_by_at_most_its_angle():
    image = np.zeros((33, 33, 1), "float32")
    image[16, 16:] = 1.0  # a ray from the centre to the right
    rotate = data.random_rotation(15.0, seed=4)
    angles = []
    for _ in range(20):
        rotated = rotate(tf.constant(image)).numpy()[..., 0]
        assert rotated.shape == (33, 33) and rotated[16, 16] == pytest.approx(1.0, abs=1e-5)
        ys, xs = np.nonzero(rotated > 0.5)
        angles.append(np.degrees(np.arctan2(-(ys - 16), xs - 16 + 1e-9)[xs > 20].mean()))
    assert max(abs(a) for a in angles) <= 15.5 and np.std(angles) > 1.0


def test_flip_is_applied_by_the_cifar_augmentation():
    image = np.zeros((32, 32, 3), "uint8")
    image[:, :16] = 255
    info = data.DataInfo("x", 2, (32, 32, 3), 1, 1, (0.0,) * 3, (1.0,) * 3, raw_shape=(32, 32, 3))
    apply = data.augmenter("cifar_no_normalize", info, training=True, seed=5)
    left = [float(apply(tf.constant(image), 0)[0][:, 4:12].numpy().mean()) for _ in range(30)]
    assert min(left) < 0.5 < max(left)  # some flipped, some not


def test_imagenet_crops():
    image = tf.random.uniform((120, 90, 3))
    assert data.random_resized_crop(image, 64).shape == (64, 64, 3)
    info = data.DataInfo("x", 2, (64, 64, 3), 1, 1, (0.5,) * 3, (0.25,) * 3)
    evaluation = data.augmenter("imagenet", info, training=False)
    raw = tf.cast(tf.random.uniform((120, 90, 3), 0, 255), tf.uint8)
    assert evaluation(raw, 0)[0].shape == (64, 64, 3)
    # Centre crop: the evaluation of an image whose centre differs from its border sees
    # only the centre (shorter side to 64 / 0.875 = 73, then the central 64).
    border = np.zeros((146, 146, 3), "uint8")
    border[6:-6, 6:-6] = 255
    seen = evaluation(tf.constant(border), 0)[0].numpy() * 0.25 + 0.5
    np.testing.assert_allclose(seen, 1.0, atol=1e-5)


def test_every_recipe_selects_its_papers_augmentation():
    expected = {
        "mobilenet_v2": "imagenet",
        "resnet_imagenet": "imagenet",
        "se_r_cifar": "cifar_rotate",
        "spem_cifar": "cifar",
        "ssa_cifar": "cifar_no_normalize",
        "digits": "digits",
    }
    assert {name: recipes.get(name).augmentation for name in recipes.names()} == expected


def test_unknown_augmentation():
    info = data.load("digits").info
    with pytest.raises(ValueError, match="Unknown augmentation 'blur'"):
        data.augmenter("blur", info, True)


def test_published_normalisation_statistics():
    # Mean and std per channel, in [0, 1] units, as the papers' code normalises.
    assert data.STATISTICS["cifar10"] == ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
    assert data.STATISTICS["cifar100"] == ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))
    assert data.STATISTICS["imagenet"] == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@pytest.mark.parametrize("name, classes", [("cifar10", 10), ("cifar100", 100)])
def test_tfds_loading_with_mock_data(name, classes, tmp_path):
    with tfds.testing.mock_data(num_examples=20, data_dir=str(tmp_path)):
        train, validation, test, info = data.load(name, validation_split=0.1)
    assert info.num_classes == classes and info.image_shape == (32, 32, 3)
    assert info.raw_shape == (32, 32, 3)
    # (mock data ignores TFDS's split slicing: every split has all 20 examples)
    assert info.validation_size > 0 and info.train_size > 0 and info.test_size == 20
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
        (root / "cat" / "zero.png").write_bytes(b"")
        (root / "dog" / "notes.png").write_text("a text file named .png")


def test_image_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(tmp_path / "cache"))
    _write_images(tmp_path / "images")
    train, validation, test, info = data.load(f"dir:{tmp_path / 'images'}", image_size=16)
    assert info.class_names == ("cat", "dog") and info.train_size + info.test_size == 8
    assert info.raw_shape is None  # the images differ in size
    x, y = _first_batch(data.pipeline(train, info, "imagenet", training=True, batch_size=8))
    assert x.shape[1:] == (16, 16, 3) and y.shape[1] == 2
    x, _ = _first_batch(data.pipeline(test, info, "imagenet", training=False, batch_size=8))
    assert x.shape[1:] == (16, 16, 3)


def test_corrupt_images_are_reported_by_file_name(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(tmp_path / "cache"))
    _write_images(tmp_path / "images", corrupt=True)
    with pytest.raises(ValueError) as error:
        data.load(f"dir:{tmp_path / 'images'}", image_size=16)
    message = str(error.value)
    assert "4 unreadable image(s)" in message
    # A person's reason for each, not the decoder's kernel text.
    assert "broken.jpg: truncated JPEG" in message and "truncated.png: truncated PNG" in message
    assert "zero.png: empty file" in message and "notes.png: not an image" in message
    assert "Op:DecodeImage" not in message and "function_node" not in message


def test_directory_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        data.load(f"dir:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match=r"0 class sub-folder\(s\).*at least 2"):
        data.load(f"dir:{tmp_path}")


def test_hidden_folders_are_ignored_and_skipped_files_counted(tmp_path):
    root = tmp_path / "images"
    for label in ("a", "b", ".ipynb_checkpoints"):
        (root / label).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(np.full((12, 12, 3), 20 * i, np.uint8)).save(root / label / f"{i}.png")
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "b" / ".DS_Store").write_bytes(b"\0")
    lines = []
    splits = data.load(f"dir:{root}", log=lines.append)
    assert splits.info.class_names == ("a", "b") and splits.info.num_classes == 2
    assert any("1 file(s) that are not images left out (.txt)" in line for line in lines), lines
    # The images share one square size: it is the default image size, and the stored shape.
    assert splits.info.image_shape == (12, 12, 3) and splits.info.raw_shape == (12, 12, 3)
    assert data.load(f"dir:{root}", image_size=20).info.image_shape == (20, 20, 3)


def test_checking_a_large_folder_reports_how_far_it_is(tmp_path, monkeypatch):
    _write_images(tmp_path / "images")
    monkeypatch.setattr(image_folders, "CHECK_LOG_SECONDS", -1.0)  # a line after every image here
    lines = []
    data.load(f"dir:{tmp_path / 'images'}", image_size=16, log=lines.append)
    checks = [line for line in lines if line.startswith("checking the images of")]
    assert len(checks) == 8 and checks[-1].split(": ", 1)[1].startswith("8/8")
    assert "about" in checks[0] and "left" in checks[0]


def test_broken_files_are_all_listed_by_the_command_line(tmp_path, capsys):
    from keras_attention import cli

    _write_images(tmp_path / "images", corrupt=True)
    code = cli.main(
        ["--dataset", f"dir:{tmp_path / 'images'}", "--output-dir", str(tmp_path / "r")]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "4 unreadable image(s)" in err and "broken.jpg: " in err and "truncated.png: " in err


def test_the_train_extra_installs_what_tensorflow_datasets_needs_to_download():
    # tensorflow-datasets imports it to download and prepare a set, without requiring it.
    import importlib_resources  # noqa: F401
