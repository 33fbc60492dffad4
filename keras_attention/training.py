"""One training run: data, model, recipe, `model.fit` with resumable callbacks, and its record.

A run is a transaction. Its folder holds `run.json` (the configuration, written when training
starts), `backup/` (the state after the last finished epoch), `history.csv`, `logs/`
(TensorBoard) and `best.keras` (best validation accuracy) while it trains; when training ends,
`model.keras`, `model.tflite` (float32, with its parity), `curves.png` and, last,
`metrics.json` are written, each under a temporary name and then renamed, and only then is
`backup/` removed. So a kill at any moment loses at most the epoch in progress: the same
command resumes from the backup, and after the last epoch only writes what is missing. A run
whose `metrics.json` exists is complete: the same command reports it and trains nothing
(`overwrite=True` starts again).
"""

import csv
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_attention import data, export, models, recipes
from keras_attention.config import TrainConfig
from keras_attention.profiling import profile

__all__ = ["TrainConfig", "train"]


class Throughput(keras.callbacks.Callback):
    """Training images per second of each epoch, validation excluded."""

    def __init__(self, images_per_epoch):
        super().__init__()
        self.images_per_epoch = images_per_epoch
        self.rates = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def _stop(self):
        if self._start is not None:
            self.rates.append(self.images_per_epoch / (time.perf_counter() - self._start))
            self._start = None

    def on_test_begin(self, logs=None):
        self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()

    def images_per_second(self):
        """The median over epochs after the first (which includes tracing and compilation)."""
        rates = self.rates[1:] or self.rates
        return float(np.median(rates)) if rates else 0.0


class ContinuousCSVLogger(keras.callbacks.CSVLogger):
    """`CSVLogger(append=True)` that first drops rows of epochs a resumed run repeats
    (`start_epoch` on), so the history stays continuous however the run was interrupted."""

    def __init__(self, filename, start_epoch=0, **kwargs):
        super().__init__(filename, append=True, **kwargs)
        self.start_epoch = start_epoch

    def on_train_begin(self, logs=None):
        start = self.start_epoch
        if os.path.exists(self.filename):
            with open(self.filename, newline="") as handle:
                rows = list(csv.reader(handle))
            kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) < start] if rows else []
            with open(self.filename, "w", newline="") as handle:
                csv.writer(handle).writerows(kept)
        super().on_train_begin(logs)


def _number(text):
    """A CSV cell as a float; Keras' CSVLogger writes "NA" for a value an epoch did not have
    (validation figures without a validation split)."""
    return float("nan") if text in ("NA", "") else float(text)


