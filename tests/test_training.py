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
RUN_FILES = (
    "model.keras",
    "best.keras",
    "model.tflite",
    "history.csv",
    "metrics.json",
    "run.json",
    "curves.png",
    "logs",
)


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_best_model_is_chosen_on_the_validation_split_not_the_test_set(tmp_path):
    config = _quick(tmp_path, epochs=3, steps_per_epoch=6)
    metrics = train(config)
    model = keras.saving.load_model(os.path.join(config.output_dir, "model.keras"))
    splits = data.load("digits", 16, validation_split=config.validation_split)

    def accuracy(dataset):
        batches = data.pipeline(dataset, splits.info, "digits", False, 64)
        hits = [np.argmax(model.predict(x, verbose=0), -1) == np.argmax(y, -1) for x, y in batches]
        return float(np.mean(np.concatenate(hits)))

    last = _history(config.output_dir)[-1]
    # The last epoch's validation figures are the final model's on the validation split.
    assert float(last["val_accuracy"]) == pytest.approx(accuracy(splits.validation), abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(accuracy(splits.test), abs=1e-6)
    assert metrics["data"]["validation_size"] == 144 and metrics["data"]["test_size"] == 360


@pytest.mark.slow
def test_a_run_without_a_validation_split_completes(tmp_path):
    config = _quick(tmp_path, validation_split=0.0, epochs=2)
    metrics = train(config)  # the history's validation cells are "NA"
    assert metrics["best_validation"] is None and metrics["epochs_completed"] == 2
    assert not os.path.exists(os.path.join(config.output_dir, "best.keras"))
    assert os.path.exists(os.path.join(config.output_dir, "curves.png"))
    assert metrics["data"]["validation_size"] == 0


@pytest.mark.slow
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
    splits = data.load("digits", image_size=16)
    batches = data.pipeline(splits.test, splits.info, "digits", training=False, batch_size=32)
    cross_entropy = keras.losses.CategoricalCrossentropy(from_logits=True)
    task = np.mean([float(cross_entropy(y, model(x, training=False))) for x, y in batches])
    # Batch means of unequal batches (the last is short): compare with a tolerance well under
    # the penalty's share of the loss.
    assert metrics["loss"] == pytest.approx(task + penalty, rel=0.02)
    assert penalty > 2 * 0.02 * metrics["loss"]  # so the check can tell it is there


@pytest.mark.slow
def test_se_r_run_has_three_outputs_and_their_loss_weights(tmp_path):
    config = _quick(
        tmp_path,
        model="cifar_se_resnet18",
        aux_positions=(2, 3),
        aux_loss_weights=(0.2, 0.7),
        epochs=1,
        steps_per_epoch=2,
        batch_size=40,  # divides the 360 test images: every batch weighs the same
    )
    metrics = train(config)
    results = metrics["results"]
    assert {"main_loss", "aux1_loss", "aux2_loss", "main_accuracy"} <= set(results)
    expected = results["main_loss"] + 0.2 * results["aux1_loss"] + 0.7 * results["aux2_loss"]
    # A wrong weight would be off by ~1 (aux losses ~2.3).
    assert results["loss"] == pytest.approx(expected, rel=1e-5)
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
        *extra,
    ]


