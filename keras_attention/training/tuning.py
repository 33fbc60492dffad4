"""Keras Tuner search over auxiliary loss weights, reduction ratios, blocks and more.

`AttentionHyperModel` builds a model from the same factories, data pipelines and recipes as
`train_keras.py`; `search(...)` runs a tuner chosen by name, resumes a killed search from its
directory, and writes the best hyperparameters (JSON), a table of every trial (CSV and
Markdown) and a plot of the score against the main hyperparameters (PNG).
"""

import csv
import datetime
import glob
import io
import json
import math
import os

import keras_tuner
from keras_tuner.src.engine import oracle as oracle_module

from keras_attention import catalog, layers, models
from keras_attention.errors import ConfigError, RunError
from keras_attention.io import progress, run_folder
from keras_attention.training import assembly, distribution
from keras_attention.training.config import (
    TrainConfig,
    resolve,
    with_hyperparameters,
)

TUNERS = {
    "random": keras_tuner.RandomSearch,
    "bayesian": keras_tuner.BayesianOptimization,
    "hyperband": keras_tuner.Hyperband,
    "grid": keras_tuner.GridSearch,
}
AUX_POSITION_CHOICES = catalog.AUX_POSITION_CHOICES

# The default search space: name -> (kind, arguments). Callers fix values or replace ranges.
SPACE = {
    "attention": ("choice", {"values": list(layers.names())}),
    "reduction": ("choice", {"values": [4, 8, 12, 16]}),
    "aux_positions": ("choice", {"values": list(AUX_POSITION_CHOICES)}),
    "aux1_weight": ("float", {"min_value": 0.0, "max_value": 1.0, "step": 0.1}),
    "aux2_weight": ("float", {"min_value": 0.0, "max_value": 1.0, "step": 0.1}),
    "aux_dropout": ("float", {"min_value": 0.3, "max_value": 0.9, "step": 0.1}),
    "spem_alpha": ("float", {"min_value": 0.01, "max_value": 1.0, "sampling": "log"}),
    "learning_rate": ("float", {"min_value": 1e-3, "max_value": 0.3, "sampling": "log"}),
}
REDUCTION_BLOCKS = catalog.REDUCTION_BLOCKS
AUX_HYPERPARAMETERS = catalog.AUX_HYPERPARAMETERS


def check_value(name, value, option="value"):
    """Raises `ConfigError` (a ValueError) when `value` cannot be hyperparameter `name`."""
    try:
        catalog.check_hyperparameter_value(name, value, option)
    except ValueError as error:
        raise ConfigError(str(error)) from error


def objective(name):
    """A Keras Tuner objective by metric name: accuracies are maximised, losses minimised."""
    direction = "min" if "loss" in name else "max"
    return keras_tuner.Objective(name, direction)


def context_blocks():
    """The registered blocks that take an auxiliary classifier's result (`context=`), which
    SE-R feeds them."""
    return layers.registry.context_blocks()


trial_config = with_hyperparameters  # a trial: the search's configuration, its values replaced


