"""Use what you trained: a finished run (or its export) as a model, its preprocessing and its
labels, to predict and to evaluate.

`load_run(path)` takes a run's folder (`--output-dir` of `keras-attention train`) or its
`export/` folder and returns a `Run`:

- `run.model`: the trained network (single output, the auxiliary heads of SE-A left out). It
  takes *normalised* images, as in training, and returns **logits** (apply a softmax for
  probabilities);
- `run.preprocessing`: how raw images become its input (scale, resize or crop, mean and std;
  `keras_attention.data.preprocessing_contract`), `run.labels`: the class names in output
  order;
- `run.serving_model()`: the same network with the preprocessing inside, taking raw `uint8`
  images (what the SavedModel and TFLite exports are);
- `run.predict(images)`: top-k classes and probabilities of raw images (arrays or files).

The command line's `predict` and `evaluate` use these.
"""

import dataclasses
import os

import numpy as np

from keras_attention import catalog
from keras_attention.errors import ConfigError
from keras_attention.io import run_folder

OUTPUTS = "logits: one score per class, in the order of labels; softmax gives probabilities"
FORMATS = catalog.EXPORT_FORMATS


@dataclasses.dataclass
class Run:
    """A finished run, loaded (see the module docstring)."""

    path: str
    model: object
    labels: tuple
    preprocessing: dict
    info: object  # keras_attention.data.DataInfo of the training data
    augmentation: str
    config: object  # the run's TrainConfig
    metrics: dict
    export_dir: str = None

    def serving_model(self):
        """The model with the preprocessing inside: raw `uint8` images in, logits out."""
        from keras_attention.export.run_export import serving_model

        return serving_model(self.model, self.info, self.augmentation)

    def predict(self, images, top_k=5, format="keras"):
        """`[[(label, probability), ...], ...]`: the `top_k` classes of each image, most
        probable first. `images` are file paths or raw `uint8` arrays (height, width,
        channels); `format` is `keras` or, for a run with an export, one of the exported
        formats (`saved_model`, `tflite_float32`, ...)."""
        raw = [read_image(i, self.preprocessing) for i in images]
        logits = self.logits(raw, format)
        return [top_classes(row, self.labels, top_k) for row in logits]

    def logits(self, raw_images, format="keras"):
        """The logits of raw `uint8` images through one of the formats."""
        if format not in FORMATS:
            raise ConfigError(f"format: unknown format {format!r}; expected one of {FORMATS}")
        if format == "keras":
            serving = self.serving_model()
            return np.concatenate([serving.predict(x, verbose=0) for x in _groups(raw_images)])
        directory = self.export_dir
        if directory is None or not os.path.isdir(directory):
            raise ConfigError(
                f"format: {format} needs an export of the run (keras-attention export "
                f"{self.path}); only keras is available"
            )
        if format == "saved_model":
            import tensorflow as tf

            served = tf.saved_model.load(os.path.join(directory, catalog.export_file(format))).serve
            return np.concatenate([np.asarray(served(tf.constant(x))) for x in _groups(raw_images)])
        from keras_attention.formats.tflite import run_tflite, tflite_interpreter
        from keras_attention.formats.writers import onnx_session, run_onnx

        path = os.path.join(directory, catalog.export_file(format))
        if not os.path.exists(path):
            raise ConfigError(f"format: {path!r} was not exported (see export --formats)")
        if format == "onnx":
            session = onnx_session(path)
            return np.concatenate([run_onnx(session, x) for x in _groups(raw_images)])
        with open(path, "rb") as handle:
            interpreter, _ = tflite_interpreter(handle.read())
        return np.concatenate([run_tflite(interpreter, x) for x in _groups(raw_images)])


def _groups(images):
    """Consecutive images of one shape, stacked (images of several sizes go one by one)."""
    group = []
    for image in images:
        if group and group[-1].shape != image.shape:
            yield np.stack(group)
            group = []
        group.append(np.asarray(image, np.uint8))
    if group:
        yield np.stack(group)


def softmax(logits):
    """The softmax of `logits` along the last axis, in float64."""
    shifted = np.asarray(logits, np.float64) - np.max(logits, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def top_classes(logits, labels, top_k=5):
    """The `top_k` most probable classes of one image's `logits`: `(label, probability)` pairs,
    most probable first."""
    probabilities = softmax(logits)
    order = np.argsort(-probabilities)[: max(1, top_k)]
    return [(str(labels[i]), float(probabilities[i])) for i in order]


def read_image(path, preprocessing):
    """A raw `uint8` image (a file, or an array of height x width [x channels]) as the model's
    data set stores images: its channels (grey or RGB), and its stored size where the data
    set's images all have one (a digits model takes 8x8 images: larger ones are resized)."""
    from PIL import Image, UnidentifiedImageError

    if not isinstance(path, (str, os.PathLike)):
        array = np.asarray(path)
        if array.dtype != np.uint8:
            raise ConfigError(f"image: expected uint8 pixels (0-255), got {array.dtype}")
        path = Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array)
    try:
        with path if isinstance(path, Image.Image) else Image.open(path) as image:
            image = image.convert("L" if preprocessing["channels"] == 1 else "RGB")
            raw = preprocessing.get("raw_shape")
            if raw and image.size != (raw[1], raw[0]):
                image = image.resize((raw[1], raw[0]), Image.BILINEAR)
            pixels = np.asarray(image, np.uint8)
    except FileNotFoundError as error:
        raise ConfigError(f"image: {path!r} does not exist") from error
    except (UnidentifiedImageError, OSError) as error:
        raise ConfigError(f"image: {path!r} is not an image this can read ({error})") from error
    return pixels[..., None] if pixels.ndim == 2 else pixels


