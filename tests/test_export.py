"""Export of every block and every factory: .keras, SavedModel and TFLite, checked."""

import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_attention import export, layers, models
from keras_attention.training import TrainConfig, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Ops of TFLite's built-in runtime look like CONV_2D, MEAN, LOGISTIC; Flex ops are "FlexX"
# and custom ops keep their TensorFlow names.
BUILTIN_OP = r"^[A-Z0-9_]+$"


def _inputs(shape, count=4, seed=0):
    return np.random.default_rng(seed).random((count, *shape), dtype="float32")


def _block_model(name):
    inputs = keras.Input((12, 10, 3))
    x = keras.layers.Conv2D(16, 3, padding="same")(inputs)
    x = layers.get(name, **({"groups": 4} if name == "sge" else {}))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(5)(x), name=f"with_{name}")


def _check(model, tmp_path, input_shape):
    x = _inputs(input_shape)
    keras_report = export.export_keras(model, str(tmp_path / "m.keras"), x)
    assert keras_report.max_abs_diff == 0.0
    saved = export.export_saved_model(model, str(tmp_path / "saved"), x)
    assert saved.max_abs_diff <= 1e-5 and saved.size_bytes > 0
    tflite = export.export_tflite(model, str(tmp_path / "m.tflite"), x)
    assert tflite.max_abs_diff <= 1e-4
    assert tflite.ops and all(re.match(BUILTIN_OP, op) for op in tflite.ops)
    return tflite


@pytest.mark.parametrize("name", layers.names())
def test_every_block_exports(name, tmp_path, randomize_weights):
    model = _block_model(name)
    randomize_weights(model.layers[2])
    _check(model, tmp_path, (12, 10, 3))


FACTORIES = {
    "cifar_resnet8_se": (
        lambda: models.cifar_resnet(8, "se", input_shape=(16, 16, 3)),
        (16, 16, 3),
    ),
    "preact_resnet8_spem": (
        lambda: models.cifar_resnet(8, "spem", preact=True, input_shape=(16, 16, 3)),
        (16, 16, 3),
    ),
    "cifar_se_r_resnet18": (
        lambda: models.inference_model(
            models.cifar_se_resnet(18, num_classes=5, aux_positions=(2, 3), input_shape=(16, 16, 3))
        ),
        (16, 16, 3),
    ),
    "resnet18_ssa": (
        lambda: models.resnet(18, "ssa", num_classes=7, input_shape=(32, 32, 3)),
        (32, 32, 3),
    ),
    "mobilenet_v2_0.35_eca": (
        lambda: models.mobilenet_v2(0.35, "eca", num_classes=4, input_shape=(32, 32, 3)),
        (32, 32, 3),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_factory_exports(name, tmp_path):
    make, shape = FACTORIES[name]
    tflite = _check(make(), tmp_path, shape)
    if name == "cifar_se_r_resnet18":
        assert "SOFTMAX" not in tflite.ops  # logits feed SE by default


def test_multi_output_models_must_export_their_inference_form(tmp_path):
    model = models.cifar_se_resnet(18, aux_positions=(2,), input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="inference_model"):
        export.export_saved_model(model, str(tmp_path / "s"), _inputs((16, 16, 3)))


class Tilt(keras.layers.Layer):
    """A layer on an op with no TFLite built-in kernel (a projective image transform)."""

    def call(self, x):
        transform = tf.repeat(
            tf.constant([[1.0, 0.1, 0.0, -0.1, 1.0, 0.0, 0.0, 0.0]]), tf.shape(x)[0], axis=0
        )
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=x,
            transforms=transform,
            output_shape=tf.shape(x)[1:3],
            fill_value=0.0,
            interpolation="BILINEAR",
            fill_mode="CONSTANT",
        )


def test_an_op_without_builtin_kernel_is_a_clear_error(tmp_path):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, Tilt(name="tilt")(keras.layers.Conv2D(4, 3)(inputs)))
    with pytest.raises(export.UnsupportedOpError) as error:
        export.export_tflite(model, str(tmp_path / "m.tflite"), _inputs((8, 8, 3)))
    message = str(error.value)
    assert "ImageProjectiveTransformV3 (in layer tilt)" in message and "Flex" in message
    assert not (tmp_path / "m.tflite").exists()


@pytest.mark.slow
def test_full_int8_of_a_network_trained_on_digits(tmp_path):
    run_dir = tmp_path / "run"
    train(
        TrainConfig(
            model="cifar_resnet8",
            attention="se",
            image_size=16,
            epochs=6,
            output_dir=str(run_dir),
            verbose=0,
        )
    )
    with open(run_dir / "metrics.json") as handle:
        recorded = json.load(handle)
    assert recorded["tflite"]["max_abs_diff"] <= 1e-4 and (run_dir / "model.tflite").exists()
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "train_keras.py"), "export", str(run_dir)],
        cwd=ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "tflite_full_int8" in result.stdout
    with open(run_dir / "export" / "export.json") as handle:
        exported = json.load(handle)
    accuracy = exported["test_accuracy"]
    assert accuracy["keras"] >= 0.9
    assert accuracy["tflite_full_int8"] >= accuracy["keras"] - 0.02
    assert accuracy["tflite_float32"] == pytest.approx(accuracy["keras"], abs=1 / 360)
    formats = {report["format"]: report for report in exported["reports"]}
    assert set(formats) == {
        "keras",
        "saved_model",
        "tflite_float32",
        "tflite_float16",
        "tflite_dynamic_int8",
        "tflite_full_int8",
    }
    sizes = {name: formats[name]["size_bytes"] for name in formats}
    assert sizes["tflite_full_int8"] < sizes["tflite_float16"] < sizes["tflite_float32"]
    assert formats["saved_model"]["max_abs_diff"] <= 1e-5