class AttentionHyperModel(keras_tuner.HyperModel):
    """Builds and trains one trial's model: the search's `TrainConfig` with the trial's values
    replaced (`trial_config`), resolved and built as training builds a run
    (`keras_attention.config.resolve`), so a trial and a training run with the same values
    are the same network (the recipe's BatchNorm semantics and dropout included).

    Args:
        model: a model name (`models.build`), e.g. `cifar_resnet20` or `cifar_se_resnet18`;
            for `cifar_se_resnet*` the auxiliary positions and loss weights are searched.
        dataset: a data set name (`data.load`).
        recipe: a recipe name; its optimizer and schedule, with the searched learning rate.
        epochs, batch_size, image_size: per trial (default: the recipe's, the data set's).
        fixed: `{name: value}` hyperparameters held fixed (for example `{"attention": "se"}`).
        ranges: `{name: (kind, arguments)}` replacing entries of `SPACE`, for example
            `{"aux1_weight": ("float", {"min_value": 0.2, "max_value": 0.5, "step": 0.1})}` or
            `{"attention": ("choice", {"values": ["se", "spem"]})}`.
        steps_per_epoch: limit on training steps per epoch (None: the whole set).
        validation_split: the fraction of the training data that scores the trials.
        config: a `TrainConfig` to start from instead of the arguments above (its other
            fields, such as `model_kwargs` or `feed_attention`, hold for every trial).
        log: a function given a line of text at a time while the data loads (None: silent).
    """

    def __init__(
        self,
        model="cifar_resnet20",
        dataset="digits",
        recipe="digits",
        epochs=None,
        batch_size=None,
        image_size=None,
        fixed=None,
        ranges=None,
        steps_per_epoch=None,
        seed=0,
        validation_split=0.1,
        config=None,
        log=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if config is None:
            config = TrainConfig(
                model=model,
                dataset=dataset,
                recipe=recipe,
                epochs=epochs,
                batch_size=batch_size,
                image_size=image_size,
                steps_per_epoch=steps_per_epoch,
                seed=seed,
                validation_split=validation_split,
            )
        if not config.validation_split:
            raise ConfigError("validation_split: trials are scored on a validation split; got 0")
        self.config = config
        self.plan = resolve(config)
        self.model_name = config.model
        self.recipe = self.plan.recipe
        self.epochs = self.plan.epochs
        self.batch_size = self.plan.batch_size
        self.steps_per_epoch = config.steps_per_epoch
        self.seed = config.seed
        self.with_aux = models.parse(config.model)[0] == "cifar_se_resnet"
        self.fixed = dict(fixed or {})
        ranges = dict(ranges or {})
        try:
            catalog.check_hyperparameters(config.model, sorted(self.fixed), "--fix", self.fixed)
            catalog.check_hyperparameters(
                config.model, sorted(ranges), "--choices/--range", self.fixed
            )
        except ValueError as error:
            raise ConfigError(str(error)) from error
        fed = self.with_aux and config.feed_attention
        allowed = context_blocks() if fed else list(layers.names())
        space = {**SPACE, "attention": ("choice", {"values": allowed})}
        for name, value in self.fixed.items():
            check_value(name, value, "--fix")
        for name, (_, arguments) in ranges.items():
            for value in arguments.get("values", []):
                check_value(name, value, "--choices")
        asked = [self.fixed["attention"]] if "attention" in self.fixed else []
        asked += ranges.get("attention", ("", {}))[1].get("values", [])
        refused = [block for block in asked if block not in allowed]
        if refused:
            raise ConfigError(
                f"attention: SE-R feeds the auxiliary heads' results into the blocks, which "
                f"{', '.join(refused)} cannot take; choose among {', '.join(allowed)}, or "
                "feed_attention=False (--no-feed-attention, SE-A)"
            )
        self.space = {**space, **ranges}
        # Trials are scored on a validation split of the training data, never on the test set.
        self.splits = self.plan.load_data(log)
        self.info = self.splits.info

    def _value(self, hp, name):
        if name in self.fixed:
            return hp.Fixed(name, self.fixed[name])
        kind, arguments = self.space[name]
        if kind == "choice":
            return hp.Choice(name, **arguments)
        if kind == "float":
            return hp.Float(name, **arguments)
        if kind == "int":
            return hp.Int(name, **arguments)
        raise ValueError(f"Hyperparameter {name!r}: unknown kind {kind!r}.")

    def values(self, hp):
        """The trial's hyperparameter values, registering them (and their conditions) in
        `hp`."""
        values = {"attention": self._value(hp, "attention")}
        if values["attention"] in REDUCTION_BLOCKS:
            with hp.conditional_scope("attention", list(REDUCTION_BLOCKS)):
                values["reduction"] = self._value(hp, "reduction")
        if values["attention"] == "spem":
            with hp.conditional_scope("attention", ["spem"]):
                values["spem_alpha"] = self._value(hp, "spem_alpha")
        if self.with_aux:
            values["aux_positions"] = self._value(hp, "aux_positions")
            values["aux_dropout"] = self._value(hp, "aux_dropout")
            values["aux1_weight"] = self._value(hp, "aux1_weight")
            if "," in str(values["aux_positions"]):
                pairs = [c for c in AUX_POSITION_CHOICES if "," in c]
                with hp.conditional_scope("aux_positions", pairs):
                    values["aux2_weight"] = self._value(hp, "aux2_weight")
        values["learning_rate"] = self._value(hp, "learning_rate")
        return values

    def trial_config(self, hp):
        return trial_config(self.config, self.values(hp))

    def build(self, hp):
        plan = resolve(self.trial_config(hp))
        return assembly.build_compiled(plan, self.info)

    def fit(self, hp, model, *args, **kwargs):
        """Trains a trial's model on the pipelines of training (their labels follow the
        trial's outputs, which vary with the auxiliary positions)."""
        plan = resolve(self.trial_config(hp))
        train_data, validation_data, test_data = assembly.make_pipelines(
            model, self.splits, plan.recipe, plan.batch_size, self.seed, self.steps_per_epoch
        )
        kwargs.setdefault("epochs", plan.epochs)
        # Shapes from the unshuffled test pipeline: a first iterator over the training one
        # would take its first order of the examples from the first epoch.
        distribution.build_state(model, next(iter(test_data)))
        return model.fit(
            train_data,
            validation_data=validation_data,
            steps_per_epoch=self.steps_per_epoch,
            shuffle=False,
            **kwargs,
        )


def make_tuner(
    name, hypermodel, objective_name, directory, project_name="search", overwrite=False, **kwargs
):
    """A tuner by name (`random`, `bayesian`, `hyperband`, `grid`) that resumes from
    `directory` if a search with the same project name is there (unless `overwrite`), and
    writes its state files atomically (`atomic_state_files`)."""
    if name not in TUNERS:
        raise ValueError(f"Unknown tuner {name!r}; expected one of {list(TUNERS)}.")
    if name == "hyperband":
        kwargs.pop("max_trials", None)
        kwargs.setdefault("max_epochs", hypermodel.epochs)
    kwargs.setdefault("seed", getattr(hypermodel, "seed", None))  # the same search again
    instance = TUNERS[name](
        hypermodel,
        objective=objective(objective_name),
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
        **kwargs,
    )
    return atomic_state_files(instance)


def atomic_state_files(tuner):
    """Makes `tuner` write `oracle.json`, its `tuner*.json` and every `trial.json` under a
    temporary name and rename it (`run_folder.write_text`).

    Keras Tuner writes them in place (`utils.save_json` opens the file for writing, which
    empties it, then writes): a kill in between leaves an empty `oracle.json` that every later
    run fails to read. The replacements write the same JSON (Keras Tuner's own `json.dumps`,
    which it reads back) on this instance and its oracle only.
    """
    oracle = tuner.oracle

    def write(path, state):
        run_folder.write_text(path, json.dumps(state))

    if not tuner._is_worker():  # a worker's oracle is the chief's, through a client
        display = TrialDisplay(oracle, getattr(oracle, "max_trials", None), oracle.verbose)
        display.set_state(oracle._display.get_state())
        oracle._display = display
        oracle.save = lambda: write(oracle._get_oracle_fname(), oracle.get_state())
        oracle._save_trial = lambda trial: write(
            os.path.join(oracle._get_trial_dir(trial.trial_id), "trial.json"), trial.get_state()
        )

    def save():
        if not tuner._is_worker():
            oracle.save()
        write(tuner._get_tuner_fname(), tuner.get_state())

    tuner.save = save
    return tuner


class TrialDisplay(oracle_module.Display):
    """Keras Tuner's per-trial display, numbered as `trials.csv` and `trials.md` number the
    trials (their ids, from 0), with the budget and an estimate of the time left:
    `trial 3 (4/20): attention=se, reduction=8` then `trial 3 (4/20): val_accuracy 0.8125 in
    12 s; best 0.8300 (trial 1); 48 s so far, about 3 min 20 s left`. Its state (kept in
    oracle.json) is Keras Tuner's."""

    def __init__(self, oracle, max_trials, verbose=1):
        super().__init__(oracle, verbose)
        self.max_trials = max_trials
        self.counter = None

    def _finished(self):
        return sum(t.status == "COMPLETED" for t in self.oracle.trials.values())

    def on_trial_begin(self, trial):
        if self.verbose < 1:
            return
        if self.counter is None:
            self.counter = progress.Counter(self.max_trials or 0, done=self._finished())
        self.trial_start[trial.trial_id] = datetime.datetime.now()
        values = ", ".join(f"{k}={_cell(v)}" for k, v in trial.hyperparameters.values.items())
        print(f"trial {trial.trial_id} ({self._of(self.counter.done + 1)}): {values}")

    def on_trial_end(self, trial):
        if self.verbose < 1 or self.counter is None:
            return
        self.counter.step()
        started = self.trial_start.get(trial.trial_id)
        taken = (datetime.datetime.now() - started).total_seconds() if started else 0.0
        score = "no score" if trial.score is None else f"{trial.score:.4f}"
        best = self.oracle.get_best_trials(1)
        best_text = f"; best {best[0].score:.4f} (trial {best[0].trial_id})" if best else ""
        status = self.counter.timing() if self.max_trials else ""
        print(
            f"trial {trial.trial_id} ({self._of(self.counter.done)}): "
            f"{self.oracle.objective.name} {score} in {progress.duration(taken)}{best_text}"
            + (f"; {status}" if status else "")
        )

    def _of(self, number):
        """`4/20`, or `4th` for a search without a trial budget (Hyperband)."""
        return f"{number}/{self.max_trials}" if self.max_trials else f"trial number {number}"


SEARCH_RECORD = "search.json"


def search_record(hypermodel, tuner, objective_name, tuner_kwargs):
    """What identifies a search: its configuration (less the output folder and verbosity),
    tuner, objective and space (not its trial budget: a larger one continues it)."""
    return run_folder.jsonable(
        {
            "config": run_folder.jsonable(hypermodel.config.to_dict()),
            "effective": hypermodel.plan.effective_values(),
            "tuner": tuner,
            "objective": objective_name,
            "fixed": hypermodel.fixed,
            "space": hypermodel.space,
            "tuner_options": tuner_kwargs,
        }
    )


def _identity(record):
    """What must agree for a search to continue: everything but the configuration as written
    (its effective values stand for it, so `--batch-size 64` is the recipe's own)."""
    return {k: v for k, v in record.items() if k != "config"}


def _differences(recorded, current, prefix=""):
    found = []
    for key in sorted(set(recorded) | set(current)):
        old, new = recorded.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            found += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            found.append(f"{prefix}{key}: {old!r} -> {new!r}")
    return found


def check_search_files(directory, project_name="search"):
    """Raises `RunError` naming the first of a search's JSON files that does not parse."""
    project = os.path.join(directory, project_name)
    paths = [os.path.join(project, "oracle.json")]
    paths += sorted(glob.glob(os.path.join(project, "*.json")))
    paths += sorted(glob.glob(os.path.join(project, "trial_*", "trial.json")))
    paths = [p for p in dict.fromkeys(paths) if ".partial." not in os.path.basename(p)]
    for path in paths:
        if "trial_" in path:
            remedy = (
                f"remove its folder {os.path.dirname(path)!r} to run that trial again, or "
                "start the search again with --overwrite"
            )
        else:
            remedy = "start the search again with --overwrite (overwrite=True)"
        run_folder.read_json(path, remedy)


def trial_records(tuner):
    """One row per finished trial: id, status, score and every hyperparameter value."""
    rows = []
    for trial in sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id):
        rows.append(
            {
                "trial": trial.trial_id,
                "status": trial.status,
                "score": trial.score,
                **trial.hyperparameters.values,
            }
        )
    return rows


