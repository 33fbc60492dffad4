"""The papers' tables as data, `papers.build`, and `keras-attention reproduce`."""

import csv
import json
import os

import pytest

from keras_attention import cli, papers, profile


def _main(capsys, argv):
    code = cli.main(argv)
    return code, capsys.readouterr()


def test_reproduce_list_names_the_tables_and_their_rows(capsys):
    code, captured = _main(capsys, ["reproduce", "--list"])
    assert code == 0
    names = [line.split()[0] for line in captured.out.splitlines() if not line.startswith(" ")]
    assert len(names) >= 5 and set(names) == set(papers.TABLES)
    for table in ("spem_table1", "se_r_table3", "ssa_table3", "ssa_table4"):
        assert table in names
    assert "resnet164_spem_cifar10" in captured.out


def test_every_row_names_a_known_model_recipe_and_data_set():
    from keras_attention import catalog, recipes

    for row in papers.rows().values():
        catalog.parse_model(row.model)
        catalog.check_block(row.attention)
        catalog.check_dataset(row.dataset)
        recipes.check(row.recipe)
        # Rows from PyTorch code train with PyTorch semantics; MobileNetV2 with TF-slim's.
        batchnorm = dict(row.model_kwargs).get("batchnorm", "keras")
        assert batchnorm == recipes.get(row.recipe).batchnorm, row.name


def test_build_makes_the_authors_network():
    ssa = papers.build("ssa_resnet50")
    # The SSA code's layout: the 3x3 convolution of a bottleneck strides.
    assert ssa.get_layer("stage2_block1_conv2").strides == (2, 2)
    assert ssa.get_layer("stage2_block1_conv1").strides == (1, 1)
    assert type(ssa.get_layer("stem_bn")).__name__ == "TorchBatchNormalization"
    assert profile(ssa).trainable_params == 25_557_064
    se_r = papers.build("cifar_se_r_resnet34")
    assert se_r.output_names == ["main", "aux1", "aux2"]
    with pytest.raises(ValueError, match="unknown row 'ssa_resnet51'"):
        papers.build("ssa_resnet51")


def _dry_run_rows(out):
    """{row name: (our parameters, exact target, verdict)} from a dry run's output."""
    rows = {}
    for line in out.splitlines():
        tokens = line.split()
        verdicts = [i for i, t in enumerate(tokens) if t in ("ok", "DIFFERS")]
        if verdicts:
            k = verdicts[0]
            rows[tokens[0]] = (tokens[1], tokens[k - 1], tokens[k])
    return rows


@pytest.mark.slow
def test_dry_run_meets_the_exact_parameter_targets(capsys):
    spem = ["resnet164_none_cifar10", "resnet164_spem_cifar10"]
    spem += ["resnet164_none_cifar100", "resnet164_spem_cifar100"]
    code, captured = _main(
        capsys, ["reproduce", "spem_table1", "--dry-run", "--rows", ",".join(spem)]
    )
    assert code == 0, captured.err
    rows = _dry_run_rows(captured.out)
    expected = ("1,704,154", "1,736,518", "1,727,284", "1,759,648")
    assert [rows[name] for name in spem] == [(c, c, "ok") for c in expected]
    code, captured = _main(capsys, ["reproduce", "se_r_table3", "--dry-run"])
    assert code == 0, captured.err
    rows = _dry_run_rows(captured.out)
    expected = ("21,655,420", "26,144,836", "28,778,692", "33,530,764", "52,272,964")
    expected += ("57,242,636",)
    assert list(rows.values()) == [(c, c, "ok") for c in expected]


def test_reproduce_rejects_bad_tables_and_rows_in_one_line(capsys):
    code, captured = _main(capsys, ["reproduce", "spem_table9"])
    assert code == 2
    assert captured.err.strip().startswith("keras-attention reproduce: error: unknown table")
    assert len(captured.err.strip().splitlines()) == 1
    code, captured = _main(capsys, ["reproduce", "spem_table1", "--rows", "resnet83_none_cifar10"])
    assert code == 2 and "not in spem_table1" in captured.err
    code, captured = _main(capsys, ["reproduce", "spem_table1", "--dataset", "mnist"])
    assert code == 2 and "unknown data set 'mnist'" in captured.err


@pytest.mark.slow
def test_reproduce_trains_rows_end_to_end_on_digits(tmp_path, capsys):
    out = tmp_path / "reproduce"
    argv = ["reproduce", "spem_table2", "--rows", "resnet83_spem_cifar10,resnet83_spem_cifar100"]
    argv += ["--dataset", "digits", "--epochs", "1", "--image-size", "16"]
    argv += ["--steps-per-epoch", "2", "--output-dir", str(out)]
    code, captured = _main(capsys, argv)
    assert code == 0, captured.err
    # The CIFAR-10 and CIFAR-100 rows are the same network on digits: trained once.
    assert "[1/1] resnet83_spem_cifar10 seed 0: training cifar_resnet83" in captured.out
    # It says what it does while it does it: each epoch, then the run and the time so far.
    assert "[1/1] resnet83_spem_cifar10 seed 0: epoch 1/1, accuracy" in captured.out
    assert "1/1, " in captured.out and " so far" in captured.out
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == ["resnet83_spem_cifar10"]
    assert rows[0]["paper_accuracy"] == "94.03" and rows[0]["paper_params"] == "0.89"
    metrics = json.loads((out / "resnet83_spem_cifar10" / "seed0" / "metrics.json").read_text())
    # Numbers as numbers, and the data set it was trained on beside the paper's.
    assert rows[0]["parameters"] == str(metrics["inference_parameters"])
    assert float(rows[0]["accuracy_mean"]) == pytest.approx(metrics["accuracy"])
    assert rows[0]["dataset"] == "digits" and rows[0]["paper_dataset"] == "cifar10"
    title = (out / "results.md").read_text().splitlines()[0]
    assert "trained here on digits; the paper: cifar10, cifar100" in title
    assert "| digits |" in (out / "results.md").read_text()
    assert metrics["config"]["model_kwargs"] == {"batchnorm": "torch"}
    assert metrics["config"]["recipe"] == "spem_cifar"
    assert os.path.getsize(out / "results.png") > 1000
    # The same command again keeps the finished run.
    code, captured = _main(capsys, argv)
    assert code == 0 and "(already complete)" in captured.out
