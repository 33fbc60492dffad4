"""Train several networks the same way and tabulate them, as the papers compare blocks.

`compare_blocks` trains one backbone with each chosen block (and none) for N seeds;
`reproduce_table` trains the rows of one of the papers' tables (`keras_attention.papers`). Both
go through `run`, which trains every entry and seed with `keras_attention.training.train` (so an
interrupted comparison resumes: finished runs are recognised and kept) and writes:

- `results.csv` and `results.md`: name, parameters, MACs, accuracy mean and standard deviation
  over the seeds, training images per second (and the paper's figures for a table);
- `results.png`: accuracy against parameters and against throughput;
- `results.json`: the same, with every run's metrics.
"""

import dataclasses
import json
import os

import numpy as np

from keras_attention import catalog
from keras_attention.io import progress, run_folder
from keras_attention.training import loop as training
from keras_attention.training import papers
from keras_attention.training.callbacks import EpochLog
from keras_attention.training.config import TrainConfig, effective_values


@dataclasses.dataclass
class Entry:
    """One network to train: a name (its folder), a label, the run's configuration (seed and
    output folder are set per run) and, for a paper's row, the row."""

    name: str
    label: str
    config: TrainConfig
    row: papers.Row = None


def _identity(config):
    """What makes two entries the same training: their effective values, seed aside."""
    values = effective_values(config)
    values.pop("seed", None)
    return json.dumps(values, sort_keys=True, default=str)


def run(entries, seeds=(0,), output_dir="runs/compare", log=print, progress_mode=0, title=None):
    """Trains every entry for every seed, then writes the results; returns their rows.

    Entries whose configurations are identical (a table's CIFAR-10 and CIFAR-100 rows once
    the data set is overridden) are trained once.
    """
    if not entries:
        raise ValueError("comparison: nothing to train (no entries)")
    seeds = tuple(seeds)
    if not seeds or any(not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"seeds: expected one or more integers >= 0, got {seeds!r}")
    unique, seen = [], set()
    for entry in entries:
        key = _identity(entry.config)
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    counter = progress.Counter(len(unique) * len(seeds))
    results = []
    for entry in unique:
        runs = []
        for seed in seeds:
            index = counter.done + 1
            config = dataclasses.replace(
                entry.config,
                seed=seed,
                output_dir=os.path.join(output_dir, entry.name, f"seed{seed}"),
                verbose=progress_mode,
            )
            prefix = f"[{index}/{counter.total}] {entry.name} seed {seed}: "
            log(f"{prefix}training {config.model} + {config.attention} on {config.dataset}")
            metrics = training.train(config, log=log, callbacks=[EpochLog(log, prefix)])
            runs.append(metrics)
            counter.step()
            state = "already complete" if metrics.get("already_complete") else "trained"
            log(
                f"{prefix}test accuracy {metrics['accuracy']:.4f}, "
                f"{metrics['images_per_second'] or 0:.0f} images/s ({state}); {counter.status()}"
            )
        results.append(summarise(entry, runs))
    write_results(results, output_dir, title)
    return results


def summarise(entry, runs):
    """One result row from an entry's runs (one per seed)."""
    accuracies = np.array([r["accuracy"] for r in runs], dtype=float)
    result = {
        "name": entry.name,
        "label": entry.label,
        "model": entry.config.model,
        "attention": entry.config.attention,
        "dataset": entry.config.dataset,
        "recipe": entry.config.recipe,
        "parameters": runs[0]["inference_parameters"],
        "macs": runs[0]["macs"],
        "accuracy_mean": float(accuracies.mean()),
        "accuracy_std": float(accuracies.std(ddof=1)) if len(runs) > 1 else 0.0,
        "seeds": len(runs),
        "images_per_second": float(np.mean([r["images_per_second"] or 0.0 for r in runs])),
        "runs": runs,
    }
    if entry.row is not None:
        row = entry.row
        result.update(
            paper_dataset=row.dataset,
            paper_params=row.paper_params,
            paper_macs=row.paper_macs,
            paper_accuracy=row.paper_accuracy,
        )
    return result


def _fmt(value, pattern):
    return "" if value is None else pattern.format(value)


def table_rows(results):
    """The results as printable rows (header first): ours beside the paper's where known."""
    with_paper = any("paper_accuracy" in r for r in results)
    header = ["name", "data set", "parameters", "MACs (M)", "accuracy (%)", "images/s"]
    if with_paper:
        header += ["paper data set", "paper params (M)", "paper MACs (G)", "paper accuracy (%)"]
    lines = [header]
    for r in results:
        accuracy = f"{100 * r['accuracy_mean']:.2f}"
        if r["seeds"] > 1:
            accuracy += f" ± {100 * r['accuracy_std']:.2f}"
        line = [
            r["name"],
            r["dataset"],
            f"{r['parameters']:,}",
            f"{r['macs'] / 1e6:,.1f}",
            accuracy,
            f"{r['images_per_second']:,.0f}",
        ]
        if with_paper:
            line += [
                r.get("paper_dataset", ""),
                _fmt(r.get("paper_params"), "{:g}"),
                _fmt(r.get("paper_macs"), "{:g}"),
                _fmt(r.get("paper_accuracy"), "{:.2f}"),
            ]
        lines.append(line)
    return lines