def write_results(tuner, directory):
    """Writes best_hyperparameters.json, trials.csv, trials.md and scores.png."""
    rows = trial_records(tuner)
    columns = ["trial", "status", "score"] + sorted(
        {key for row in rows for key in row} - {"trial", "status", "score"}
    )
    best = tuner.get_best_hyperparameters(1)[0].values if rows else {}
    best_trial = tuner.oracle.get_best_trials(1)[0] if rows else None
    run_folder.write_json(
        os.path.join(directory, "best_hyperparameters.json"),
        {
            "objective": tuner.oracle.objective.name,
            "score": best_trial.score if best_trial else None,
            "trial": best_trial.trial_id if best_trial else None,
            "hyperparameters": best,
        },
    )
    table = io.StringIO()
    writer = csv.DictWriter(table, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    run_folder.write_text(os.path.join(directory, "trials.csv"), table.getvalue())
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    run_folder.write_text(os.path.join(directory, "trials.md"), "\n".join(lines) + "\n")
    _plot(rows, tuner.oracle.objective.name, os.path.join(directory, "scores.png"))
    return rows, best


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _plot(rows, objective_name, path):
    """Score against each numeric hyperparameter that varied, one panel each."""
    from keras_attention.explore.figures import new_figure

    scored = [r for r in rows if r["score"] is not None]
    names = [
        key
        for key in sorted({k for r in scored for k in r} - {"trial", "status", "score"})
        if len({str(r.get(key)) for r in scored}) > 1
    ] or ["trial"]
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure, axes = new_figure(rows, columns, (4 * columns, 3.2 * rows), for_file=True)
    for axis, name in zip(axes.flat, names, strict=False):  # more panels than names
        present = [r for r in scored if r.get(name) is not None]
        values = [r[name] for r in present]
        if all(isinstance(v, (int, float)) for v in values):
            axis.scatter(values, [r["score"] for r in present])
        else:
            labels = sorted({str(v) for v in values})
            axis.scatter([labels.index(str(v)) for v in values], [r["score"] for r in present])
            axis.set_xticks(range(len(labels)), labels, rotation=30)
        axis.set_xlabel(name)
        axis.set_ylabel(objective_name)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(names) :]:
        axis.axis("off")
    figure.tight_layout()
    run_folder.write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=100))


