"""The keras-attention command line: its three entry points, help and lists, a run, loading what
it saved in a fresh process, and a deployable export used on raw image files."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from keras_attention import catalog, cli, recipes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
COMMAND = (sys.executable, "-m", "keras_attention")


def _run(args, cwd=ROOT, timeout=600, **env):
    environment = dict(os.environ, PYTHONUNBUFFERED="1", **env)
    return subprocess.run(
        args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )


def _help_text(capsys, argv):
    assert cli.main(argv) == 0
    return capsys.readouterr().out


def test_help_names_every_command(capsys):
    text = _help_text(capsys, ["--help"])
    for command in ("train", "tune", "export", "compare", "reproduce", "list", "profile"):
        assert f"  {command} " in text
    assert "CNN attention blocks" in text and text.rstrip().endswith(".")


def test_every_command_has_help(capsys):
    for command in ("train", "tune", "export", "compare", "reproduce", "list", "profile"):
        assert "usage: keras-attention" in _help_text(capsys, [command, "--help"])
    assert "--attention-kwargs" in _help_text(capsys, ["--help-train"])


def test_list_names_every_block_model_family_data_set_and_recipe(capsys):
    text = _help_text(capsys, ["list"])
    for name in catalog.BLOCKS:
        assert f"\n  {name} " in text
    for _, examples, _ in catalog.MODEL_FAMILIES.values():
        assert examples in text
    for name in [*catalog.DATASETS, *recipes.RECIPES]:
        assert f"\n  {name} " in text
    assert _help_text(capsys, ["list", "recipes"]).startswith("recipes:\n")
    assert "\n  spem_table1 " in _help_text(capsys, ["list", "tables"])


def test_profile_prints_the_papers_counts(capsys):
    text = _help_text(capsys, ["profile", "resnet50", "--attention", "se", "--totals"])
    assert "28,088,024 trainable parameters" in text
    text = _help_text(capsys, ["profile", "cifar_resnet164", "--attention", "spem", "--totals"])
    assert "1,736,518 trainable parameters" in text


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        [os.path.join(BIN, "keras-attention")],
        [sys.executable, "-m", "keras_attention"],
        [sys.executable, os.path.join(ROOT, "train_keras.py")],
    ],
    ids=["console_script", "python_m", "train_keras_py"],
)
def test_three_entry_points(command, tmp_path):
    result = _run([*command, "list", "blocks"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert all(name in result.stdout for name in catalog.BLOCKS)
    result = _run([*command, "--version"], cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("keras-attention ")
    # Nothing from TensorFlow's C++ start-up reaches the terminal.
    assert result.stderr == ""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A short run trained through the command line; returns its folder and output."""
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    result = _run(
        [
            sys.executable,
            "-m",
            "keras_attention",
            "train",
            "--model",
            "cifar_resnet8",
            "--attention",
            "se",
            "--image-size",
            "16",
            "--epochs",
            "4",
            "--output-dir",
            str(run_dir),
            "--progress",
            "0",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return run_dir, result


@pytest.mark.slow
def test_train_prints_what_it_is_about_to_do_then_the_result(finished_run):
    run_dir, result = finished_run
    out = result.stdout
    for line in (
        "model     cifar_resnet8",
        "data      digits: 1,293 train / 144 validation / 360 test images, 10 classes, 16x16x1",
        "recipe    digits",
        "training  4 epochs, batch 64",
        f"output    {run_dir}",
    ):
        assert line in out, out
    assert out.index("model     ") < out.index("test accuracy")
    assert result.stderr == "", result.stderr  # no TensorFlow start-up noise


def _digit_files(folder, count=6):
    from keras_attention import data

    splits = data.load("digits")
    paths, labels = [], []
    for i, (image, label) in enumerate(splits.test.take(count).as_numpy_iterator()):
        path = folder / f"digit{i}.png"
        Image.fromarray(image[..., 0]).save(path)
        paths.append(str(path))
        labels.append(str(label))
    return paths, labels


@pytest.mark.slow
def test_predict_evaluate_and_load_run(finished_run, tmp_path):
    from keras_attention import data, load_run

    trained, _ = finished_run

    paths, _ = _digit_files(tmp_path)
    result = _run([*COMMAND, "predict", str(trained), *paths, "--top-k", "2"])
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(paths) and all(
        line.startswith(p) for line, p in zip(lines, paths, strict=True)
    )
    run = load_run(str(trained))
    assert run.labels == tuple(str(i) for i in range(10))
    assert run.preprocessing["raw_shape"] == [8, 8, 1] and run.preprocessing["image_size"] == [
        16,
        16,
    ]
    assert len(run.preprocessing["mean"]) == 1 and run.preprocessing["scale"] == "x / 255"
    predicted = run.predict(paths, top_k=2)
    for line, classes in zip(
        lines, predicted, strict=True
    ):  # the command line says what Python says
        assert line.split(": ", 1)[1].split(", ")[0].split(" ")[0] == classes[0][0]
    # The model takes normalised images: the run's own preprocessing gives its predictions.
    x = data.pipeline(data.load("digits", 16).test.take(6), run.info, run.augmentation)
    logits = run.model.predict(next(iter(x))[0], verbose=0)
    assert [c[0][0] for c in predicted] == [str(i) for i in np.argmax(logits, -1)]
    assert sum(p for _, p in run.predict(paths, top_k=10)[0]) == pytest.approx(1.0)
    metrics = json.loads((trained / "metrics.json").read_text())
    result = _run([*COMMAND, "evaluate", str(trained)])
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"test accuracy {metrics['accuracy']:.4f}" in result.stdout
    assert "on 360 images of digits" in result.stdout


@pytest.mark.slow
def test_saved_models_load_in_a_fresh_process_after_importing_the_package(finished_run):
    run_dir, _ = finished_run
    script = f"""
import json, keras, numpy as np
import keras_attention
from keras_attention import data
splits = data.load("digits", 16, validation_split=0.1)
batches = data.pipeline(splits.test, splits.info, "digits", False, 64)
for name in ("model.keras", "best.keras"):
    model = keras.models.load_model({str(run_dir)!r} + "/" + name)
    module = type(model.optimizer).__module__
    assert module == "keras_attention.training.optimizers", module
    correct = sum(int(np.sum(np.argmax(model.predict(x, verbose=0), -1) == np.argmax(y, -1)))
                  for x, y in batches)
    print(name, correct / 360)
"""
    result = _run([sys.executable, "-c", script], cwd=run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(run_dir / "metrics.json") as handle:
        recorded = json.load(handle)
    accuracy = dict(line.split() for line in result.stdout.strip().splitlines())
    assert float(accuracy["model.keras"]) == pytest.approx(recorded["accuracy"], abs=1e-6)
    assert 0.0 < float(accuracy["best.keras"]) <= 1.0


@pytest.mark.slow
def test_exported_tflite_classifies_raw_image_files_like_the_keras_model(
    finished_run, tmp_path, monkeypatch, capsys
):
    run_dir, _ = finished_run
    result = _run(
        [
            sys.executable,
            "-m",
            "keras_attention",
            "export",
            str(run_dir),
            "--modes",
            "float32,full_int8",
            "--report",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    export_dir = run_dir / "export"
    with open(export_dir / "labels.txt") as handle:
        assert handle.read().splitlines() == [str(i) for i in range(10)]
    with open(export_dir / "export.json") as handle:
        report = json.load(handle)
    assert report["input"]["dtype"] == "uint8" and report["input"]["shape"] == [None, 8, 8, 1]
    # The contract: what goes in (raw 8x8 digits, scaled, resized, normalised), what comes out.
    contract = report["preprocessing"]
    assert contract["raw_shape"] == [8, 8, 1] and contract["image_size"] == [16, 16]
    assert contract["scale"] == "x / 255" and contract["resize"] == "bilinear to 16x16"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert contract["mean"] == list(metrics["data"]["mean"]) and len(contract["std"]) == 1
    assert report["outputs"]["kind"] == "logits" and report["outputs"]["classes"] == 10
    int8 = report["outputs"]["formats"]["tflite_full_int8"]
    assert int8["dtype"] == "int8" and int8["scale"] > 0 and "zero_point" in int8
    assert set(report["test_accuracy"]) == {
        "keras",
        "saved_model",
        "tflite_float32",
        "tflite_full_int8",
        "onnx",
    }
    assert "saved_model" in result.stdout and "test accuracy" in result.stdout
    # --report: each SE block's and each layer's int8 error (RMSE over the scale), worst first.
    quantization = report["quantization"]
    assert set(quantization["blocks"]) == {f"stage{i}_block1_attention" for i in (1, 2, 3)}
    errors = [row["rmse_over_scale"] for row in quantization["layers"]]
    assert errors == sorted(errors, reverse=True) and all(np.isfinite(errors))
    assert np.median(errors) > 0.01  # int8 rounding shows in every op: the outputs differ
    assert "full_int8 error per attention block" in result.stdout
    assert "stage1_block1_attention" in result.stdout
    # It says what it is doing and how far it is.
    steps = [line for line in result.stdout.splitlines() if line.startswith("export [")]
    assert steps[0].startswith("export [1/7] loading the run") and "TFLite full_int8" in steps[-3]
    assert "ONNX" in steps[-2]

    # A second export killed midway leaves the first one whole.
    before = {p.name: p.read_bytes() for p in export_dir.iterdir() if p.is_file()}
    again = subprocess.Popen(
        [sys.executable, "-m", "keras_attention", "export", str(run_dir), "--modes", "float32"],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    staged = run_dir / "export.partial" / "model.keras"
    deadline = time.time() + 240
    while not staged.exists() and again.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert again.poll() is None, "the export ended before it could be interrupted"
    again.send_signal(signal.SIGKILL)
    again.wait()
    assert {p.name: p.read_bytes() for p in export_dir.iterdir() if p.is_file()} == before
    keras_file = export_dir / "model.keras"
    assert keras_file.stat().st_size > 0 and json.loads((export_dir / "export.json").read_text())

    # Raw digits written as PNG files, read back as a deployment would, classified by the
    # TFLite file alone; the Keras model classifies the same images through the pipeline.
    import keras
    from ai_edge_litert.interpreter import Interpreter

    from keras_attention import data

    splits = data.load("digits", 16, validation_split=0.1)
    paths, labels = [], []
    for i, (image, label) in enumerate(splits.test.as_numpy_iterator()):
        path = tmp_path / f"{i}.png"
        Image.fromarray(image[..., 0]).save(path)
        paths.append(path)
        labels.append(int(label))
    interpreter = Interpreter(model_path=str(export_dir / "model_float32.tflite"))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert source["dtype"] == np.uint8 and tuple(source["shape"]) == (1, 8, 8, 1)
    tflite_top1 = []
    for path in paths:
        pixels = np.asarray(Image.open(path), dtype=np.uint8)[None, :, :, None]
        interpreter.set_tensor(source["index"], pixels)
        interpreter.invoke()
        tflite_top1.append(int(np.argmax(interpreter.get_tensor(target["index"])[0])))
    model = keras.models.load_model(run_dir / "model.keras")
    keras_top1 = np.concatenate(
        [
            np.argmax(model.predict(x, verbose=0), -1)
            for x, _ in data.pipeline(splits.test, splits.info, "digits", False, 64)
        ]
    )
    assert len(tflite_top1) == 360
    np.testing.assert_array_equal(tflite_top1, keras_top1)
    # `predict` with the exported TFLite file says the same of the same files.
    predicted = _run(
        [sys.executable, "-m", "keras_attention", "predict", str(run_dir), *map(str, paths[:20]),
         "--format", "tflite_float32", "--top-k", "1"]
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    top1 = [int(line.split(": ")[1].split(" ")[0]) for line in predicted.stdout.splitlines()]
    assert top1 == tflite_top1[:20]
    accuracy = float(np.mean(np.array(tflite_top1) == np.array(labels)))
    assert accuracy == pytest.approx(report["test_accuracy"]["keras"], abs=1e-9)
    assert report["test_accuracy"]["saved_model"] == pytest.approx(accuracy, abs=1e-9)
    _a_degraded_format_fails_the_export_and_leaves_the_last_one(run_dir, monkeypatch, capsys)


def _a_degraded_format_fails_the_export_and_leaves_the_last_one(run_dir, monkeypatch, capsys):
    """A full-integer model calibrated on blank images (every activation range collapsed to a
    point) loses its accuracy: the export fails in one line naming the format and both
    accuracies, exit 1, and the export already there stays byte for byte; --allow-degraded
    writes it and export.json says so."""
    from keras_attention.formats import tflite

    export_dir = run_dir / "export"
    before = {p.name: p.read_bytes() for p in export_dir.iterdir() if p.is_file()}
    convert = tflite.convert_tflite

    def blank_calibration(model, mode="float32", representative_inputs=None):
        if representative_inputs is not None:
            representative_inputs = [np.zeros_like(x) for x in representative_inputs]
        return convert(model, mode, representative_inputs)

    monkeypatch.setattr(tflite, "convert_tflite", blank_calibration)
    argv = ["export", str(run_dir), "--formats", "tflite", "--modes", "full_int8"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "export: tflite_full_int8 scores 0." in err[0] and "against the Keras model's" in err[0]
    assert "beyond the tolerance of 2" in err[0] and "--allow-degraded" in err[0]
    assert {p.name: p.read_bytes() for p in export_dir.iterdir() if p.is_file()} == before
    assert not (run_dir / "export.partial").exists()
    assert cli.main([*argv, "--allow-degraded"]) == 0
    report = json.loads((export_dir / "export.json").read_text())
    lost = report["degraded"]["tflite_full_int8"]
    assert lost["points"] < -2 and report["tolerance_points"] == 2.0
    assert "written with --allow-degraded: tflite_full_int8" in capsys.readouterr().out
