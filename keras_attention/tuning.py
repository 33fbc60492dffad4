"""Keras Tuner search over auxiliary loss weights, reduction ratios, blocks and more.

`AttentionHyperModel` builds a model from the same factories, data pipelines and recipes as
`train_keras.py`; `search(...)` runs a tuner chosen by name, resumes a killed search from its
directory, and writes the best hyperparameters (JSON), a table of every trial (CSV and
Markdown) and a plot of the score against the main hyperparameters (PNG).
"""

import csv
import json
import math
import os

import keras_tuner

from keras_attention import data, layers, models, recipes
from keras_attention.training import compile_model, make_pipelines

TUNERS = {
    "random": keras_tuner.RandomSearch,
    "bayesian": keras_tuner.BayesianOptimization,
    "hyperband": keras_tuner.Hyperband,
    "grid": keras_tuner.GridSearch,
}
AUX_POSITION_CHOICES = ("1", "2", "3", "1,2", "1,3", "2,3")

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
# Blocks whose constructor takes a reduction ratio.
REDUCTION_BLOCKS = ("se", "cbam", "coord")


def check_value(name, value, option="value"):
    """Raises ValueError when `value` cannot be hyperparameter `name`."""
    if name == "attention":
        if value not in layers.names():
            raise ValueError(
                f"{option} attention: unknown block {value!r}; expected one of {layers.names()}"
            )
    elif name == "aux_positions":
        if str(value) not in AUX_POSITION_CHOICES:
            raise ValueError(
                f"{option} aux_positions: expected one of {list(AUX_POSITION_CHOICES)}, "
                f"got {value!r}"
            )
    elif name == "reduction":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{option} reduction: expected a positive integer, got {value!r}")
    elif not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{option} {name}: expected a number >= 0, got {value!r}")


def objective(name):
    """A Keras Tuner objective by metric name: accuracies are maximised, losses minimised."""
    direction = "min" if "loss" in name else "max"
    return keras_tuner.Objective(name, direction)


class AttentionHyperModel(keras_tuner.HyperModel):
    """Builds and trains one trial's model.

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
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.model_name = model
        self.recipe = recipes.get(recipe)
        self.epochs = epochs or self.recipe.epochs
        self.batch_size = batch_size or self.recipe.batch_size
        self.fixed = dict(fixed or {})
        unknown = (set(self.fixed) | set(ranges or {})) - set(SPACE)
        if unknown:
            raise ValueError(f"Unknown hyperparameters {sorted(unknown)}; known: {list(SPACE)}.")
        for name, value in self.fixed.items():
            check_value(name, value, "--fix")
        for name, (_, arguments) in (ranges or {}).items():
            for value in arguments.get("values", []):
                check_value(name, value, "--choices")
        self.space = {**SPACE, **(ranges or {})}
        self.steps_per_epoch = steps_per_epoch
        self.seed = seed
        # Trials are scored on a validation split of the training data, never on the test set.
        self.splits = data.load(dataset, image_size, seed=seed, validation_split=validation_split)
        self.info = self.splits.info
        self.with_aux = models.parse(model)[0] == "cifar_se_resnet"

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

    def build(self, hp):
        attention = self._value(hp, "attention")
        # Models train as the recipe's authors trained (its BatchNorm semantics).
        attention_kwargs, options = {}, {"batchnorm": recipes.get(self.recipe).batchnorm}
        if attention in REDUCTION_BLOCKS:
            with hp.conditional_scope("attention", list(REDUCTION_BLOCKS)):
                reduction = self._value(hp, "reduction")
            if self.with_aux:
                options["reduction"] = reduction
            else:
                attention_kwargs["reduction"] = reduction
        if attention == "spem":
            with hp.conditional_scope("attention", ["spem"]):
                attention_kwargs["alpha"] = self._value(hp, "spem_alpha")
        loss_weights = None
        if self.with_aux:
            positions = tuple(int(p) for p in str(self._value(hp, "aux_positions")).split(","))
            options.update(aux_positions=positions, aux_dropout=self._value(hp, "aux_dropout"))
            loss_weights = {"main": 1.0, "aux1": self._value(hp, "aux1_weight")}
            if len(positions) == 2:
                pairs = [c for c in AUX_POSITION_CHOICES if "," in c]
                with hp.conditional_scope("aux_positions", pairs):
                    loss_weights["aux2"] = self._value(hp, "aux2_weight")
        learning_rate = self._value(hp, "learning_rate")
        if self.with_aux and attention not in ("se",):
            options["feed_attention"] = False  # SE-R feeds results into SE blocks only
        model = models.build(
            self.model_name,
            attention,
            num_classes=self.info.num_classes,
            input_shape=self.info.image_shape,
            attention_kwargs=attention_kwargs or None,
            **options,
        )
        recipe = recipes.get(
            self.recipe, learning_rate=learning_rate, reference_batch_size=self.batch_size
        )
        steps = self.steps_per_epoch or -(-self.info.train_size // self.batch_size)
        compile_model(model, recipe, steps, self.batch_size, self.epochs, loss_weights)
        return model

    def fit(self, hp, model, *args, **kwargs):
        """Trains a trial's model on the pipelines of `train_keras.py` (their labels follow the
        trial's outputs, which vary with the auxiliary positions)."""
        train_data, validation_data, _ = make_pipelines(
            model, self.splits, self.recipe, self.batch_size, self.seed, self.steps_per_epoch
        )
        kwargs.setdefault("epochs", self.epochs)
        return model.fit(
            train_data,
            validation_data=validation_data,
            steps_per_epoch=self.steps_per_epoch,
            shuffle=False,
            **kwargs,
        )


