"""What a real machine does to a run folder, and what each fault gives.

Each test damages or interferes with a run the way a machine does (a truncated or zero-filled
file, an emptied record, a second process, a full disk, a diverging loss, data that changed,
a kill at an awkward moment) and checks the outcome: one line naming the file or the fault and
what to do, never a silent wrong resume, exit 2 only for usage errors.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from keras_attention.config import TrainConfig
from PIL import Image

from keras_attention import callbacks, cli, run_folder, training
from keras_attention.errors import ConfigError, RunError
from keras_attention.training import loop, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow

QUICK = dict(
    model="cifar_resnet8", image_size=16, epochs=2, steps_per_epoch=3, batch_size=32, verbose=0
)


def _config(run_dir, **overrides):
    return TrainConfig(**{**QUICK, "output_dir": str(run_dir), **overrides})


def _argv(run_dir, *extra):
    """The command line of `_config(run_dir)`."""
    return [
        "--model", "cifar_resnet8", "--image-size", "16", "--epochs", "2",
        "--steps-per-epoch", "3", "--batch-size", "32", "--output-dir", str(run_dir),
        "--progress", "0", *extra,
    ]  # fmt: skip


def _cli(argv, capsys):
    """`keras-attention ARGV` in this process: (exit status, standard error lines)."""
    capsys.readouterr()
    code = cli.main(argv)
    return code, capsys.readouterr().err.strip().splitlines()


class _Killed(BaseException):
    """Stands for a kill: not an Exception, so nothing on the way catches it."""


def _kill(*args, **kwargs):
    raise _Killed


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """A run killed after its last epoch's commit, while it wrote its final files: its
    backup, history and best model are there; model.tflite and metrics.json are not."""
    run_dir = tmp_path_factory.mktemp("interrupted") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "export_tflite", _kill)
        with pytest.raises(_Killed):
            train(_config(run_dir))
    assert (run_dir / "backup" / "latest.json").exists()
    assert not (run_dir / "metrics.json").exists()
    return run_dir


@pytest.fixture
def run_copy(interrupted_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(interrupted_run, copy)
    return copy


def _weights(run_dir):
    pointer = json.loads((run_dir / "backup" / "latest.json").read_text())
    return run_dir / "backup" / pointer["weights"]


def _no_temporary_files(run_dir):
    return [p for p in run_dir.rglob("*") if ".partial" in p.name or ".staged" in p.name]


# --- damaged files -------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "zero_filled"])
def test_damaged_backup_weights_are_named_not_trusted(damage, run_copy, capsys):
    weights = _weights(run_copy)
    size = weights.stat().st_size
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[: size // 2])
    else:  # still the same size, and the zip and HDF5 headers are gone
        weights.write_bytes(b"\0" * size)
    code, err = _cli(_argv(run_copy), capsys)
    assert code == 1 and len(err) == 1, err
    assert f"{weights} is damaged" in err[0] and "--overwrite" in err[0]
    assert not (run_copy / "metrics.json").exists()


@pytest.mark.parametrize("content", [b"", b'{"epoch": 2, "weig', b"\xff\xfe\x00garbage"])
def test_a_damaged_backup_pointer_is_named_and_is_not_a_usage_error(content, run_copy, capsys):
    (run_copy / "backup" / "latest.json").write_bytes(content)
    code, err = _cli(_argv(run_copy), capsys)
    assert code == 1 and len(err) == 1, err
    assert "backup/latest.json is damaged" in err[0] and "--overwrite" in err[0]


@pytest.mark.parametrize("content", [b"", b'{"config": {"model": "cifar_res'])
def test_a_damaged_run_record_is_named(content, run_copy, capsys):
    (run_copy / "run.json").write_bytes(content)
    code, err = _cli(_argv(run_copy), capsys)
    assert code == 1 and len(err) == 1, err
    assert "run.json is damaged" in err[0]


@pytest.mark.parametrize("damage", ["emptied", "cut_mid_row"])
def test_a_damaged_history_is_rebuilt_from_the_backup(damage, run_copy, capsys):
    history = run_copy / "history.csv"
    before = history.read_text()
    history.write_text("" if damage == "emptied" else before[: len(before) - 20])
    code, _ = _cli(_argv(run_copy), capsys)
    assert code == 0
    assert history.read_text() == before
    metrics = json.loads((run_copy / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 2


def test_a_damaged_best_model_is_named_before_and_after_completion(run_copy, capsys):
    best = run_copy / "best.keras"
    good = best.read_bytes()
    best.write_bytes(good[:100] + b"garbage" + good[107:])  # same size, other bytes
    code, err = _cli(_argv(run_copy), capsys)
    assert code == 1 and "best.keras is damaged" in err[0] and "latest.json" in err[0]
    best.write_bytes(good)
    assert _cli(_argv(run_copy), capsys)[0] == 0  # completes
    best.write_bytes(good[:100] + b"garbage" + good[107:])
    code, err = _cli(_argv(run_copy), capsys)
    assert code == 1 and len(err) == 1
    assert "best.keras is damaged" in err[0] and "metrics.json" in err[0]


# --- numbers -------------------------------------------------------------------------------------


def test_metrics_count_the_images_and_seconds_trained_over_resumes(tmp_path):
    run_dir = tmp_path / "run"
    commit = callbacks.EpochCommit.on_epoch_end

    def killed_after_the_first_commit(self, epoch, logs=None):
        commit(self, epoch, logs)
        raise _Killed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(callbacks.EpochCommit, "on_epoch_end", killed_after_the_first_commit)
        with pytest.raises(_Killed):
            train(_config(run_dir))
    pointer = json.loads((run_dir / "backup" / "latest.json").read_text())
    assert pointer["epoch"] == 1 and pointer["trained_images"] == 3 * 32
    metrics = train(_config(run_dir))  # trains epoch 2 in a second process's place
    assert metrics["epochs_completed"] == 2
    assert metrics["trained_images"] == 2 * 3 * 32
    assert metrics["training_seconds"] > pointer["training_seconds"]
    assert metrics["wall_time_seconds"] > pointer["wall_seconds"]
    assert metrics["images_per_second"] == pytest.approx(
        metrics["trained_images"] / metrics["training_seconds"]
    )
    json.loads((run_dir / "metrics.json").read_text(), parse_constant=pytest.fail)


def test_a_resume_in_the_final_phase_keeps_the_images_trained(run_copy):
    metrics = train(_config(run_copy))  # no epoch left to train
    assert metrics["trained_images"] == 2 * 3 * 32 and 0 < metrics["images_per_second"] < 1e5


def test_a_batch_larger_than_the_data_counts_the_images_there_are(tmp_path):
    metrics = train(_config(tmp_path / "run", epochs=1, steps_per_epoch=None, batch_size=4096))
    assert metrics["trained_images"] == metrics["data"]["train_size"] == 1293


def test_a_diverging_loss_stops_the_run_naming_the_epoch_and_step(tmp_path, capsys):
    run_dir = tmp_path / "run"
    code, err = _cli(_argv(run_dir, "--learning-rate", "1e12", "--epochs", "3"), capsys)
    assert code == 1 and len(err) == 1, err
    found = re.search(r"epoch (\d+), (step \d+|end): \w+ is (nan|inf)", err[0])
    assert found and "the run stopped and is not complete" in err[0], err
    assert not (run_dir / "metrics.json").exists()
    pointer = run_dir / "backup" / "latest.json"
    committed = json.loads(pointer.read_text())["epoch"] if pointer.exists() else 0
    assert committed == int(found.group(1)) - 1  # that epoch was not committed


def test_metrics_json_is_strict_json(tmp_path):
    run_folder.write_json(str(tmp_path / "m.json"), {"loss": float("nan"), "x": [float("inf")]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"loss": None, "x": [None]}


# --- data that changed ---------------------------------------------------------------------------


def _images(root, per_class, start=0):
    for label in ("a", "b"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(start, start + per_class):
            pixels = np.full((8, 8, 3), (i * 23 + (label == "b") * 120) % 256, np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")


def test_a_resume_on_an_image_folder_that_changed_is_refused(tmp_path):
    images = tmp_path / "images"
    _images(images, 12)
    config = _config(tmp_path / "run", dataset=f"dir:{images}", image_size=8, batch_size=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "export_tflite", _kill)
        with pytest.raises(_Killed):
            train(config)
    _images(images, 12, start=12)  # the folder doubled
    with pytest.raises(RunError, match=r"changed since this run started \(.*images: 24 -> 48"):
        train(config)


# --- overwrite -----------------------------------------------------------------------------------


def test_a_kill_while_overwrite_clears_never_leaves_a_complete_looking_run(run_copy, tmp_path):
    train(_config(run_copy))
    assert (run_copy / "metrics.json").exists()
    remove = run_folder.remove
    for cut in range(1, len(run_folder.WRITTEN)):  # a kill before the cut-th removal
        folder = tmp_path / f"cut{cut}"
        shutil.copytree(run_copy, folder)
        removed = []

        def counted(path, removed=removed, cut=cut):
            if len(removed) == cut:
                raise _Killed
            removed.append(path)
            remove(path)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(run_folder, "remove", counted)
            with pytest.raises(_Killed):
                run_folder.RunFolder(str(folder)).clear()
        # The next command does not take it for a complete run, nor trusts a half backup.
        assert training.finished_run(str(folder), _config(folder)) is None, removed
        assert not (folder / "backup").exists() or not (folder / "backup" / "latest.json").exists()
    assert train(_config(tmp_path / f"cut{cut}"))["epochs_completed"] == 2


# --- the folder itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["a_file", "proc"])
def test_an_unusable_output_folder_is_one_line_before_anything_is_built(where, tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    if where == "proc":
        target = "/proc/keras_attention_run"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "keras_attention", *_argv(target)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--output-dir" in lines[0], lines
    assert "model " not in result.stdout  # refused before the model was built
    assert time.perf_counter() - started < 60


def test_a_second_process_on_the_same_folder_is_refused_at_once(tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "keras_attention", *_argv(run_dir)]
    command[command.index("--epochs") + 1] = "6"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while not (run_dir / "run.json").exists() and time.time() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, "the first run ended before the second started"
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and f"in use by process {first.pid}" in lines[0], lines
        assert first.wait(timeout=300) == 0
    finally:
        if first.poll() is None:
            first.kill()
    history = (run_dir / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and len(history) == 7  # one header, six epochs


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from keras_attention import run_folder; "
            f"run_folder.prepare({str(run_dir)!r}); lock = run_folder.FolderLock({str(run_dir)!r});"
            " lock.acquire(); print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, KERAS_BACKEND="numpy"),  # the run folder needs no backend
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunError, match=f"in use by process {holder.pid}"):
        train(_config(run_dir, epochs=1))
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert train(_config(run_dir, epochs=1))["epochs_completed"] == 1


# --- a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of a given size where the machine allows mounting one (root on Linux)."""
    mounted = []

    def make(size):
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
            capture_output=True,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a small file system here: {result.stderr!r}")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.mark.parametrize("size", ["1200k", "2m"])