def _environment(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _run(command, check=False):
    return subprocess.run(
        command,
        env=_environment(),
        cwd=ROOT,
        check=check,
        timeout=300,
        capture_output=True,
        text=True,
    )


def _wait_for(condition, process, seconds=240):
    deadline = time.time() + seconds
    while time.time() < deadline and process.poll() is None:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _backup_epoch(run_dir):
    pointer = run_dir / "backup" / "latest.json"
    try:
        return json.loads(pointer.read_text())["epoch"]
    except (OSError, ValueError):
        return 0


def _weights_and_iterations(path):
    model = keras.saving.load_model(path)
    return [np.asarray(w) for w in model.weights], int(model.optimizer.iterations.numpy())


# ssa_cifar's rate is constant for 50 epochs, so a run of 2 epochs and the first 2 epochs of a
# longer run train the same way.
RESUME = ("--recipe", "ssa_cifar", "--steps-per-epoch", "12", "--progress", "2")


@pytest.mark.slow
def test_killed_run_resumes_with_the_state_of_its_last_finished_epoch(tmp_path):
    killed_dir = tmp_path / "killed"
    command = _command(killed_dir, "--epochs", "5", *RESUME)
    process = subprocess.Popen(command, env=_environment(), cwd=ROOT, stdout=subprocess.DEVNULL)
    reached = _wait_for(lambda: _backup_epoch(killed_dir) >= 2, process)
    assert reached and process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = _backup_epoch(killed_dir)
    assert 2 <= done < 5 and not (killed_dir / "metrics.json").exists()
    # history.csv is brought in line after the commit point, so a kill between the two leaves
    # it one epoch behind the backup; `restore` rewrites it from the commit.
    lagging = _history(killed_dir)
    assert len(lagging) in (done - 1, done), (len(lagging), done)

    # The backup holds the model and the optimizer after `done` epochs.
    from keras_attention.assembly import build_compiled
    from keras_attention.callbacks import EpochCommit
    from keras_attention.config import TrainConfig, resolve
    from keras_attention.run_folder import RunFolder

    config = TrainConfig(
        model="cifar_resnet8",
        image_size=16,
        batch_size=32,
        epochs=5,
        recipe="ssa_cifar",
        steps_per_epoch=12,
    )
    model = build_compiled(resolve(config), data.load("digits", 16, validation_split=0.1).info)
    fresh = [np.asarray(w).copy() for w in model.trainable_weights]
    assert EpochCommit(RunFolder(str(killed_dir))).restore(model) == done
    assert int(model.optimizer.iterations.numpy()) == done * 12
    moved = [
        np.abs(np.asarray(w) - f).max() > 1e-4
        for w, f in zip(model.trainable_weights, fresh, strict=True)
    ]
    assert np.mean(moved) > 0.9  # trained weights, not a new initialisation
    before = _history(killed_dir)
    assert len(before) == done and before[: len(lagging)] == lagging

    result = _run(command, check=True)
    assert f"resuming after epoch {done} of 5" in result.stdout
    ran = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("Epoch ")]
    assert ran == [f"{epoch}/5" for epoch in range(done + 1, 6)]  # only the missing epochs
    after = _history(killed_dir)
    assert [int(row["epoch"]) for row in after] == list(range(5))
    assert after[:done] == before[:done]  # the finished epochs were kept, not run again
    # The first resumed epoch continues the trained model: its loss is nearer the last
    # finished epoch's than the first epoch's (a restart from scratch would start near it).
    losses = [float(row["loss"]) for row in after]
    assert losses[done] < (losses[0] + losses[done - 1]) / 2, losses
    _, iterations = _weights_and_iterations(killed_dir / "model.keras")
    assert iterations == 5 * 12
    assert not (killed_dir / "backup").exists()


@pytest.mark.slow
def test_a_kill_during_the_final_save_loses_no_training(tmp_path):
    run_dir = tmp_path / "run"
    command = _command(run_dir, "--epochs", "2", *RESUME)
    process = subprocess.Popen(command, env=_environment(), cwd=ROOT, stdout=subprocess.DEVNULL)
    # model.keras is written first, metrics.json last; the TFLite conversion lies between.
    saving = _wait_for(lambda: (run_dir / "model.keras").exists(), process)
    assert saving and process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run_dir / "metrics.json").exists() and _backup_epoch(run_dir) == 2
    history = _history(run_dir)
    result = _run(command, check=True)
    assert "resuming after epoch 2 of 2" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("Epoch ")]
    assert _history(run_dir) == history
    for name in RUN_FILES:
        assert (run_dir / name).exists(), name
    assert not (run_dir / "backup").exists()


def _stamps(run_dir):
    """Modification times of a run folder's files (the lock file records each holder)."""
    return {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.name != ".lock"}


@pytest.mark.slow
def test_rerunning_a_finished_run_trains_nothing_and_changes_nothing(tmp_path):
    run_dir = tmp_path / "run"
    command = _command(run_dir, "--epochs", "1", "--steps-per-epoch", "3", "--progress", "0")
    subprocess.run(
        command, env=_environment(), cwd=ROOT, check=True, timeout=300, stdout=subprocess.DEVNULL
    )
    stamps = _stamps(run_dir)
    result = _run(command, check=True)
    assert f"run complete: {run_dir}" in result.stdout and "--overwrite" in result.stdout
    assert _stamps(run_dir) == stamps
    # Another configuration in the same folder is refused, with what differs.
    other = _run(_command(run_dir, "--epochs", "2", "--steps-per-epoch", "3", "--progress", "0"))
    assert other.returncode == 2 and "epochs: 1 -> 2" in other.stderr
    assert _stamps(run_dir) == stamps
    again = _run([*command, "--overwrite"])
    assert again.returncode == 0 and "run complete" not in again.stdout
    assert (run_dir / "metrics.json").stat().st_mtime_ns > stamps["metrics.json"]


@pytest.mark.slow
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
        "--progress",
        "0",
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


@pytest.mark.slow
def test_multiworker_strategy_with_two_workers_on_localhost(tmp_path):
    run_dir = tmp_path / "run"
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    command = _command(
        run_dir,
        "--epochs",
        "2",
        "--steps-per-epoch",
        "3",
        "--strategy",
        "multiworker",
        "--progress",
        "0",
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


@pytest.mark.slow
def test_mixed_precision_and_xla(tmp_path):
    metrics = train(_quick(tmp_path, attention="cbam", mixed_precision=True, xla=True))
    assert np.isfinite(metrics["loss"])
    assert keras.config.dtype_policy().name == "float32"  # restored after the run
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    block = next(layer for layer in model.layers if isinstance(layer, layers.CBAM))
    assert block.dtype_policy.name == "mixed_float16"
    # Its TFLite model is converted from a float32 copy: close to the float16 Keras model.
    assert metrics["tflite"]["max_abs_diff"] < 0.05
