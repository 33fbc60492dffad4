"""One training run: data, model, recipe, `model.fit` with resumable callbacks, and its record.

A run directory holds `model.keras` (final), `best.keras` (best validation accuracy),
`model.tflite` (float32, with its parity in `metrics.json`), `history.csv`, `logs/`
(TensorBoard), `metrics.json`, `curves.png` and `backup/` (the state
that `keras.callbacks.BackupAndRestore` resumes from after an interruption: starting the same
run again continues from the last finished epoch).
"""

import csv
import dataclasses
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_attention import data, export, models, recipes
from keras_attention.profiling import profile


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a run; `metrics.json` records it whole."""

    model: str = "cifar_resnet20"
    attention: str = "se"  # a registered name or "none"
    dataset: str = "digits"
    recipe: str = "digits"
    epochs: int = None  # None: the recipe's
    batch_size: int = None  # None: the recipe's
    image_size: int = None  # None: the data set's
    output_dir: str = "runs/digits"
    mixed_precision: bool = False
    xla: bool = False
    strategy: str = "none"  # "none", "mirrored" or "multiworker"
    reduction: int = None
    aux_positions: tuple = ()
    feed_attention: bool = True
    aux_loss_weights: tuple = None  # None: the recipe's (or the paper's for the depth)
    seed: int = 0
    data_dir: str = None
    manual_dir: str = None
    steps_per_epoch: int = None  # None: the whole training set
    verbose: int = 1

    def to_dict(self):
        return dataclasses.asdict(self)


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
    """`CSVLogger(append=True)` that first drops rows of epochs a resumed run repeats, so the
    history stays continuous however the run was interrupted."""

    def on_train_begin(self, logs=None):
        start = getattr(self.model, "_initial_epoch", 0) or 0
        if os.path.exists(self.filename):
            with open(self.filename, newline="") as handle:
                rows = list(csv.reader(handle))
            kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) < start] if rows else []
            with open(self.filename, "w", newline="") as handle:
                csv.writer(handle).writerows(kept)
        super().on_train_begin(logs)


def read_history(path):
    """The history CSV as `{column: [values]}` (epoch as int, the rest as float)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return (
        {key: [int(r[key]) if key == "epoch" else float(r[key]) for r in rows] for key in rows[0]}
        if rows
        else {}
    )


def plot_history(history, path):
    """Loss and accuracy curves of a run, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [e + 1 for e in history["epoch"]]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
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
    plt.close(figure)


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
    attention_kwargs = {}
    if attention == "spem":
        attention_kwargs["alpha"] = recipe.spem_alpha
    options = {}
    if config.model.startswith("cifar_se_resnet"):
        options = dict(
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


def make_pipelines(
    model, train_set, test_set, info, recipe, batch_size, seed=0, steps_per_epoch=None
):
    """Training and test pipelines labelled for the model's outputs; with `steps_per_epoch`
    the training set repeats."""
    names = output_names(model)
    train_data = data.pipeline(train_set, info, recipe.augmentation, True, batch_size, names, seed)
    if steps_per_epoch:
        train_data = train_data.repeat()
    test_data = data.pipeline(test_set, info, recipe.augmentation, False, batch_size, names)
    return train_data, test_data


def train(config):
    """Runs (or resumes) one training run and returns its metrics."""
    policy = keras.config.dtype_policy()
    if config.mixed_precision:
        keras.config.set_dtype_policy("mixed_float16")
    try:
        return _train(config)
    finally:
        keras.config.set_dtype_policy(policy)


def _train(config):
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    recipe = recipes.get(config.recipe)
    epochs = config.epochs or recipe.epochs
    batch_size = config.batch_size or recipe.batch_size
    strategy = make_strategy(config.strategy)
    chief = _is_chief(strategy)
    run_dir = config.output_dir
    if not chief:  # other workers write where they do not clobber the chief's files
        run_dir = os.path.join(run_dir, f"worker{strategy.cluster_resolver.task_id}")
    os.makedirs(run_dir, exist_ok=True)

    train_set, test_set, info = data.load(
        config.dataset, config.image_size, config.data_dir, config.manual_dir, config.seed
    )
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
    train_data, test_data = make_pipelines(
        model, train_set, test_set, info, recipe, batch_size, config.seed, config.steps_per_epoch
    )
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _work_around_multiworker(model, strategy, next(iter(test_data)))
    monitor = "val_main_accuracy" if names else "val_accuracy"
    throughput = Throughput(steps_per_epoch * batch_size)
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(run_dir, "backup")),
        ContinuousCSVLogger(os.path.join(run_dir, "history.csv"), append=True),
        keras.callbacks.ModelCheckpoint(
            os.path.join(run_dir, "best.keras"), monitor=monitor, mode="max", save_best_only=True
        ),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")),
        throughput,
    ]
    model.fit(
        train_data,
        epochs=epochs,
        steps_per_epoch=config.steps_per_epoch,
        validation_data=test_data,
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles
        verbose=config.verbose,
    )
    results = model.evaluate(test_data, return_dict=True, verbose=0)
    model.save(os.path.join(run_dir, "model.keras"))
    inference = models.inference_model(model) if names else model
    report = profile(inference, info.image_shape)
    parity_inputs = next(iter(test_data))[0].numpy()[:16]
    tflite = export.export_tflite(inference, os.path.join(run_dir, "model.tflite"), parity_inputs)
    history = read_history(os.path.join(run_dir, "history.csv"))
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
        "config": config.to_dict(),
        "recipe": recipe.to_dict(),
        "data": info.to_dict(),
    }
    with open(os.path.join(run_dir, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=2, default=str)
    if history:
        plot_history(history, os.path.join(run_dir, "curves.png"))
    return metrics
