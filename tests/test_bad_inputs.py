"""The bad-input corpus: every input that once gave a silent wrong answer or an obscure error,
each with the right answer or the exact error type and words it must give now.

The number of cases is printed at the end of the test run (see conftest.py).
"""

import os

import keras
import numpy as np
import pytest
from conftest import to_numpy
from PIL import Image
from test_layer_numerics import CASES as REFERENCES

from keras_attention import cli, data, layers, models
from keras_attention.training.data import image_folders

pytestmark = pytest.mark.bad_input

SHAPE = (6, 5, 16)
BLOCKS = {
    "se": lambda **kw: layers.SqueezeExcitation(reduction=4, **kw),
    "ssa": lambda **kw: layers.SquashSpatialAttention(**kw),
    "ssa_grouped": lambda **kw: layers.SquashSpatialAttention(groups=4, **kw),
    "spem": lambda **kw: layers.SPEM(**kw),
    "cbam": lambda **kw: layers.CBAM(reduction=4, **kw),
    "eca": lambda **kw: layers.ECA(**kw),
    "srm": lambda **kw: layers.SRM(**kw),
    "sge": lambda **kw: layers.SGE(groups=4, **kw),
    "coord": lambda **kw: layers.CoordinateAttention(reduction=4, **kw),
    "pool_mix": lambda **kw: layers.GlobalPooling("mix", **kw),
    "pool_max": lambda **kw: layers.GlobalPooling("max", **kw),
    "pool_min": lambda **kw: layers.GlobalPooling("min", **kw),
    "aux": lambda **kw: layers.AuxiliaryClassifier(3, conv_filters=4, hidden_units=8, **kw),
}


def _x(scale=1.0, seed=0, shape=SHAPE, batch=2):
    return np.random.default_rng(seed).normal(size=(batch, *shape)) * scale


def _built(name, randomize_weights, **kwargs):
    layer = BLOCKS[name](**kwargs)
    layer.build((None, *SHAPE))
    randomize_weights(layer)
    return layer


# --- inputs to the layers ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["int32", "uint8"])
@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_integer_inputs_are_computed_in_floating_point(name, dtype, randomize_weights):
    layer = _built(name, randomize_weights)
    x = np.abs(_x(scale=20.0)).astype(dtype)
    y = layer(x, training=False)
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    expected = layer(x.astype("float32"), training=False)
    np.testing.assert_allclose(to_numpy(y), to_numpy(expected), rtol=1e-6)
    assert np.abs(to_numpy(y)).max() > 0  # not the all-zero answer of a cast gate


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_an_empty_batch_gives_an_empty_output(name, randomize_weights):
    layer = _built(name, randomize_weights)
    y = layer(np.zeros((0, *SHAPE), "float32"), training=False)
    full = layer(_x().astype("float32"), training=False)
    assert tuple(y.shape) == (0, *tuple(full.shape)[1:])


# 1e20: squares overflow float32. 1e37, all positive: the sum behind a plain mean overflows too;
# SRM's spatial statistics scale first (blocks with an average pool, and SGE's grouped sums, sum
# in the input's dtype there, as Keras' own pooling does).
HUGE_CASES = [(name, 1e20) for name in sorted(REFERENCES)] + [("srm", 1e37)]


@pytest.mark.parametrize("name, scale", HUGE_CASES)
def test_huge_finite_inputs_give_the_float64_reference(name, scale, randomize_weights):
    """The references compute in float64."""
    make, reference = REFERENCES[name]
    layer = make()
    x = _x(scale=scale, seed=3, shape=(7, 9, 16), batch=3).astype("float32")
    if scale > 1e30:
        x = np.abs(x)
        assert not np.isfinite(np.sum(x[0, :, :, 0]))
    layer.build(x.shape)
    randomize_weights(layer)
    got = to_numpy(layer(x, training=False))
    assert np.all(np.isfinite(got)), name
    want = reference(layer, x.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * np.abs(want).max())


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_pure_float16_is_finite_and_matches_float32(name, randomize_weights):
    """Activations of 300: their products and squares (9e4) overflow float16's 65504."""
    reference = _built(name, randomize_weights)
    half = type(reference).from_config({**reference.get_config(), "dtype": "float16"})
    half.build((None, *SHAPE))
    half.set_weights(reference.get_weights())
    x = np.abs(_x(scale=300.0)).astype("float16")
    y = to_numpy(keras.ops.cast(half(x, training=False), "float32"))
    assert np.all(np.isfinite(y)), name
    want = to_numpy(reference(x.astype("float32"), training=False))
    np.testing.assert_allclose(y, want, rtol=1e-2, atol=1e-2 * np.abs(want).max())


