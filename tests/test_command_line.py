"""The command line and Python API as a new user meets them: start-up before any backend,
"did you mean", output in a pipe, default folders, the same run twice, using a trained run."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_attention import catalog, cli, config, data
from keras_attention.cli import options, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(os.path.dirname(sys.executable), "keras-attention")
QUICK = ["--model", "cifar_resnet8", "--image-size", "16", "--epochs", "2"]


def _run(argv, cwd=ROOT, env=None, timeout=300):
    return subprocess.run(
        [SCRIPT, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {})),
    )


def _imported(argv):
    """The top-level packages the command line imported to answer `argv`."""
    result = _run(argv, env={"PYTHONPROFILEIMPORTTIME": "1"}, timeout=60)
    return result, {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}


# --- start-up ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, code",
    [
        (["--help"], 0),
        (["--version"], 0),
        (["list"], 0),
        (["train", "--help"], 0),
        (["--attention", "sse"], 2),
        (["--dataset", "digit"], 2),
        (["--epochs", "0"], 2),
        (["tune", "--fix", "attention=sse"], 2),
        (["compare", "--blocks", "se,sse"], 2),
        (["reproduce", "spem_tabel1"], 2),
        (["predict", "/no/such/run", "x.png"], 2),
        (["predict", ROOT, "x.png"], 2),  # a folder, but no run
        (["evaluate", ROOT], 2),
        (["--attention-kwargs", "reduce=4"], 2),
        (["--model-kwargs", "batchnorm=torhc"], 2),
        (["tune", "--range", "attention=1:2"], 2),
        (["tune", "--fix", "attention=eca", "--fix", "reduction=8"], 2),
        (["tune", "--model", "cifar_resnet8", "--objective", "val_acuracy"], 2),
        (["--epcohs", "3"], 2),
        (["trian"], 2),
    ],
)
def test_help_list_and_usage_errors_answer_without_keras_or_tensorflow(argv, code):
    result, modules = _imported(argv)
    assert result.returncode == code, result.stderr[-2000:]
    assert not modules & {"keras", "tensorflow", "jax", "torch"}, sorted(modules)[:20]


def test_importing_the_package_changes_nothing_else_in_the_process():
    script = """
import logging, os, sys
before = (dict(os.environ), os.fstat(2).st_ino, logging.getLogger("tensorflow").level)
import keras, keras_attention
after = (dict(os.environ), os.fstat(2).st_ino, logging.getLogger("tensorflow").level)
assert before == after, [b == a for b, a in zip(before, after)]
# ... and registers what it saves, so load_model finds it
assert keras.saving.get_registered_object("keras_attention>SqueezeExcitation") is not None
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


