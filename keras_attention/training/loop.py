"""One training run: its configuration resolved, its folder locked, `model.fit` with a commit
after every epoch, and its record.

A run is a transaction over its folder (`keras_attention.run_folder` gives the files and the
protocol): `run.json` (the configuration and the data's fingerprint) when training starts; after
every epoch a commit (`callbacks.EpochCommit`: `backup/`, `history.csv`, `best.keras`); when
training ends `model.keras`, `model.tflite`, `curves.png` and, last, `metrics.json` (the
completion mark, with the checksums of those files), and only then is `backup/` removed. So a
kill at any moment loses at most the epoch in progress: the same command resumes from the last
commit, and after the last epoch only writes what is missing. A complete run is reported, after
its files are checked, and nothing is trained (`overwrite=True` starts again).

The pieces live beside this module: `config.resolve` (the run description), `assembly` (the
compiled model and the pipelines), `callbacks`, `distribution` and `run_folder`.
"""

import time

import keras
import numpy as np

from keras_attention import models
from keras_attention.errors import DataError, RunError
from keras_attention.explore.profiling import profile
from keras_attention.formats.tflite import export_tflite
from keras_attention.io import run_folder
from keras_attention.io.run_folder import (
    BACKUP,
    CURVES,
    LOGS,
    METRICS,
    MODEL,
    RUN_RECORD,
    TFLITE,
    RunFolder,
    read_history,  # noqa: F401 - part of this module's interface
)
from keras_attention.training import data, distribution
from keras_attention.training.assembly import (  # noqa: F401 - part of this module's interface
    build_compiled,
    compile_model,
    make_pipelines,
    monitor,
    output_names,
)
from keras_attention.training.callbacks import EpochCommit, NonFiniteLoss, TrainingClock
from keras_attention.training.config import (  # noqa: F401 - part of this module's interface
    TrainConfig,
    check_configuration,
    effective_values,
    planned,
    recorded_values,
    resolve,
)

__all__ = ["TrainConfig", "train"]


def plot_history(history, path):
    """Loss and accuracy curves of a run, as a PNG (written atomically)."""
    from keras_attention.explore.figures import new_figure

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
    run_folder.write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=100))


def finished_run(run_dir, run):
    """The recorded metrics of a complete run of `run` (a `RunPlan`, or a `TrainConfig` to
    resolve) in `run_dir`, or None.

    Raises `ConfigError` when `run_dir` holds a run of another configuration, and `RunError`
    when a file of a complete run is missing or differs from the checksum `metrics.json`
    records.
    """
    folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)
    check_configuration(folder, run)
    metrics = folder.read_json(METRICS)
    if metrics is not None:
        folder.verify(metrics)
    return metrics


def describe(config, model, splits, plan, run_dir, parameters, macs):
    """The block printed before training: what is about to run, and where it goes."""
    info, recipe = splits.info, plan.recipe
    shape = "x".join(str(d) for d in info.image_shape)
    validation = f" / {info.validation_size:,} validation" if info.validation_size else ""
    lines = [
        f"model     {config.model} ({model.name}), attention {config.attention}",
        f"          {parameters:,} trainable parameters, {macs / 1e6:,.1f} M MACs per image",
        f"data      {info.name}: {info.train_size:,} train{validation} / {info.test_size:,} "
        f"test images, {info.num_classes} classes, {shape}",
        f"recipe    {recipe.name}: {recipe.optimizer_name}, lr {recipe.learning_rate:g} at batch "
        f"{recipe.reference_batch_size}, {recipe.schedule} schedule",
        f"training  {plan.epochs} epochs, batch {plan.batch_size}"
        + (f", {config.steps_per_epoch} steps per epoch" if config.steps_per_epoch else ""),
        f"output    {run_dir}",
    ]
    return "\n".join(lines)


def seed_everything(seed):
    """Keras' `set_random_seed` (Python, NumPy, TensorFlow and Keras' seed generators). With
    the training pipeline's augmentation mapped in order (`data.pipeline`), that is all the
    same run on the CPU needs; TensorFlow's op determinism, a setting of the whole process
    that also refuses some unseeded ops elsewhere, is not needed for it."""
    keras.utils.set_random_seed(seed)


def train(config, log=None, callbacks=()):
    """Runs, resumes or reports one training run and returns its metrics.

    Args:
        config: a `TrainConfig`, or the `RunPlan` it resolves to (`config.resolve`: the
            command line resolves a configuration once, checks the folder with it and trains
            it).
        log: a function given one line of text at a time (`print` on the command line); None
            is silent.
        callbacks: further Keras callbacks for `fit` (they run before the epoch's commit).

    Returns:
        The run's metrics (what `metrics.json` holds); with `"already_complete": True` when the
        run had finished before and nothing was trained.

    Raises:
        ConfigError: a setting that cannot work, or another configuration in the folder.
        DataError: a data set that cannot be used.
        RunError: the folder is in use, a file it relies on is damaged, the disk is full, the
            loss stopped being finite or the data changed since the run started.
    """
    plan = planned(config)
    policy = keras.config.dtype_policy()
    if plan.config.mixed_precision:
        keras.config.set_dtype_policy("mixed_float16")
    try:
        return _train(plan, log or (lambda line: None), list(callbacks))
    finally:
        keras.config.set_dtype_policy(policy)