def load_run(path):
    """The finished run in `path` (a run's folder or its `export/` folder) as a `Run`.

    Raises `ConfigError` when `path` holds neither, and `RunError` when a file of the run
    differs from the checksum its `metrics.json` records.
    """
    import keras

    from keras_attention import models
    from keras_attention.training import data
    from keras_attention.training.config import from_record

    # The package registers its layers, optimizers and schedules with Keras when it is imported
    # (the command line before a command that loads a model), so `model.keras` loads.
    path = os.path.normpath(path)
    export_json = os.path.join(path, "export.json")
    exported = None
    if os.path.exists(export_json):  # an export folder: its run is the folder above, if there
        exported = run_folder.read_json(export_json, "export the run again")
        run_dir, export_dir = os.path.dirname(path), path
        model_path = os.path.join(path, "model.keras")
    else:
        run_dir, export_dir = path, os.path.join(path, run_folder.EXPORT)
        model_path = os.path.join(path, run_folder.MODEL)
    folder = run_folder.RunFolder(run_dir)
    metrics = folder.read_json(run_folder.METRICS, "train the run again")
    if metrics is not None:
        folder.verify(metrics)
        described = {"data": metrics["data"], "augmentation": metrics["recipe"]["augmentation"]}
    elif exported is not None and "data" in exported:  # an export on its own, copied elsewhere
        described = exported
    else:
        described = None
    if described is None or not os.path.exists(model_path):
        raise ConfigError(
            f"run: {path!r} holds no finished run (metrics.json and model.keras) nor an export "
            "(export.json); give the --output-dir of a finished training run or its export/"
        )
    model = keras.saving.load_model(model_path)
    if len(model.outputs) > 1:
        model = models.inference_model(model)
    info = data.info_from_dict(described["data"])
    augmentation = described["augmentation"]
    return Run(
        path=path,
        model=model,
        labels=tuple(info.class_names) or tuple(str(i) for i in range(info.num_classes)),
        preprocessing=data.preprocessing_contract(info, augmentation),
        info=info,
        augmentation=augmentation,
        config=from_record(metrics["config"]) if metrics else None,
        metrics=metrics,
        export_dir=export_dir if os.path.isdir(export_dir) else None,
    )


def evaluate(run, dataset=None, split="test", batch_size=64, log=None):
    """`{"accuracy", "loss", "images", "dataset", "split"}` of a loaded run on a split of its
    data set (the same seed and validation fraction as training) or of another one with the
    same classes, through the run's own preprocessing."""
    from keras_attention.training import data
    from keras_attention.training.config import resolve

    name = dataset or run.config.dataset
    splits = resolve(run.config).load_data(log, dataset=name)
    if run.config is None:
        raise ConfigError(f"run: {run.path!r} is an export without its run; evaluate needs it")
    if splits.info.num_classes != len(run.labels):
        raise ConfigError(
            f"dataset: {name!r} has {splits.info.num_classes} classes, the run's model "
            f"{len(run.labels)}"
        )
    if splits.info.class_names and tuple(splits.info.class_names) != tuple(run.labels):
        raise ConfigError(
            f"dataset: {name!r} has the classes {list(splits.info.class_names)[:10]}, the run's "
            f"model {list(run.labels)[:10]} (the same classes in the same order are needed)"
        )
    if splits.info.image_shape[-1] != run.info.image_shape[-1]:
        raise ConfigError(
            f"dataset: {name!r} has {splits.info.image_shape[-1]}-channel images, the run's "
            f"model takes {run.info.image_shape[-1]}"
        )
    chosen = {"train": splits.train, "validation": splits.validation, "test": splits.test}
    if split not in chosen:
        raise ConfigError(f"split: expected train, validation or test, got {split!r}")
    # The run's normalisation, the new data's stored size (which decides the resizing).
    info = dataclasses.replace(run.info, raw_shape=splits.info.raw_shape)
    correct = total = 0
    losses = []
    for images, labels in data.pipeline(chosen[split], info, run.augmentation, False, batch_size):
        logits = np.asarray(run.model.predict(images, verbose=0), np.float64)
        labels = np.argmax(np.asarray(labels), axis=-1)
        probabilities = softmax(logits)
        losses.append(-np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-12)))
        correct += int(np.sum(np.argmax(logits, axis=-1) == labels))
        total += len(labels)
    if not total:
        raise ConfigError(f"split: {name!r} has no {split} images")
    return {
        "accuracy": correct / total,
        "loss": float(np.mean(np.concatenate(losses))),
        "images": total,
        "dataset": name,
        "split": split,
    }