@pytest.mark.slow
def test_the_startup_benchmark_prints_its_table():
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "startup.py"), "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    rows = [row for row in rows if not row.startswith("| ---")]
    assert len(rows) == 1 + 6 and "python -c pass" in rows[1]
    assert all(row.endswith("| no backend |") for row in rows[2:]), rows


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, suggestion",
    [
        (["--attention", "sse"], "did you mean 'se'?"),
        (["--dataset", "digit"], "did you mean 'digits'?"),
        (["--dataset", "cifar-10"], "did you mean 'cifar10'?"),
        (["--model", "ResNet50"], "did you mean 'resnet50'?"),
        (["--recipe", "spem-cifar"], "did you mean 'spem_cifar'?"),
        (["--strategy", "mirorred"], "did you mean 'mirrored'?"),
        (["tune", "--tuner", "bayes"], "did you mean 'bayesian'?"),
        (["tune", "--fix", "aux1_wieght=0.3", "--model", "cifar_se_resnet18"], "'aux1_weight'"),
        (["trian"], "did you mean 'train'?"),
        (["reproduce", "spem_tabel1"], "did you mean 'spem_table1'?"),
        (["list", "block"], "did you mean 'blocks'?"),
        (["--epcohs", "3"], "did you mean '--epochs'?"),
        (["export", "x", "--modes", "float33"], "did you mean 'float32'?"),
        (["tune", "--model", "cifar_resnet8", "--objective", "val_acuracy"], "'val_accuracy'"),
        (["--model-kwargs", "batchnorm=torhc"], "did you mean 'torch'?"),
        (["--attention", "ssa", "--attention-kwargs", "group=4"], "did you mean 'groups'?"),
    ],
)
def test_every_name_gets_a_did_you_mean(argv, suggestion, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and suggestion in lines[0], lines


def test_the_argument_lists_the_command_line_checks_are_the_constructors():
    import inspect

    from keras_attention import models
    from keras_attention.layers import AttentionBlock, registry

    def constructor_arguments(cls):
        """The arguments of `cls` and, through `**kwargs`, of the blocks it extends."""
        found = []
        for klass in cls.__mro__:
            if klass is AttentionBlock or not issubclass(klass, AttentionBlock):
                break
            parameters = inspect.signature(klass.__init__).parameters
            found += [p for p, v in parameters.items() if p != "self" and v.kind != v.VAR_KEYWORD]
            if not any(v.kind == v.VAR_KEYWORD for v in parameters.values()):
                break
        return set(found) - set(catalog.LAYER_ARGUMENTS)

    assert set(catalog.BLOCK_ARGUMENTS) == set(registry.names())
    for name, arguments in catalog.BLOCK_ARGUMENTS.items():
        assert set(arguments) == constructor_arguments(registry.resolve(name)), name
    factories = {
        "cifar_resnet": models.cifar_resnet,
        "preact_resnet": models.cifar_resnet,
        "cifar_se_resnet": models.cifar_se_resnet,
        "resnet": models.resnet,
        "mobilenet_v2": models.mobilenet_v2,
        "mobilenet_v3": models.mobilenet_v3,
        "efficientnet": models.efficientnet,
        "regnet": models.regnet,
    }
    # What the model's name gives, and `preprocessing` (Keras layers, for Python callers).
    own = {"depth", "alpha", "attention", "num_classes", "input_shape", "attention_kwargs"}
    own |= {"variant", "size", "minimalistic", "preprocessing"}
    for family, factory in factories.items():
        parameters = set(inspect.signature(factory).parameters) - own - {"preact"}
        assert set(catalog.MODEL_OPTIONS[family]) == parameters, family
    # resnext takes resnet's options but the two its name gives.
    resnet_options = set(catalog.MODEL_OPTIONS["resnet"]) - {"cardinality", "width_per_group"}
    assert set(catalog.MODEL_OPTIONS["resnext"]) == resnet_options


def test_searches_the_model_cannot_run_are_refused_before_they_start(capsys):
    cases = {
        ("--range", "attention=1:2"): "attention is a choice, not a number",
        ("--fix", "attention=eca", "--fix", "reduction=8"): "takes no reduction",
        ("--fix", "attention=se", "--fix", "spem_alpha=0.2"): "not spem",
        ("--fix", "aux_positions=2", "--fix", "aux2_weight=0.2"): "one auxiliary head",
    }
    for argv, words in cases.items():
        assert cli.main(["tune", *argv]) == 2
        assert words in capsys.readouterr().err, argv


def test_the_default_folders_of_compare_tune_and_reproduce_are_named_too():
    assert options.default_folder("compare", "digits", "cifar_resnet20") == os.path.join(
        "runs", "compare-digits-cifar_resnet20"
    )
    assert options.default_folder("tune", "dir:/data/pets/", "resnet18") == os.path.join(
        "runs", "tune-pets-resnet18"
    )


def test_compare_names_its_own_option():
    result = _run(["compare", "--blocks", "se,sse"])
    assert result.returncode == 2 and "--blocks: unknown block 'sse'" in result.stderr


@pytest.mark.slow
def test_an_unknown_block_or_model_argument_names_the_block_and_what_it_takes(tmp_path):
    result = _run(["--attention-kwargs", "reduce=4", "--output-dir", str(tmp_path / "r")])
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert "SqueezeExcitation (se) takes no argument 'reduce'" in line
    assert "did you mean 'reduction'?" in line and "pooling" in line
    result = _run(["--model-kwargs", "strid_on=3x3", "--model", "resnet18", "--output-dir", "r"])
    assert result.returncode == 2 and "did you mean 'stride_on'?" in result.stderr


def test_a_hyperparameter_the_model_cannot_use_is_an_error(capsys):
    assert cli.main(["tune", "--model", "cifar_resnet8", "--fix", "aux1_weight=0.3"]) == 2
    assert "has no auxiliary classifiers" in capsys.readouterr().err


# --- defaults and configurations -----------------------------------------------------------------


def test_the_default_output_folder_is_named_from_data_model_and_block():
    assert config.TrainConfig().run_dir() == os.path.join("runs", "digits-cifar_resnet20-se")
    other = config.TrainConfig(model="cifar_resnet56", attention="spem", dataset="dir:/a/pets/")
    assert other.run_dir() == os.path.join("runs", "pets-cifar_resnet56-spem")


def test_configurations_are_compared_by_their_effective_values():
    plain = config.effective_values(config.TrainConfig())
    spelled_out = config.effective_values(
        config.TrainConfig(
            epochs=15,
            batch_size=64,
            learning_rate=0.05,
            image_size=32,
            model_kwargs={"batchnorm": "keras"},
        )
    )
    assert plain == spelled_out
    other = config.effective_values(config.TrainConfig(batch_size=32))
    assert config.differences(plain, other) == [
        "batch_size: 64 -> 32",
        "learning_rate: 0.05 -> 0.025",
    ]


def test_the_digits_test_split_does_not_depend_on_the_seed():
    tests = [
        np.stack([x for x, _ in data.load("digits", seed=s).test.as_numpy_iterator()])
        for s in (0, 3)
    ]
    np.testing.assert_array_equal(tests[0], tests[1])
    validations = [
        np.stack([x for x, _ in data.load("digits", seed=s, validation_split=0.1).validation])
        for s in (0, 3)
    ]
    assert not np.array_equal(validations[0], validations[1])


# --- the same command twice ----------------------------------------------------------------------


@pytest.mark.slow
def test_the_same_command_twice_gives_the_same_run_and_a_pipe_gets_one_line_per_epoch(tmp_path):
    results = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        result = _run([*QUICK, "--steps-per-epoch", "4"], cwd=tmp_path / name)
        assert result.returncode == 0, result.stderr[-2000:]
        results.append(result)
    folders = [tmp_path / n / "runs" / "digits-cifar_resnet8-se" for n in ("first", "second")]
    histories = [(f / "history.csv").read_text() for f in folders]
    assert histories[0] == histories[1]
    metrics = [json.loads((f / "metrics.json").read_text()) for f in folders]
    assert metrics[0]["accuracy"] == metrics[1]["accuracy"]
    # A pipe gets Keras' one line per epoch: no carriage returns, no colour codes.
    out = results[0].stdout
    assert "\r" not in out and "\x1b[" not in out
    assert [line.split(" - ")[0] for line in out.splitlines() if "/step" in line] == ["4/4"] * 2
    # The recipe's own batch size is the same configuration, not another one.
    again = _run([*QUICK, "--steps-per-epoch", "4", "--batch-size", "64"], cwd=tmp_path / "first")
    assert again.returncode == 0 and "run complete" in again.stdout


def test_models_build_has_the_defaults_of_each_family():
    from keras_attention import models

    assert models.build("resnet18").input_shape == (None, 224, 224, 3)
    assert models.build("resnet18").output_shape == (None, 1000)
    assert models.build("cifar_resnet8").output_shape == (None, 10)
    assert models.build("cifar_se_resnet18").name == "cifar_plain_resnet18"
    assert models.build("cifar_se_resnet18", "cbam").name == "cifar_cbam_resnet18"


def test_profile_without_attention_is_the_plain_network(capsys):
    assert cli.main(["profile", "cifar_se_resnet50", "--attention", "none", "--totals"]) == 0
    assert "23,547,402 trainable parameters" in capsys.readouterr().out
    assert cli.main(["profile", "cifar_se_resnet50", "--totals"]) == 0
    assert "cifar_se_resnet50: 28,594,282 trainable parameters" in capsys.readouterr().out


def test_list_models_gives_the_naming_rule(capsys):
    assert cli.main(["list", "models"]) == 0
    text = capsys.readouterr().out
    for rule in catalog.MODEL_NAME_RULES.values():
        assert f"\n  {rule} " in text
    assert "the block is --attention" in text


def test_train_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        train.train_parser().parse_args(["--help"])
    text = "".join(capsys.readouterr().out.split())  # wherever argparse wraps the lines
    assert "(defaultruns/DATASET-MODEL-ATTENTION," in text
    assert "--seedSEEDseedstheinitialweights" in text and "(default0;" in text
    assert "--learning-rate" in text and "--from-search" in text


# --- data ----------------------------------------------------------------------------------------


def test_a_download_that_fails_is_one_line_in_seconds(monkeypatch, capsys, tmp_path):
    import tensorflow_datasets as tfds

    def offline(self, *args, **kwargs):
        raise ConnectionError("Failed to resolve 'www.cs.toronto.edu'")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    argv = ["--dataset", "cifar10", "--data-dir", str(tmp_path), "--output-dir", str(tmp_path)]
    assert cli.main([*argv, "--epochs", "1"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "cifar10 is not prepared in" in lines[0]
    assert "--data-dir" in lines[0] and "Failed to resolve" in lines[0]


def test_a_data_set_with_manual_archives_needs_an_existing_manual_folder(capsys, tmp_path):
    with pytest.raises(data.DataError, match="downloaded by hand: give their folder"):
        data.prepare_tfds("imagenet2012", str(tmp_path))
    code = cli.main(["--dataset", "imagenet2012", "--manual-dir", str(tmp_path / "no")])
    assert code == 2
    assert "--manual-dir: folder" in capsys.readouterr().err