def test_an_se_r_context_of_another_batch_is_a_clear_error():
    layer = layers.SqueezeExcitation(reduction=4, name="se_r")
    layer(_x().astype("float32"), context=np.zeros((2, 10), "float32"))
    with pytest.raises(ValueError) as error:
        layer(_x().astype("float32"), context=np.zeros((3, 10), "float32"))
    message = str(error.value)
    assert "se_r" in message and "(2, 10)" in message and "(3, 10)" in message


def test_an_se_r_context_of_another_width_is_a_clear_error():
    layer = layers.SqueezeExcitation(reduction=4, name="se_r")
    layer(_x().astype("float32"), context=np.zeros((2, 10), "float32"))
    with pytest.raises(ValueError) as error:
        layer(_x().astype("float32"), context=np.zeros((2, 7), "float32"))
    message = str(error.value)
    assert "se_r" in message and "expected a context of shape (2, 10)" in message
    assert "(2, 7)" in message


# --- constructor arguments -----------------------------------------------------------------------

CONSTRUCTORS = {
    "eca_kernel_size_0": (lambda: layers.ECA(kernel_size=0), "kernel_size must be an integer >= 1"),
    "eca_kernel_size_even": (lambda: layers.ECA(kernel_size=4), "kernel_size must be odd"),
    "se_hidden_units_0": (
        lambda: layers.SqueezeExcitation(hidden_units=0),
        "hidden_units must be an integer >= 1 or None, got 0",
    ),
    "se_reduction_0": (
        lambda: layers.SqueezeExcitation(reduction=0),
        "reduction must be an integer >= 1, got 0",
    ),
    "coord_reduction_0": (
        lambda: layers.CoordinateAttention(reduction=0),
        "reduction must be an integer >= 1, got 0",
    ),
    "cbam_reduction_0": (lambda: layers.CBAM(reduction=0), "reduction must be an integer >= 1"),
    "ssa_groups_0": (
        lambda: layers.SquashSpatialAttention(groups=0),
        "groups must be an integer >= 1, got 0",
    ),
    "sge_groups_0": (lambda: layers.SGE(groups=0), "groups must be an integer >= 1, got 0"),
    "spem_alpha_negative": (lambda: layers.SPEM(alpha=-1.0), "alpha must be a number in [0.0"),
    "mix_penalty_negative": (
        lambda: layers.GlobalPooling("mix", mix_penalty=-0.1),
        "mix_penalty must be a number in [0.0",
    ),
    "aux_classes_0": (
        lambda: layers.AuxiliaryClassifier(0),
        "num_classes must be an integer >= 1, got 0",
    ),
    "aux_dropout_1": (
        lambda: layers.AuxiliaryClassifier(3, dropout=1.0),
        "dropout must be a number in [0.0, 1.0), got 1.0",
    ),
    "cifar_resnet_negative": (lambda: models.cifar_resnet(-4), "depth -4 does not fit"),
    "cifar_resnet_no_blocks": (lambda: models.cifar_resnet(2), "depth 2 does not fit"),
    "cifar_resnet_21": (lambda: models.cifar_resnet(21), "expected 6n + 2 with n >= 1"),
    "mobilenet_v2_alpha_0": (lambda: models.mobilenet_v2(0), "alpha (the width multiplier)"),
    "mobilenet_v2_alpha_negative": (lambda: models.mobilenet_v2(-1), "must be > 0, got -1"),
    "resnet_51": (lambda: models.resnet(51), "depth must be one of"),
    "cifar_se_resnet_20": (lambda: models.cifar_se_resnet(20), "depth must be one of"),
    "classes_0": (
        lambda: models.cifar_resnet(20, num_classes=0),
        "num_classes must be an integer >= 1, got 0",
    ),
}