def make_tuner(name, hypermodel, objective_name, directory, project_name="search", **kwargs):
    """A tuner by name (`random`, `bayesian`, `hyperband`, `grid`) that resumes from
    `directory` if a search with the same project name is there."""
    if name not in TUNERS:
        raise ValueError(f"Unknown tuner {name!r}; expected one of {list(TUNERS)}.")
    if name == "hyperband":
        kwargs.pop("max_trials", None)
        kwargs.setdefault("max_epochs", hypermodel.epochs)
    return TUNERS[name](
        hypermodel,
        objective=objective(objective_name),
        directory=directory,
        project_name=project_name,
        overwrite=False,
        **kwargs,
    )


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
    with open(os.path.join(directory, "best_hyperparameters.json"), "w") as handle:
        json.dump(
            {
                "objective": tuner.oracle.objective.name,
                "score": best_trial.score if best_trial else None,
                "trial": best_trial.trial_id if best_trial else None,
                "hyperparameters": best,
            },
            handle,
            indent=2,
        )
    with open(os.path.join(directory, "trials.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(directory, "trials.md"), "w") as handle:
        handle.write("| " + " | ".join(columns) + " |\n")
        handle.write("|" + " --- |" * len(columns) + "\n")
        for row in rows:
            handle.write("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |\n")
    _plot(rows, tuner.oracle.objective.name, os.path.join(directory, "scores.png"))
    return rows, best


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _plot(rows, objective_name, path):
    """Score against each numeric hyperparameter that varied, one panel each."""
    from keras_attention.figures import new_figure

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
    figure.savefig(path, dpi=100)


def search(
    hypermodel,
    directory,
    tuner="random",
    objective_name=None,
    max_trials=10,
    verbose=1,
    **tuner_kwargs,
):
    """Runs (or continues) a search and writes its results into `directory`.

    Returns `(tuner, rows, best_hyperparameters)`.
    """
    os.makedirs(directory, exist_ok=True)
    objective_name = objective_name or (
        "val_main_accuracy" if hypermodel.with_aux else "val_accuracy"
    )
    instance = make_tuner(
        tuner, hypermodel, objective_name, directory, max_trials=max_trials, **tuner_kwargs
    )
    instance.search(verbose=verbose)
    rows, best = write_results(instance, directory)
    return instance, rows, best