def test_a_full_disk_is_one_line_and_leaves_nothing_mistaken_for_valid(size, small_disk):
    disk = small_disk(size)
    run_dir = disk / "run"
    command = [sys.executable, "-m", "keras_attention", *_argv(run_dir)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])  # no crash
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no space left on the device" in lines[-1], lines
    assert not _no_temporary_files(run_dir) and not (run_dir / "metrics.json").exists()
    # With room again, the same command finishes the run from its last commit.
    subprocess.run(["mount", "-o", "remount,size=40m", str(disk)], check=True)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_completed"] == 2


def test_a_file_size_limit_is_one_line_and_leaves_nothing_mistaken_for_valid(tmp_path):
    """The writers themselves (Keras' zip and HDF5 code) failing at the operating system's
    limit: RLIMIT_FSIZE makes every write past 512 KB of a file fail with EFBIG, as a full
    disk fails them with ENOSPC, wherever a small file system cannot be mounted."""
    run_dir = tmp_path / "run"
    script = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "sys.argv[0] = 'keras-attention'; "  # the command line, which silences TensorFlow
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 19, 1 << 19)); "
        "from keras_attention.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", script, *_argv(run_dir)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]  # no crash
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be written (File too large)" in lines[-1], lines
    assert not _no_temporary_files(run_dir) and not (run_dir / "metrics.json").exists()
    pointer = run_dir / "backup" / "latest.json"
    assert not pointer.exists() or json.loads(pointer.read_text())["epoch"] >= 1


def test_a_write_that_fails_keeps_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "best.keras"
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    run_folder.save_model(model, str(path))
    before = path.read_bytes()

    def full(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as handle:
            handle.write(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", full)
    with pytest.raises(RunError, match=r"best\.keras: no space left on the device"):
        run_folder.save_model(model, str(path))
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["best.keras"]
    with pytest.raises(ConfigError, match="output_dir: .* is a file"):
        run_folder.prepare(str(path))


def test_temporary_files_a_kill_left_are_removed_and_never_read(run_copy):
    stale = run_copy / "backup" / "epoch3.partial.keras"
    stale.write_bytes(b"PK half a model")
    (run_copy / "model.partial.keras").write_bytes(b"")
    metrics = train(_config(run_copy))
    assert metrics["epochs_completed"] == 2 and not _no_temporary_files(run_copy)