def is_worker():
    """Whether this process is a worker of Keras Tuner's distributed mode (the chief, or a
    search that is not distributed, owns the oracle)."""
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
    return "KERASTUNER_ORACLE_IP" in os.environ and "chief" not in tuner_id


def requeue_interrupted(oracle):
    """Queues again the trials a kill interrupted: Keras Tuner writes a new trial's
    `trial.json` (RUNNING) before `oracle.json`, and on reload retries only the trials its
    oracle.json lists as ongoing, so a kill between the two writes left a trial that was never
    run and never would be. With the folder locked, every RUNNING trial is one of those."""
    queued = set(oracle._retry_queue) | {t.trial_id for t in oracle.ongoing_trials.values()}
    for trial_id, trial in sorted(oracle.trials.items()):
        if trial.status == "RUNNING" and trial_id not in queued:
            oracle._retry_queue.append(trial_id)


def _clear(directory):
    """Removes a search (for `overwrite`): its state first, renamed aside in one step, then
    its record, so that a kill at any moment leaves no state without its record."""
    state = os.path.join(directory, "search")
    if os.path.exists(state):
        aside = os.path.join(directory, "search.removing")
        run_folder.remove(aside)
        os.replace(state, aside)
    for name in (SEARCH_RECORD, "search.removing", *RESULT_FILES):
        run_folder.remove(os.path.join(directory, name))


