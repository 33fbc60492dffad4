"""Keras Tuner search: trials on the digits, loss weights in the compiled model, resume, files."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras_tuner as kt
import pytest

from keras_attention import tuning

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
    with pytest.raises(ValueError, match="Unknown hyperparameters"):
        tuning.AttentionHyperModel("cifar_resnet8", fixed={"dropout_rate": 0.1})


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_search_writes_results_that_agree_with_the_tuner(tmp_path):
    tuner, rows, best = tuning.search(
        _se_r_hypermodel(), str(tmp_path), tuner="random", max_trials=2, verbose=0
    )
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


@pytest.mark.slow
def test_killed_search_continues_where_it_stopped(tmp_path):
    command = [
        sys.executable,
        os.path.join(ROOT, "train_keras.py"),
        "tune",
        "--model", "cifar_resnet8",
        "--image-size", "16",
        "--epochs", "1",
        "--steps-per-epoch", "15",
        "--batch-size", "32",
        "--fix", "attention=se",
        "--max-trials", "3",
        "--output-dir", str(tmp_path),
        "--progress", "0",
    ]  # fmt: skip
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    first = tmp_path / "search" / "trial_0" / "trial.json"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if first.exists() and json.loads(first.read_text())["status"] == "COMPLETED":
            break
        time.sleep(0.05)
    assert process.poll() is None, "the search ended before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before = json.loads(first.read_text())
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=400)
    table = _read_csv(tmp_path / "trials.csv")
    assert [r["trial"] for r in table] == ["0", "1", "2"]
    assert all(r["status"] == "COMPLETED" for r in table)
    # Trial 0 was kept, not run again: same score and values as before the kill.
    assert float(table[0]["score"]) == pytest.approx(finished_before["score"])
    assert json.loads(first.read_text())["score"] == finished_before["score"]