def _train(plan, log, extra_callbacks):
    started = time.perf_counter()
    config = plan.config
    seed_everything(config.seed)
    strategy = distribution.make_strategy(config.strategy)
    run_dir = config.run_dir()
    if not distribution.is_chief(strategy):  # other workers write where they do not clobber
        run_dir = f"{run_dir}/worker{distribution.worker_id(strategy)}"
    folder = RunFolder(run_dir)
    with folder.claimed():  # before anything is built; a refused run leaves no folder
        run_folder.remove_temporaries(folder.directory)  # what a kill mid-write left
        if config.overwrite:
            folder.clear()
        finished = finished_run(folder, plan)
        if finished is not None:
            folder.remove_backup()  # a kill after metrics.json may have left it
            log(
                f"run complete: {run_dir} (test accuracy {finished['accuracy']:.4f}); nothing "
                "to train. Use --overwrite to train it again."
            )
            return {**finished, "already_complete": True}
        return _run(plan, strategy, folder, log, started, extra_callbacks)


def _run(plan, strategy, folder, log, started, extra_callbacks):
    config = plan.config
    record = folder.read_json(RUN_RECORD)
    splits = plan.load_data(log)
    info = splits.info
    if info.num_classes < 2:
        raise DataError(f"dataset: {info.name!r} has {info.num_classes} class; need at least 2")
    if record is not None and record.get("data") is not None:
        changes = data.fingerprint_changes(record["data"], info.fingerprint)
        if changes:
            raise RunError(
                f"{folder.path(RUN_RECORD)}: the data set {info.name} changed since this run "
                f"started ({changes}); resuming would train and test on other splits. Give "
                f"another output folder, or {run_folder.OVERWRITE}"
            )
    with strategy.scope():
        model = build_compiled(plan, info)
    inference = models.inference_model(model) if output_names(model) else model
    report = profile(inference, info.image_shape)
    parameters, macs = report.trainable_params, report.macs
    log(describe(config, model, splits, plan, folder.directory, parameters, macs))
    train_data, validation_data, test_data = make_pipelines(
        model, splits, plan.recipe, plan.batch_size, config.seed, config.steps_per_epoch
    )
    first_batch = next(iter(test_data))
    distribution.build_state(model, first_batch)
    if distribution.is_multiworker(strategy):
        distribution.work_around_multiworker(model, first_batch)
    effective = plan.effective_values()
    if record is None:
        recorded = dict(effective)
        if recorded["image_size"] is None:  # a dir: folder's own size
            recorded["image_size"] = int(info.image_shape[0])
        record = {"config": config.to_dict(), "effective": recorded, "data": info.fingerprint}
        if getattr(model, "weight_sources", None):  # a preset: which weights it gave
            record["weights"] = model.weight_sources
        folder.write_json(RUN_RECORD, record)

    clock = TrainingClock(info.train_size, plan.batch_size)
    commit = EpochCommit(
        folder, monitor(model) if validation_data is not None else None, clock, started
    )
    start = commit.restore(model, log)
    if start:
        log(f"resuming after epoch {start} of {plan.epochs} from {folder.path(BACKUP)}")
    wall_before = commit.wall_seconds
    model.fit(
        train_data,
        initial_epoch=start,
        epochs=plan.epochs,
        steps_per_epoch=config.steps_per_epoch,
        validation_data=validation_data,
        # The commit last: an epoch counts as done once everything before it has run.
        callbacks=[
            NonFiniteLoss(),
            keras.callbacks.TensorBoard(folder.path(LOGS)),
            *extra_callbacks,
            clock,
            commit,
        ],
        shuffle=False,  # the pipeline shuffles
        verbose=config.verbose,
    )

    results = model.evaluate(test_data, return_dict=True, verbose=0)
    broken = {k: float(v) for k, v in results.items() if not np.isfinite(float(v))}
    if broken:
        raise RunError(
            f"{folder.directory}: after {plan.epochs} epochs the test figures are not finite "
            f"({', '.join(f'{k} {v}' for k, v in broken.items())}); the run is not complete. "
            f"Lower the learning rate (--learning-rate), then {run_folder.OVERWRITE}"
        )
    run_folder.save_model(model, folder.path(MODEL))
    parity_inputs = next(iter(test_data))[0].numpy()[:16]
    tflite = export_tflite(inference, folder.path(TFLITE), parity_inputs)
    if commit.rows:
        plot_history(run_folder.history_columns(commit.rows), folder.path(CURVES))
    metrics = {
        "accuracy": float(results.get("main_accuracy", results.get("accuracy"))),
        "loss": float(results["loss"]),
        "results": {k: float(v) for k, v in results.items()},
        "parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "inference_parameters": report.trainable_params,
        "macs": report.macs,
        "images_per_second": clock.images_per_second(),
        "trained_images": clock.images,
        "training_seconds": clock.seconds,
        "wall_time_seconds": wall_before + time.perf_counter() - started,
        "num_replicas": strategy.num_replicas_in_sync,
        "tflite": tflite.to_dict(),
        "epochs_completed": len(commit.rows),
        "best_validation": commit.best["value"] if commit.best else None,
        "config": config.to_dict(),
        "effective": effective,
        "recipe": plan.recipe.to_dict(),
        "data": info.to_dict(),
        "files": folder.checksums(),
    }
    metrics = run_folder.jsonable(metrics)
    folder.write_json(METRICS, metrics)  # the completion mark
    folder.remove_backup()
    return metrics