RESULT_FILES = ("best_hyperparameters.json", "trials.csv", "trials.md", "scores.png")


def search(
    hypermodel,
    directory,
    tuner="random",
    objective_name=None,
    max_trials=10,
    verbose=1,
    overwrite=False,
    **tuner_kwargs,
):
    """Runs (or continues) a search and writes its results into `directory`.

    The process that owns the oracle (the search, or in distributed mode the chief) locks the
    folder (each worker locks its own `.lock-TUNER_ID`); `search.json` records what the
    search is, and a search of another configuration in the same folder is refused with what
    differs (`ConfigError`), as `train` does; a damaged state file is named (`RunError`). A
    larger `max_trials` continues a search. With Keras Tuner's distributed mode
    (`KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` set; the
    tuner called `chief` runs the oracle and the others are workers), every process runs this
    same function on the same folder: the workers run trials and return no rows, the chief
    waits for them and writes the results.

    Returns `(tuner, rows, best_hyperparameters)`.
    """
    worker = is_worker()
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
    objective_name = objective_name or (
        "val_main_accuracy" if hypermodel.with_aux else "val_accuracy"
    )
    lock = f"{run_folder.LOCK}-{tuner_id}" if worker else run_folder.LOCK
    with run_folder.claimed(directory, lock):
        record_path = os.path.join(directory, SEARCH_RECORD)
        if not worker:
            if overwrite:
                _clear(directory)
            run_folder.remove_temporaries(os.path.join(directory, "search"))
        record = search_record(hypermodel, tuner, objective_name, tuner_kwargs)
        recorded = run_folder.read_json(record_path, "start the search again with --overwrite")
        if recorded is not None and _identity(recorded) != _identity(record):
            changes = "; ".join(_differences(_identity(recorded), _identity(record)))
            raise ConfigError(
                f"output_dir: {directory!r} holds a search of another configuration "
                f"({changes}); give another output folder, or --overwrite to replace it"
            )
        if recorded is None and os.path.exists(os.path.join(directory, "search", "oracle.json")):
            raise ConfigError(
                f"output_dir: {directory!r} holds a search without its {SEARCH_RECORD} (what "
                "it searched is unknown); give another output folder, or --overwrite to "
                "replace it"
            )
        check_search_files(directory)
        from keras_attention.training.loop import seed_everything

        seed_everything(hypermodel.seed)  # the same command gives the same trials
        try:
            instance = make_tuner(
                tuner, hypermodel, objective_name, directory, max_trials=max_trials, **tuner_kwargs
            )
        except RunError:
            raise
        except (RuntimeError, KeyError) as error:  # Keras Tuner could not reload its state
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
            raise RunError(
                f"{os.path.join(directory, 'search')}: Keras Tuner cannot reload this search "
                f"({reason}); start it again with --overwrite"
            ) from error
        if not worker:
            requeue_interrupted(instance.oracle)
        if recorded is None and not worker:
            run_folder.write_json(record_path, record)
        instance.search(verbose=verbose)
        if worker:
            return instance, [], {}
        rows, best = write_results(instance, directory)
    return instance, rows, best