@pytest.mark.parametrize("case", sorted(CONSTRUCTORS))
def test_impossible_arguments_are_rejected_where_given(case):
    make, words = CONSTRUCTORS[case]
    with pytest.raises(ValueError) as error:
        make()
    assert words in str(error.value)


def test_inference_model_of_a_plain_model_is_the_model():
    model = models.cifar_resnet(8, input_shape=(16, 16, 3))
    assert models.inference_model(model) is model
    inputs = keras.Input((4,))
    two = keras.Model(inputs, [keras.layers.Dense(2)(inputs), keras.layers.Dense(3)(inputs)])
    with pytest.raises(ValueError, match="no layer named 'main'"):
        models.inference_model(two)


def test_sge_block_options_reach_the_blocks():
    from keras_attention.config import TrainConfig, resolve

    config = TrainConfig(attention="sge", attention_kwargs={"groups": 8})
    model = resolve(config).build_model(10, (16, 16, 3))
    assert {layer.groups for layer in model.layers if isinstance(layer, layers.SGE)} == {8}
    with pytest.raises(ValueError, match=r"groups=64 must divide"):
        resolve(TrainConfig(attention="sge")).build_model(10, (16, 16, 3))


# --- the command line ----------------------------------------------------------------------------

COMMAND_LINE = {
    "model_typo": (["--model", "resnet51"], ["model 'resnet51'", "resnet50"]),
    "epochs_negative": (["--epochs", "-3"], ["--epochs", "'-3'", "positive integer"]),
    "epochs_zero": (["--epochs", "0"], ["--epochs", "'0'"]),
    "batch_size_zero": (["--batch-size", "0"], ["--batch-size", "'0'"]),
    "image_size_zero": (["--image-size", "0"], ["--image-size", "'0'"]),
    "reduction_zero": (["--reduction", "0"], ["--reduction", "'0'"]),
    "aux_positions_without_heads": (
        ["--aux-positions", "2,3"],
        ["--aux-positions", "cifar_se_resnet", "'cifar_resnet20'"],
    ),
    "aux_positions_out_of_range": (
        ["--model", "cifar_se_resnet18", "--aux-positions", "4"],
        ["--aux-positions", "1, 2, 3", "(4,)"],
    ),
    "aux_weights_without_heads": (["--aux-loss-weights", "0.3"], ["--aux-loss-weights"]),
    "unknown_block": (["--attention", "sse"], ["--attention", "'sse'", "coord"]),
    "unknown_dataset": (["--dataset", "mnist"], ["data set 'mnist'", "cifar10"]),
    "missing_folder": (["--dataset", "dir:/no/such/folder"], ["/no/such/folder", "not exist"]),
    "unknown_recipe": (["--recipe", "adamw"], ["--recipe", "'adamw'", "spem_cifar"]),
    "bad_block_arguments": (["--attention-kwargs", "groups"], ["--attention-kwargs", "NAME=VALUE"]),
    "validation_split_one": (["--validation-split", "1.5"], ["--validation-split", "'1.5'"]),
    "unknown_command": (["trian"], ["unknown command 'trian'", "train"]),
    "export_without_run": (["export", "/no/run/here"], ["export", "holds no finished run"]),
    "export_unknown_mode": (["export", "x", "--modes", "int4"], ["--modes", "int4"]),
    "tune_bad_reduction": (
        ["tune", "--fix", "reduction=abc", "--epochs", "1"],
        ["--fix reduction", "positive integer", "'abc'"],
    ),
    "tune_unknown_hyperparameter": (
        ["tune", "--fix", "depth=3"],
        ["--fix depth", "unknown hyperparameter"],
    ),
    "tune_bad_range": (["tune", "--range", "aux1_weight=0.5"], ["--range aux1_weight"]),
    "profile_unknown_model": (["profile", "vgg16"], ["unknown model 'vgg16'"]),
    "list_unknown": (["list", "losses"], ["invalid choice", "'losses'"]),
}


