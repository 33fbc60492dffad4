"""Keras Tuner search: trials on the digits, loss weights in the compiled model, resume, files."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras_tuner as kt
import pytest

from keras_attention import run_folder, tuning
from keras_attention.errors import ConfigError, RunError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _se_r_hypermodel(**overrides):
    options = dict(
        model="cifar_se_resnet18",
        image_size=16,
        epochs=1,
        batch_size=32,
        steps_per_epoch=2,
        fixed={"attention": "se", "aux_positions": "2,3"},
    )
    options.update(overrides)
    return tuning.AttentionHyperModel(**options)


def test_loss_weights_and_reduction_reach_the_compiled_model():
    hypermodel = _se_r_hypermodel(
        fixed={
            "attention": "se",
            "aux_positions": "2,3",
            "aux1_weight": 0.7,
            "aux2_weight": 0.2,
            "reduction": 12,
            "aux_dropout": 0.5,
        }
    )
    model = hypermodel.build(kt.HyperParameters())
    assert model.get_compile_config()["loss_weights"] == {"main": 1.0, "aux1": 0.7, "aux2": 0.2}
    assert model.get_layer("stage3_block1_attention").reduction == 12
    assert model.get_layer("aux1").dropout_rate == 0.5
    single = _se_r_hypermodel(fixed={"attention": "se", "aux_positions": "2"})
    model = single.build(kt.HyperParameters())
    assert model.output_names == ["main", "aux1"]
    assert set(model.get_compile_config()["loss_weights"]) == {"main", "aux1"}


def test_spem_alpha_and_blocks_without_aux():
    hypermodel = tuning.AttentionHyperModel(
        "cifar_resnet8", image_size=16, epochs=1, fixed={"attention": "spem", "spem_alpha": 0.3}
    )
    model = hypermodel.build(kt.HyperParameters())
    spem = [layer for layer in model.layers if type(layer).__name__ == "SPEM"]
    assert spem and all(layer.alpha == 0.3 for layer in spem)


def test_narrowed_ranges_and_unknown_names():
    hypermodel = _se_r_hypermodel(
        ranges={"aux1_weight": ("float", {"min_value": 0.2, "max_value": 0.4, "step": 0.1})}
    )
    hp = kt.HyperParameters()
    hypermodel.build(hp)
    space = {p.name: p for p in hp.space}
    assert (space["aux1_weight"].min_value, space["aux1_weight"].max_value) == (0.2, 0.4)
    assert space["reduction"].values == [4, 8, 12, 16]
    assert space["aux_dropout"].min_value == 0.3 and space["aux_dropout"].max_value == 0.9
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        tuning.AttentionHyperModel("cifar_resnet8", fixed={"dropout_rate": 0.1})


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_search_writes_results_that_agree_with_the_tuner(tmp_path, capsys):
    tuner, rows, best = tuning.search(
        _se_r_hypermodel(), str(tmp_path), tuner="random", max_trials=2, verbose=1
    )
    # Each trial is shown as trials.md numbers it, with the budget and the time left.
    shown = [line for line in capsys.readouterr().out.splitlines() if line.startswith("trial ")]
    assert shown[0].startswith("trial 0 (1/2): attention=se")
    assert shown[1].startswith("trial 0 (1/2): val_main_accuracy") and "left" in shown[1]
    assert shown[-1].startswith("trial 1 (2/2): val_main_accuracy")
    trials = tuner.oracle.trials
    assert len(trials) == 2 and all(t.status == "COMPLETED" for t in trials.values())
    table = _read_csv(tmp_path / "trials.csv")
    assert [r["trial"] for r in table] == sorted(trials)
    for row in table:
        trial = trials[row["trial"]]
        assert float(row["score"]) == pytest.approx(trial.score)
        for name, value in trial.hyperparameters.values.items():
            assert row[name] == str(value)
    with open(tmp_path / "best_hyperparameters.json") as handle:
        recorded = json.load(handle)
    best_trial = tuner.oracle.get_best_trials(1)[0]
    assert recorded["objective"] == "val_main_accuracy"
    assert recorded["hyperparameters"] == best_trial.hyperparameters.values == best
    assert recorded["score"] == pytest.approx(best_trial.score)
    markdown = (tmp_path / "trials.md").read_text().splitlines()
    assert len(markdown) == 2 + len(trials) and "aux1_weight" in markdown[0]
    assert (tmp_path / "scores.png").stat().st_size > 1000

    # The best trial trains as a run: the search's configuration with its values.
    from keras_attention.config import from_search

    from keras_attention import cli

    chosen = from_search(str(tmp_path))
    assert chosen.model == "cifar_se_resnet18" and chosen.learning_rate == best["learning_rate"]
    assert chosen.aux_loss_weights == (best["aux1_weight"], best["aux2_weight"])
    assert chosen.model_kwargs["aux_dropout"] == best["aux_dropout"]
    run_dir = tmp_path / "best_run"
    argv = ["--from-search", str(tmp_path), "--epochs", "1", "--output-dir", str(run_dir)]
    assert cli.main([*argv, "--progress", "0"]) == 0
    recorded = json.loads((run_dir / "run.json").read_text())["config"]
    assert recorded["learning_rate"] == best["learning_rate"] and recorded["epochs"] == 1
    assert recorded["aux_positions"] == [2, 3] and recorded["reduction"] == best["reduction"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bayesian", "grid", "hyperband"])
def test_other_tuners(name, tmp_path):
    hypermodel = tuning.AttentionHyperModel(
        "cifar_resnet8",
        image_size=16,
        epochs=2,
        batch_size=32,
        steps_per_epoch=2,
        fixed={"attention": "ssa"},
        ranges={"learning_rate": ("choice", {"values": [0.01, 0.05]})},
    )
    extra = {"factor": 2, "hyperband_iterations": 1} if name == "hyperband" else {}
    tuner, rows, _ = tuning.search(
        hypermodel, str(tmp_path), tuner=name, max_trials=2, verbose=0, **extra
    )
    assert isinstance(tuner, tuning.TUNERS[name])
    assert rows and all(r["status"] == "COMPLETED" for r in rows)


def test_unknown_tuner():
    with pytest.raises(ValueError, match="Unknown tuner 'anneal'"):
        tuning.make_tuner("anneal", None, "val_accuracy", "/tmp/x")
    assert tuning.objective("val_loss").direction == "min"
    assert tuning.objective("val_main_accuracy").direction == "max"


def _tune_command(tmp_path, *extra):
    return [
        sys.executable,
        os.path.join(ROOT, "train_keras.py"),
        "tune",
        "--model", "cifar_resnet8",
        "--image-size", "16",
        "--epochs", "1",
        "--steps-per-epoch", "15",
        "--batch-size", "32",
        "--fix", "attention=se",
        "--output-dir", str(tmp_path),
        "--progress", "0",
        *extra,
    ]  # fmt: skip


def _stamp(path):
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@pytest.mark.slow
def test_killed_search_continues_where_it_stopped(tmp_path):
    """Killed after trial 0 finished, the search keeps it and continues with trial 1."""
    command = _tune_command(tmp_path, "--max-trials", "3")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    first = tmp_path / "search" / "trial_0" / "trial.json"
    oracle = tmp_path / "search" / "oracle.json"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if first.exists() and json.loads(first.read_text())["status"] == "COMPLETED":
            break
        time.sleep(0.05)
    assert process.poll() is None, "the search ended before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    json.loads(oracle.read_text())  # the old oracle or the new one, whole
    finished_before = json.loads(first.read_text())
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=400)
    table = _read_csv(tmp_path / "trials.csv")
    assert [r["trial"] for r in table] == ["0", "1", "2"]
    assert all(r["status"] == "COMPLETED" for r in table)
    # Trial 0 was kept, not run again: same score and values as before the kill.
    assert float(table[0]["score"]) == pytest.approx(finished_before["score"])
    assert json.loads(first.read_text())["score"] == finished_before["score"]


def _quick_hypermodel(block="se"):
    return tuning.AttentionHyperModel(
        "cifar_resnet8",
        image_size=16,
        epochs=1,
        batch_size=32,
        steps_per_epoch=1,
        fixed={"attention": block},
    )


class _Killed(BaseException):
    """Stands for a kill: not an Exception, so nothing on the way catches it."""


@pytest.mark.slow
def test_a_kill_in_the_middle_of_writing_the_oracle_leaves_it_whole(tmp_path, monkeypatch):
    """Keras Tuner rewrites oracle.json many times per trial; a kill half-way through one of
    those writes (here: the write stops after half the bytes) leaves the previous oracle.json
    whole, and the search continues from it."""
    tuning.search(_quick_hypermodel(), str(tmp_path), max_trials=1, verbose=0)
    oracle = tmp_path / "search" / "oracle.json"
    before = oracle.read_text()
    write_bytes = run_folder.write_bytes
    killed = []

    def half_then_killed(path, content):
        if os.path.basename(path) == "oracle.json" and not killed:
            killed.append(path)  # killed with half of the new oracle written
            with open(run_folder.temporary_name(path), "wb") as handle:
                handle.write(content[: len(content) // 2])
            raise _Killed
        return write_bytes(path, content)

    monkeypatch.setattr(run_folder, "write_bytes", half_then_killed)
    with pytest.raises(_Killed):
        tuning.search(_quick_hypermodel(), str(tmp_path), max_trials=2, verbose=0)
    assert killed and oracle.read_text() == before  # the old one, whole
    monkeypatch.undo()
    _, rows, _ = tuning.search(_quick_hypermodel(), str(tmp_path), max_trials=2, verbose=0)
    assert len(rows) == 2 and all(r["status"] == "COMPLETED" for r in rows)
    assert not [p for p in tmp_path.rglob("*") if ".partial." in p.name]


@pytest.mark.slow
def test_another_configuration_in_a_searchs_folder_is_refused(tmp_path):
    hypermodel = _quick_hypermodel
    tuning.search(hypermodel("se"), str(tmp_path), max_trials=1, verbose=0)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "search").rglob("*") if p.is_file()}
    with pytest.raises(
        ConfigError, match=r"another configuration \(fixed\.attention: 'se' -> 'eca'"
    ):
        tuning.search(hypermodel("eca"), str(tmp_path), max_trials=1, verbose=0)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing was run or written
    tuner, rows, _ = tuning.search(hypermodel("se"), str(tmp_path), max_trials=1, verbose=0)
    assert len(rows) == 1  # the same search is continued (here: already finished)
    damaged = tmp_path / "search" / "trial_0" / "trial.json"
    damaged.write_text("")
    with pytest.raises(RunError, match=r"trial_0/trial\.json is damaged \(empty\).*remove"):
        tuning.search(hypermodel("se"), str(tmp_path), max_trials=1, verbose=0)


def test_hyperparameters_the_model_cannot_use_are_errors():
    with pytest.raises(ConfigError, match=r"--fix aux1_weight: 'cifar_resnet8' has no aux"):
        tuning.AttentionHyperModel("cifar_resnet8", fixed={"aux1_weight": 0.3})
    with pytest.raises(ConfigError, match=r"SE-R feeds .* ssa cannot take"):
        _se_r_hypermodel(fixed={"attention": "ssa", "aux_positions": "2,3"})


def _layers(model):
    """Every layer's class, dropout rate and BatchNorm semantics, in order."""
    return [
        (type(layer).__name__, getattr(layer, "rate", None), getattr(layer, "dropout_rate", None))
        for layer in model._flatten_layers(include_self=False)
    ]