def markdown(lines):
    """The rows of `table_rows` (the first one the header) as a Markdown table."""
    head, *body = lines
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in line) + " |" for line in body]
    return "\n".join(out)


def write_results(results, output_dir, title=None):
    """Writes results.csv (one row per network, numbers unformatted), results.md (the table
    as printed), results.json (with every run's metrics) and results.png into `output_dir`."""
    import csv
    import io

    os.makedirs(output_dir, exist_ok=True)
    lines = table_rows(results)
    table = io.StringIO()
    writer = csv.DictWriter(table, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(results)  # numbers as numbers: 272186, not "272,186"
    run_folder.write_text(os.path.join(output_dir, "results.csv"), table.getvalue())
    text = (f"# {title}\n\n" if title else "") + markdown(lines) + "\n"
    run_folder.write_text(os.path.join(output_dir, "results.md"), text)
    run_folder.write_text(
        os.path.join(output_dir, "results.json"), json.dumps(results, indent=2, default=str)
    )
    plot_results(results, os.path.join(output_dir, "results.png"), title)


CSV_COLUMNS = (
    "name",
    "label",
    "model",
    "attention",
    "dataset",
    "recipe",
    "parameters",
    "macs",
    "accuracy_mean",
    "accuracy_std",
    "seeds",
    "images_per_second",
    "paper_dataset",
    "paper_params",
    "paper_macs",
    "paper_accuracy",
)


def plot_results(results, path=None, title=None):
    """Accuracy against parameters and against training throughput; returns the Figure
    (saved as `path` when given)."""
    from keras_attention.explore.figures import new_figure

    figure, axes = new_figure(1, 2, (10, 4), for_file=path is not None)
    axes = axes[0]
    for r in results:
        for axis, x in zip(axes, (r["parameters"] / 1e6, r["images_per_second"]), strict=True):
            axis.errorbar(x, 100 * r["accuracy_mean"], yerr=100 * r["accuracy_std"], fmt="o")
            axis.annotate(r["name"], (x, 100 * r["accuracy_mean"]), fontsize=7)
    axes[0].set_xlabel("parameters (M)")
    axes[1].set_xlabel("training images per second")
    for axis in axes:
        axis.set_ylabel("test accuracy (%)")
        axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def compare_blocks(
    model="cifar_resnet20",
    blocks=("se", "ssa", "spem", "eca"),
    include_plain=True,
    seeds=(0,),
    output_dir="runs/compare",
    log=print,
    progress=0,
    **config,
):
    """Trains `model` with each block of `blocks` (and without attention) for every seed.

    Args:
        model: a model name (`keras_attention.catalog`).
        blocks: registered block names.
        include_plain: also train the model without attention ("none").
        seeds: one run per seed; accuracy is reported as mean ± standard deviation.
        output_dir: one folder per block and seed, and the results files.
        **config: further `TrainConfig` fields (dataset, recipe, epochs, batch_size,
            image_size, steps_per_epoch, attention_kwargs, model_kwargs, ...).

    Returns:
        The result rows (see `run`).
    """
    names = (["none"] if include_plain else []) + [b for b in blocks if b != "none"]
    entries = []
    for block in names:
        catalog.check_block(block)
        kwargs = dict(config)
        if block == "none":
            kwargs.pop("attention_kwargs", None)
            kwargs.pop("reduction", None)
        entry_config = TrainConfig(model=model, attention=block, **kwargs).validate()
        entries.append(Entry(block, f"{model} + {block}", entry_config))
    title = f"{model} on {entries[0].config.dataset}: blocks compared"
    return run(entries, seeds, output_dir, log, progress, title)


def row_config(row, **overrides):
    """The `TrainConfig` that trains a paper's row, with `overrides` (dataset, epochs, ...)."""
    return row.config(**overrides).validate()


def reproduce_table(
    name, rows=None, seeds=(0,), output_dir=None, log=print, progress=0, **overrides
):
    """Trains the rows of a paper's table with their recipes and returns the results beside
    the paper's figures.

    Args:
        name: a table of `keras_attention.papers` (e.g. `"spem_table1"`).
        rows: names of the rows to train (default all).
        seeds: one run per seed.
        output_dir: default `runs/reproduce/NAME`.
        **overrides: `TrainConfig` fields for a quick run (dataset, epochs, batch_size,
            image_size, steps_per_epoch, validation_split).
    """
    table = papers.table(name)
    chosen = papers.select_rows(table, rows)
    entries = [Entry(row.name, row.label, row_config(row, **overrides), row) for row in chosen]
    trained_on = sorted({entry.config.dataset for entry in entries})
    papers_data = sorted({row.dataset for row in chosen})
    title = table.title
    if trained_on != papers_data:
        title += f" (trained here on {', '.join(trained_on)}; the paper: {', '.join(papers_data)})"
    return run(
        entries,
        seeds,
        output_dir or os.path.join("runs", "reproduce", name),
        log,
        progress,
        title,
    )