@pytest.mark.parametrize("case", sorted(COMMAND_LINE))
def test_bad_command_lines_end_with_one_line_and_status_2(case, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, words = COMMAND_LINE[case]
    output_dir = tmp_path / "run"
    if argv[0] not in ("export", "tune", "profile", "list", "trian"):
        argv = [*argv, "--output-dir", str(output_dir)]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-attention"), captured.err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in captured.err + captured.out
    assert not output_dir.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "argv, code, words",
    [
        (["--attention", "se", "--attention-kwargs", "reduction=0"], 2, "reduction must be"),
        (["--dataset", "dir:EMPTY"], 1, "too few images"),
    ],
    ids=["bad_block_value", "empty_image_folder"],
)
def test_a_command_refused_once_running_leaves_no_folder_and_no_lock(
    argv, code, words, capsys, tmp_path, image_cache
):
    """Values found wrong only when the data or the model is built, after the folder was
    claimed: the refusal removes what the command created."""
    (tmp_path / "empty" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "b").mkdir()
    argv = [a.replace("EMPTY", str(tmp_path / "empty")) for a in argv]
    output_dir = tmp_path / "run"
    assert cli.main([*argv, "--epochs", "1", "--output-dir", str(output_dir)]) == code
    assert words in capsys.readouterr().err
    assert not output_dir.exists()
    # A folder that existed keeps existing, without a lock left in it.
    output_dir.mkdir()
    assert cli.main([*argv, "--epochs", "1", "--output-dir", str(output_dir)]) == code
    assert os.listdir(output_dir) == []


# --- image folders -------------------------------------------------------------------------------


def _folder(root, counts, size=(10, 12)):
    rng = np.random.default_rng(0)
    for label, count in counts.items():
        (root / label).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


@pytest.fixture
def image_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_folder_with_one_class_is_a_clear_error(tmp_path, image_cache):
    root = _folder(tmp_path / "images", {"only": 5})
    with pytest.raises(
        ValueError, match=r"1 class sub-folder\(s\) \['only'\]; expected at least 2"
    ):
        data.load(f"dir:{root}")


def test_a_folder_with_one_image_is_a_clear_error(tmp_path, image_cache):
    root = _folder(tmp_path / "images", {"a": 1, "b": 0})
    with pytest.raises(ValueError, match=r"too few images: classes \['a', 'b'\] have fewer than 2"):
        data.load(f"dir:{root}")


def test_a_tiff_named_png_is_named_before_training(tmp_path, image_cache):
    root = _folder(tmp_path / "images", {"a": 3, "b": 3})
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "b" / "scan.png", format="TIFF")
    with pytest.raises(ValueError) as error:
        data.load(f"dir:{root}")
    message = str(error.value)
    assert "1 unreadable image(s)" in message
    assert "scan.png: unsupported format (TIFF); use PNG, JPEG, GIF or BMP" in message


def test_checked_folders_are_remembered_until_a_file_changes(tmp_path, image_cache, monkeypatch):
    root = _folder(tmp_path / "images", {"a": 3, "b": 3})
    decoded = []
    original = image_folders._decodes

    def counting(path):
        decoded.append(path)
        return original(path)

    monkeypatch.setattr(image_folders, "_decodes", counting)
    data.load(f"dir:{root}")
    assert len(decoded) == 6
    data.load(f"dir:{root}")
    assert len(decoded) == 6  # nothing decoded again
    (root / "a" / "0.png").write_bytes(b"not an image any more")
    with pytest.raises(ValueError, match=r"0\.png"):
        data.load(f"dir:{root}")
    assert len(decoded) == 7  # only the changed file