def read_history(path):
    """The history CSV as `{column: [values]}` (epoch as int, the rest as float; NaN where
    the logger wrote NA)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return (
        {key: [int(r[key]) if key == "epoch" else _number(r[key]) for r in rows] for key in rows[0]}
        if rows
        else {}
    )


def plot_history(history, path):
    """Loss and accuracy curves of a run, as a PNG."""
    from keras_attention.figures import new_figure

    epochs = [e + 1 for e in history["epoch"]]
    figure, axes = new_figure(1, 2, (10, 4), for_file=True)
    loss_axis, accuracy_axis = axes[0]
    for key, values in history.items():
        if key == "epoch" or key == "learning_rate":
            continue
        axis = accuracy_axis if "accuracy" in key else loss_axis if "loss" in key else None
        if axis is not None:
            axis.plot(epochs, values, label=key, linestyle="--" if key.startswith("val_") else "-")
    for axis, title in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
        axis.set_xlabel("epoch")
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def make_strategy(name):
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown strategy {name!r}; expected 'none', 'mirrored' or 'multiworker'.")


def _work_around_multiworker(model, strategy, batch):
    """Two bugs of Keras 3's TF trainer under MultiWorkerMirroredStrategy
    (keras-team/keras#20585, open):

    - to learn the batch shapes for its symbolic build it reduces the first distributed batch
      across workers, which fails: the build needs only shapes, so give it a local batch;
    - it reduces each step's logs with `strategy.reduce("MEAN", v, axis=0)`, which rejects the
      scalar metric values: give each a length-1 axis, which that reduction averages away.
    """

    def build(iterator=None, data_batch=None):
        with strategy.scope():
            model._symbolic_build(data_batch=batch)

    def with_axis(step):
        def wrapped(data):
            return {name: tf.reshape(value, (1,)) for name, value in step(data).items()}

        return wrapped

    model._maybe_symbolic_build = build
    model.train_step = with_axis(model.train_step)
    model.test_step = with_axis(model.test_step)


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in ("chief", None) or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )


def build_model(config, recipe, info):
    attention = None if config.attention in (None, "none") else config.attention
    attention_kwargs = dict(config.attention_kwargs or {})
    if attention == "spem":
        attention_kwargs.setdefault("alpha", recipe.spem_alpha)
    options = {"batchnorm": recipe.batchnorm, **(config.model_kwargs or {})}
    if config.model.startswith("cifar_se_resnet"):
        options.update(
            aux_positions=tuple(config.aux_positions), feed_attention=config.feed_attention
        )
        if config.reduction:
            options["reduction"] = config.reduction
    elif config.reduction and attention:
        attention_kwargs["reduction"] = config.reduction
    return models.build(
        config.model,
        attention,
        num_classes=info.num_classes,
        input_shape=info.image_shape,
        attention_kwargs=attention_kwargs or None,
        dropout=recipe.dropout,
        **options,
    )


def aux_loss_weights(config, recipe, output_names):
    """Loss weight per output: main 1, the aux heads from the config, else the paper's for the
    model's depth, else the recipe's."""
    aux = [n for n in output_names if n.startswith("aux")]
    if not aux:
        return None
    weights = config.aux_loss_weights
    if weights is None:
        family, depth = models.parse(config.model)
        weights = models.PAPER_AUX_LOSS_WEIGHTS.get(
            depth, recipe.aux_loss_weights or (0.3,) * len(aux)
        )
    if len(weights) != len(aux):
        raise ValueError(
            f"{len(aux)} auxiliary outputs {aux} but aux loss weights {tuple(weights)}."
        )
    return {"main": 1.0, **dict(zip(aux, map(float, weights), strict=True))}


def output_names(model):
    """The names to label data with: None for a single-output model."""
    return list(model.output_names) if len(model.outputs) > 1 else None


def compile_model(
    model, recipe, steps_per_epoch, batch_size, epochs, loss_weights=None, jit_compile=False
):
    """Compiles with the recipe's optimizer and loss; models with auxiliary heads get a loss per
    output, `loss_weights` by name and accuracy on `main`."""
    names = output_names(model)
    loss = recipe.loss()
    model.compile(
        optimizer=recipe.optimizer(steps_per_epoch, batch_size, epochs),
        loss={name: loss for name in names} if names else loss,
        loss_weights=loss_weights,
        metrics={"main": ["accuracy"]} if names else ["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def make_pipelines(model, splits, recipe, batch_size, seed=0, steps_per_epoch=None):
    """Training, validation and test pipelines labelled for the model's outputs; with
    `steps_per_epoch` the training set repeats. The validation pipeline is None when the
    data has no validation split."""
    names = output_names(model)
    info = splits.info

    def evaluation(dataset):
        return data.pipeline(dataset, info, recipe.augmentation, False, batch_size, names)

    train_data = data.pipeline(
        splits.train, info, recipe.augmentation, True, batch_size, names, seed
    )
    if steps_per_epoch:
        train_data = train_data.repeat()
    validation = evaluation(splits.validation) if info.validation_size else None
    return train_data, validation, evaluation(splits.test)


class EpochBackup(keras.callbacks.Callback):
    """Backs up the model (weights and optimizer state) after every epoch; `restore` loads the
    last backup and returns the epoch to continue from.

    Written here rather than `keras.callbacks.BackupAndRestore` because Keras' callback
    overwrites its weights file and then its epoch file in place: a kill while it writes
    leaves a backup that does not load, or the weights of one epoch with the number of
    another. Here each epoch's weights go to a new file, and a small pointer file, replaced
    atomically, names the weights and their epoch. Restoring before `fit` (with
    `initial_epoch`) also lets the other callbacks know where the run resumes.
    """

    POINTER = "latest.json"

    def __init__(self, directory):
        super().__init__()
        self.directory = directory

    def _pointer_path(self):
        return os.path.join(self.directory, self.POINTER)

    def restore(self, model):
        """Loads the last backup into `model`; the number of finished epochs (0: none)."""
        if not os.path.exists(self._pointer_path()):
            return 0
        with open(self._pointer_path()) as handle:
            pointer = json.load(handle)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(self.directory, pointer["weights"]))
        return int(pointer["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        name = f"epoch{epoch + 1}.weights.h5"
        self.model.save_weights(os.path.join(self.directory, name), overwrite=True)
        _write_atomically(self._pointer_path(), json.dumps({"epoch": epoch + 1, "weights": name}))
        for old in os.listdir(self.directory):
            if old.endswith(".weights.h5") and old != name:
                os.remove(os.path.join(self.directory, old))


class BestModel(keras.callbacks.Callback):
    """Saves the model as `path` whenever `monitor` reaches a new maximum.

    Written here rather than `keras.callbacks.ModelCheckpoint(save_best_only=True)` because a
    resumed run must compare with the best of the epochs before the interruption (read from
    `history.csv`; Keras' callback starts again from minus infinity and would replace a better
    model), and the file must be replaced atomically (Keras writes it in place).
    """

    def __init__(self, path, monitor, history_path, start_epoch=0):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.history_path = history_path
        self.start_epoch = start_epoch
        self.best = -np.inf

    def on_train_begin(self, logs=None):
        start = self.start_epoch
        if os.path.exists(self.history_path) and os.path.exists(self.path):
            history = read_history(self.history_path)
            earlier = [
                value
                for epoch, value in zip(
                    history.get("epoch", []), history.get(self.monitor, []), strict=False
                )
                if epoch < start
            ]
            self.best = max(earlier, default=-np.inf)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and float(value) > self.best:
            self.best = float(value)
            save_atomically(self.model, self.path)


def _write_atomically(path, text):
    with open(path + ".tmp", "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(path + ".tmp", path)


def save_atomically(model, path):
    """`model.save(path)` through a temporary file, so `path` is never half written."""
    temporary = path[: -len(".keras")] + ".partial.keras"
    model.save(temporary)
    os.replace(temporary, path)


RUN_RECORD = "run.json"
# Settings that do not change what a run computes.
_NOT_IDENTITY = ("verbose", "overwrite", "output_dir")


def _identity(config_dict):
    return {k: v for k, v in config_dict.items() if k not in _NOT_IDENTITY}


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def finished_run(run_dir, config):
    """The recorded metrics of a complete run of `config` in `run_dir`, or None.

    Raises ValueError when `run_dir` holds a run (finished or not) of another configuration.
    """
    record = os.path.join(run_dir, RUN_RECORD)
    metrics_path = os.path.join(run_dir, "metrics.json")
    recorded = None
    if os.path.exists(record):
        with open(record) as handle:
            recorded = json.load(handle)
    elif os.path.exists(metrics_path):
        with open(metrics_path) as handle:
            recorded = json.load(handle).get("config")
    if recorded is not None:
        mine = _identity(_jsonable(config.to_dict()))
        theirs = _identity(recorded)
        different = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        if different:
            changes = ", ".join(f"{k}: {theirs.get(k)!r} -> {mine.get(k)!r}" for k in different)
            raise ValueError(
                f"output_dir: {run_dir!r} holds a run with another configuration ({changes}); "
                "give another output_dir, or overwrite=True (--overwrite) to replace it"
            )
    if not os.path.exists(metrics_path):
        return None
    with open(metrics_path) as handle:
        return json.load(handle)


def clear_run(run_dir):
    """Removes what a run writes into `run_dir` (for `overwrite`), leaving other files."""
    import shutil

    for name in (
        "backup",
        "logs",
        RUN_RECORD,
        "history.csv",
        "best.keras",
        "model.keras",
        "model.tflite",
        "metrics.json",
        "curves.png",
        "export",
    ):
        path = os.path.join(run_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def describe(config, model, splits, recipe, epochs, batch_size, run_dir, parameters, macs):
    """The block printed before training: what is about to run, and where it goes."""
    info = splits.info
    shape = "x".join(str(d) for d in info.image_shape)
    validation = f" / {info.validation_size:,} validation" if info.validation_size else ""
    lines = [
        f"model     {config.model} ({model.name}), attention {config.attention}",
        f"          {parameters:,} trainable parameters, {macs / 1e6:,.1f} M MACs per image",
        f"data      {info.name}: {info.train_size:,} train{validation} / {info.test_size:,} "
        f"test images, {info.num_classes} classes, {shape}",
        f"recipe    {recipe.name}: {recipe.optimizer_name}, lr {recipe.learning_rate:g} at batch "
        f"{recipe.reference_batch_size}, {recipe.schedule} schedule",
        f"training  {epochs} epochs, batch {batch_size}"
        + (f", {config.steps_per_epoch} steps per epoch" if config.steps_per_epoch else ""),
        f"output    {run_dir}",
    ]
    return "\n".join(lines)


def train(config, log=None):
    """Runs, resumes or reports one training run and returns its metrics.

    Args:
        config: a `TrainConfig`.
        log: a function given one line of text at a time (`print` on the command line); None
            is silent.

    Returns:
        The run's metrics (what `metrics.json` holds); with `"already_complete": True` when the
        run had finished before and nothing was trained.
    """
    policy = keras.config.dtype_policy()
    if config.mixed_precision:
        keras.config.set_dtype_policy("mixed_float16")
    try:
        return _train(config, log or (lambda line: None))
    finally:
        keras.config.set_dtype_policy(policy)


def _train(config, log):
    started = time.perf_counter()
    config.validate()
    keras.utils.set_random_seed(config.seed)
    recipe = recipes.get(config.recipe)
    epochs = config.epochs or recipe.epochs
    batch_size = config.batch_size or recipe.batch_size
    strategy = make_strategy(config.strategy)
    chief = _is_chief(strategy)
    run_dir = config.output_dir
    if not chief:  # other workers write where they do not clobber the chief's files
        run_dir = os.path.join(run_dir, f"worker{strategy.cluster_resolver.task_id}")
    if config.overwrite:
        clear_run(run_dir)
    finished = finished_run(run_dir, config)
    if finished is not None:
        _remove_backup(run_dir)  # a kill after metrics.json may have left it
        log(
            f"run complete: {run_dir} (test accuracy {finished['accuracy']:.4f}); nothing to "
            "train. Use --overwrite to train it again."
        )
        return {**finished, "already_complete": True}

    splits = data.load(
        config.dataset,
        config.image_size,
        config.data_dir,
        config.manual_dir,
        config.seed,
        config.validation_split,
    )
    info = splits.info
    if info.num_classes < 2:
        raise ValueError(f"dataset: {info.name!r} has {info.num_classes} class; need at least 2")
    steps_per_epoch = config.steps_per_epoch or -(-info.train_size // batch_size)
    with strategy.scope():
        model = build_model(config, recipe, info)
        compile_model(
            model,
            recipe,
            steps_per_epoch,
            batch_size,
            epochs,
            aux_loss_weights(config, recipe, list(model.output_names)),
            config.xla,
        )
    names = output_names(model)
    inference = models.inference_model(model) if names else model
    report = profile(inference, info.image_shape)
    log(
        describe(
            config,
            model,
            splits,
            recipe,
            epochs,
            batch_size,
            run_dir,
            report.trainable_params,
            report.macs,
        )
    )
    train_data, validation_data, test_data = make_pipelines(
        model, splits, recipe, batch_size, config.seed, config.steps_per_epoch
    )
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _work_around_multiworker(model, strategy, next(iter(test_data)))

    os.makedirs(run_dir, exist_ok=True)
    if not os.path.exists(os.path.join(run_dir, RUN_RECORD)):
        _write_atomically(
            os.path.join(run_dir, RUN_RECORD),
            json.dumps(_jsonable(config.to_dict()), indent=2),
        )
    history_path = os.path.join(run_dir, "history.csv")
    monitor = "val_main_accuracy" if names else "val_accuracy"
    throughput = Throughput(steps_per_epoch * batch_size)
    backup = EpochBackup(os.path.join(run_dir, "backup"))
    start = backup.restore(model)
    if start:
        log(f"resuming after epoch {start} of {epochs} from {backup.directory}")
    callbacks = [
        ContinuousCSVLogger(history_path, start),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")),
        throughput,
    ]
    if validation_data is not None:
        best = BestModel(os.path.join(run_dir, "best.keras"), monitor, history_path, start)
        callbacks.append(best)
    # Last: an epoch counts as done only once its history row and best model are written.
    callbacks.append(backup)
    model.fit(
        train_data,
        initial_epoch=start,
        epochs=epochs,
        steps_per_epoch=config.steps_per_epoch,
        validation_data=validation_data,
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles
        verbose=config.verbose,
    )
    results = model.evaluate(test_data, return_dict=True, verbose=0)
    save_atomically(model, os.path.join(run_dir, "model.keras"))
    parity_inputs = next(iter(test_data))[0].numpy()[:16]
    tflite_path = os.path.join(run_dir, "model.tflite")
    tflite = export.export_tflite(inference, tflite_path + ".partial", parity_inputs)
    os.replace(tflite_path + ".partial", tflite_path)
    tflite.path = tflite_path
    history = read_history(history_path)
    if history:
        plot_history(history, os.path.join(run_dir, "curves.png"))
    metrics = {
        "accuracy": float(results.get("main_accuracy", results.get("accuracy"))),
        "loss": float(results["loss"]),
        "results": {k: float(v) for k, v in results.items()},
        "parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "inference_parameters": report.trainable_params,
        "macs": report.macs,
        "images_per_second": throughput.images_per_second(),
        "wall_time_seconds": time.perf_counter() - started,
        "num_replicas": strategy.num_replicas_in_sync,
        "tflite": tflite.to_dict(),
        "epochs_completed": len(history.get("epoch", [])),
        "best_validation": max(
            (v for v in history.get(monitor, []) if not np.isnan(v)), default=None
        ),
        "config": _jsonable(config.to_dict()),
        "recipe": recipe.to_dict(),
        "data": info.to_dict(),
    }
    _write_atomically(
        os.path.join(run_dir, "metrics.json"), json.dumps(metrics, indent=2, default=str)
    )
    _remove_backup(run_dir)
    return metrics


def _remove_backup(run_dir):
    import shutil

    shutil.rmtree(os.path.join(run_dir, "backup"), ignore_errors=True)