@pytest.mark.parametrize(
    "model, recipe, values",
    [
        (
            "cifar_se_resnet18",
            "se_r_cifar",  # PyTorch BatchNorm semantics
            {"attention": "se", "reduction": 4, "aux_positions": "2,3", "aux1_weight": 0.4,
             "aux2_weight": 0.2, "aux_dropout": 0.5, "learning_rate": 0.02},
        ),
        (
            "mobilenet_v2_0.35",
            "mobilenet_v2",  # classifier dropout 0.2
            {"attention": "spem", "spem_alpha": 0.3, "learning_rate": 0.01},
        ),
    ],
    ids=["se_r_torch_batchnorm", "mobilenet_dropout"],
)  # fmt: skip
def test_a_trial_and_a_training_run_with_the_same_values_are_the_same_network(
    model, recipe, values
):
    from keras_attention.assembly import build_compiled
    from keras_attention.config import TrainConfig, resolve

    options = dict(model=model, recipe=recipe, image_size=32, epochs=1, batch_size=32)
    hypermodel = tuning.AttentionHyperModel(**options, fixed=values)
    trial = hypermodel.build(kt.HyperParameters())
    config = TrainConfig(
        **options,
        attention=values["attention"],
        learning_rate=values["learning_rate"],
        reduction=values.get("reduction"),
        aux_positions=(2, 3) if "aux_positions" in values else (),
        aux_loss_weights=(0.4, 0.2) if "aux_positions" in values else None,
        model_kwargs={"aux_dropout": 0.5} if "aux_dropout" in values else {},
        attention_kwargs={"alpha": 0.3} if "spem_alpha" in values else {},
    )
    run = build_compiled(resolve(config), hypermodel.info)
    assert _layers(trial) == _layers(run)
    assert trial.count_params() == run.count_params()
    assert trial.get_compile_config()["loss_weights"] == run.get_compile_config()["loss_weights"]
    trial_rate = trial.optimizer.learning_rate.numpy()
    assert trial_rate == pytest.approx(run.optimizer.learning_rate.numpy())
    # What the recipe decides reached both: its BatchNorm semantics and its dropout.
    classes = {name for name, _, _ in _layers(trial)}
    if recipe == "se_r_cifar":
        assert "TorchBatchNormalization" in classes and "BatchNormalization" not in classes
        assert trial.get_layer("aux1").dropout_rate == 0.5
    else:
        assert [rate for name, rate, _ in _layers(trial) if name == "Dropout"] == [0.2]
        assert {layer.alpha for layer in trial.layers if type(layer).__name__ == "SPEM"} == {0.3}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_distributed_search_with_a_chief_and_two_workers(tmp_path):
    """Keras Tuner's own distributed mode: the chief runs the oracle, two workers run trials,
    all on one folder; the result is one consistent search."""
    command = _tune_command(tmp_path, "--max-trials", "4")
    command[command.index("--steps-per-epoch") + 1] = "3"
    base = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="3",
        KERASTUNER_ORACLE_IP="127.0.0.1",
        KERASTUNER_ORACLE_PORT=str(_free_port()),
    )

    def start(tuner_id):
        return subprocess.Popen(
            command, cwd=ROOT, env={**base, "KERASTUNER_TUNER_ID": tuner_id},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    processes = [start("chief")]
    deadline = time.time() + 120  # the workers start together once the oracle serves
    while time.time() < deadline and processes[0].poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", int(base["KERASTUNER_ORACLE_PORT"]))) == 0:
                break
        time.sleep(0.1)
    processes += [start("tuner0"), start("tuner1")]
    try:
        outputs = [p.communicate(timeout=480)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert "4 trials; best val_accuracy" in outputs[0]
    table = _read_csv(tmp_path / "trials.csv")
    assert len(table) == 4 and all(r["status"] == "COMPLETED" for r in table)
    assert len({r["trial"] for r in table}) == 4
    assert len({(r["reduction"], r["learning_rate"]) for r in table}) == 4  # four distinct trials
    for row in table:
        trial = json.loads(
            (tmp_path / "search" / f"trial_{row['trial']}" / "trial.json").read_text()
        )
        assert trial["status"] == "COMPLETED"
        assert float(row["score"]) == pytest.approx(trial["score"])
    best = json.loads((tmp_path / "best_hyperparameters.json").read_text())
    assert best["score"] == pytest.approx(max(float(r["score"]) for r in table))
    # Both workers ran trials (each writes its state after a trial); the chief ran none.
    assert (tmp_path / "search" / "tuner0.json").exists()
    assert (tmp_path / "search" / "tuner1.json").exists()