# --- export --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bias_shape", [(1, 16, 1, 1), (16, 1, 1), (1, 1, 16, 1), (1, 1, 1, 16), (16,), (1, 16)]
)
def test_a_bias_shaped_for_one_axis_is_added_along_that_axis(bias_shape):
    # Keras' TensorFlow add treated every such bias as belonging to the last axis when that
    # axis had the bias' length (here all of 16 x 16 x 16): a channels_first Conv2D's bias was
    # added along the width, in eager TensorFlow and in TFLite.
    x = np.random.default_rng(0).random((2, 16, 16, 16), dtype="float32")
    bias = np.arange(1, 17, dtype="float32").reshape(bias_shape)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras.ops.add(x, bias)), x + bias)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras.ops.add(bias, x)), bias + x)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="Keras' TensorFlow add")
def test_the_add_correction_is_installed_exactly_when_the_installed_keras_has_the_bug():
    from keras.src.backend.tensorflow import numpy as tf_numpy

    from keras_attention import keras_fixes

    installed = getattr(tf_numpy.add, "corrected_by_keras_attention", False)
    keras_add = tf_numpy.add.keras_add if installed else tf_numpy.add
    x = np.zeros((1, 4, 3, 4), "float32")  # the last axis has the bias' length
    bias = np.arange(4, dtype="float32").reshape(1, 4, 1, 1)
    has_bug = not np.array_equal(keras.ops.convert_to_numpy(keras_add(x, bias)), x + bias)
    assert installed == has_bug == keras_fixes.affected(), (keras.__version__, has_bug)
    assert keras_fixes.affected("3.15.1") and not keras_fixes.affected("3.16.0")


def test_channels_first_conv_bias_is_added_along_the_channels_when_width_equals_filters():
    conv = keras.layers.Conv2D(16, 1, data_format="channels_first")
    x = np.random.default_rng(0).random((2, 3, 10, 16), dtype="float32")
    conv.build(x.shape)
    conv.bias.assign(np.arange(16, dtype="float32"))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in conv.weights)
    expected = np.einsum("nchw,cf->nfhw", x, kernel[0, 0]) + bias[None, :, None, None]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(conv(x)), expected, atol=1e-5)


@pytest.mark.parametrize("pooling", ["mix", "max", "avg"])
def test_channels_first_blocks_after_batch_norm_convert_to_tflite_exactly(pooling, tmp_path):
    # The reported case: width 16 equals the convolution's 16 filters, whose bias TFLite added
    # along the width (see keras_attention/keras_fixes.py).
    from keras_attention import export

    outputs = {}
    for fmt, shape in (("channels_last", (12, 16, 3)), ("channels_first", (3, 12, 16))):
        axis = 1 if fmt == "channels_first" else -1
        inputs = keras.Input(shape)
        x = keras.layers.Conv2D(16, 3, padding="same", data_format=fmt)(inputs)
        x = keras.layers.BatchNormalization(axis=axis)(x)
        x = layers.SqueezeExcitation(4, pooling=pooling, data_format=fmt)(x)
        x = layers.GlobalPooling(pooling, data_format=fmt)(x)
        model = keras.Model(inputs, keras.layers.Dense(5)(x))
        rng = np.random.default_rng(0)
        for weight in model.weights:
            value = rng.uniform(0.5, 2, weight.shape) if "variance" in weight.path else None
            weight.assign(rng.normal(0, 0.5, weight.shape) if value is None else value)
        x = np.random.default_rng(1).random((4, *shape), dtype="float32")
        report = export.export_tflite(model, str(tmp_path / f"{fmt}.tflite"), x)
        outputs[fmt] = report.max_abs_diff / np.abs(model.predict(x, verbose=0)).max()
    assert outputs["channels_first"] < 1e-5 and outputs["channels_last"] < 1e-5, outputs
