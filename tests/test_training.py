"""End-to-end training on the bundled digits: blocks, SE-R, resume, distribution, bad data."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from PIL import Image

from keras_attention import data, layers
from keras_attention.training import TrainConfig, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_FILES = ("model.keras", "best.keras", "history.csv", "metrics.json", "curves.png", "logs")


def _quick(tmp_path, **overrides):
    config = dict(
        model="cifar_resnet8",
        image_size=16,
        epochs=2,
        steps_per_epoch=4,
        batch_size=32,
        output_dir=str(tmp_path / "run"),
        verbose=0,
    )
    config.update(overrides)
    return TrainConfig(**config)


def _history(run_dir):
    with open(os.path.join(run_dir, "history.csv"), newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("attention", ["none", "se", "ssa", "spem"])
def test_short_run_writes_everything(attention, tmp_path):
    config = _quick(tmp_path, attention=attention)
    metrics = train(config)
    for name in RUN_FILES:
        assert os.path.exists(os.path.join(config.output_dir, name)), name
    assert not os.path.exists(os.path.join(config.output_dir, "backup"))  # removed when done
    with open(os.path.join(config.output_dir, "metrics.json")) as handle:
        recorded = json.load(handle)
    for key in ("accuracy", "loss", "parameters", "macs", "images_per_second", "wall_time_seconds"):
        assert key in recorded and np.isfinite(recorded[key])
    assert recorded["config"]["attention"] == attention and recorded["recipe"]["name"] == "digits"
    assert metrics["epochs_completed"] == 2 and [
        r["epoch"] for r in _history(config.output_dir)
    ] == [
        "0",
        "1",
    ]
    model = keras.saving.load_model(os.path.join(config.output_dir, "model.keras"))
    blocks = [layer for layer in model.layers if isinstance(layer, layers.AttentionBlock)]
    assert (len(blocks) > 0) == (attention != "none")


def test_spem_penalty_is_in_the_logged_loss(tmp_path):
    config = _quick(tmp_path, attention="spem")
    metrics = train(config)
    model = keras.saving.load_model(os.path.join(config.output_dir, "model.keras"))
    penalty = sum(
        0.1 * float(np.sum(layer.pooling.mix_weights.numpy() ** 2))
        for layer in model.layers
        if isinstance(layer, layers.SPEM)
    )
    assert penalty > 0.1  # 3 blocks at initialisation: 3 * 0.1 * 0.5
    _, test_set, info = data.load("digits", image_size=16)
    batches = data.pipeline(test_set, info, "digits", training=False, batch_size=32)
    cross_entropy = keras.losses.CategoricalCrossentropy(from_logits=True)
    task = np.mean([float(cross_entropy(y, model(x, training=False))) for x, y in batches])
    # Batch means of unequal batches (the last is short): compare with a tolerance well under
    # the penalty's share of the loss.
    assert metrics["loss"] == pytest.approx(task + penalty, rel=0.02)
    assert penalty > 2 * 0.02 * metrics["loss"]  # so the check can tell it is there


def test_se_r_run_has_three_outputs_and_their_loss_weights(tmp_path):
    config = _quick(
        tmp_path,
        model="cifar_se_resnet18",
        aux_positions=(2, 3),
        aux_loss_weights=(0.2, 0.7),
        epochs=1,
        steps_per_epoch=2,
    )
    metrics = train(config)
    results = metrics["results"]
    assert {"main_loss", "aux1_loss", "aux2_loss", "main_accuracy"} <= set(results)
    expected = results["main_loss"] + 0.2 * results["aux1_loss"] + 0.7 * results["aux2_loss"]
    # Keras averages the total and each output's loss over batches separately (the last batch
    # is short), so they agree to ~1e-4; a wrong weight would be off by ~1 (aux losses ~2.3).
    assert results["loss"] == pytest.approx(expected, rel=1e-3)
    history = _history(config.output_dir)[0]
    assert {"main_loss", "aux1_loss", "aux2_loss", "val_main_accuracy"} <= set(history)
    # metrics.json describes the single-output inference model, which keeps the aux heads.
    assert metrics["inference_parameters"] == metrics["parameters"]


def _command(run_dir, *extra):
    return [
        sys.executable,
        os.path.join(ROOT, "train_keras.py"),
        "--model",
        "cifar_resnet8",
        "--image-size",
        "16",
        "--batch-size",
        "32",
        "--output-dir",
        str(run_dir),
        "--verbose",
        "0",
        *extra,
    ]


def _environment(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def test_killed_run_resumes_from_the_last_finished_epoch(tmp_path):
    run_dir = tmp_path / "run"
    command = _command(run_dir, "--epochs", "6", "--steps-per-epoch", "12")
    process = subprocess.Popen(command, env=_environment(), cwd=ROOT)
    history = run_dir / "history.csv"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if history.exists() and len(history.read_text().strip().splitlines()) >= 3:
            break  # epochs 0 and 1 are done
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _history(run_dir)
    assert 2 <= len(before) < 6
    assert (run_dir / "backup").exists()

    subprocess.run(command, env=_environment(), cwd=ROOT, check=True, timeout=300)
    after = _history(run_dir)
    assert [int(row["epoch"]) for row in after] == list(range(6))
    # The finished epochs were kept, not run again.
    assert after[: len(before) - 1] == before[: len(before) - 1]
    with open(run_dir / "metrics.json") as handle:
        assert json.load(handle)["epochs_completed"] == 6


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    run_dir = tmp_path / "run"
    command = _command(
        run_dir,
        "--epochs",
        "1",
        "--steps-per-epoch",
        "3",
        "--strategy",
        "mirrored",
        "--logical-cpus",
        "2",
    )
    subprocess.run(command, env=_environment(), cwd=ROOT, check=True, timeout=300)
    with open(run_dir / "metrics.json") as handle:
        metrics = json.load(handle)
    assert metrics["num_replicas"] == 2 and metrics["config"]["strategy"] == "mirrored"


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multiworker_strategy_with_two_workers_on_localhost(tmp_path):
    run_dir = tmp_path / "run"
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    command = _command(
        run_dir, "--epochs", "2", "--steps-per-epoch", "3", "--strategy", "multiworker"
    )
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(
            subprocess.Popen(command, env=_environment(TF_CONFIG=json.dumps(tf_config)), cwd=ROOT)
        )
    try:
        codes = [p.wait(timeout=300) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    assert codes == [0, 0]
    with open(run_dir / "metrics.json") as handle:
        chief = json.load(handle)
    with open(run_dir / "worker1" / "metrics.json") as handle:
        other = json.load(handle)
    assert chief["num_replicas"] == 2 and chief["epochs_completed"] == 2
    assert chief["accuracy"] == other["accuracy"]  # one synchronised model


def test_training_on_a_directory_with_a_corrupt_image(tmp_path):
    root = tmp_path / "images"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(root / label / f"{i}.png")
    (root / "b" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match=r"(?s)1 unreadable image.*bad\.png"):
        train(_quick(tmp_path, dataset=f"dir:{root}"))


def test_mixed_precision_and_xla(tmp_path):
    metrics = train(_quick(tmp_path, attention="cbam", mixed_precision=True, xla=True))
    assert np.isfinite(metrics["loss"])
    assert keras.config.dtype_policy().name == "float32"  # restored after the run
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    block = next(layer for layer in model.layers if isinstance(layer, layers.CBAM))
    assert block.dtype_policy.name == "mixed_float16"
    # Its TFLite model is converted from a float32 copy: close to the float16 Keras model.
    assert metrics["tflite"]["max_abs_diff"] < 0.05
