"""`export_run`: a trained run's model, with its preprocessing in front (`serving_model`), written
in every format and scored on the run's test set; a format that loses more than the tolerance is
refused (`DegradedFormatError`), and a folder's previous export stays whole until the new one is
complete.
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from keras_attention.catalog import EXPORT_KINDS, TFLITE_MODES
from keras_attention.errors import RunError
from keras_attention.formats.tflite import (
    TFLITE_RESIZES,
    float32_copy,
    quantization_report,
    run_tflite,
    tflite_interpreter,
)
from keras_attention.formats.writers import (
    export_all,
    export_keras,
    onnx_session,
    run_onnx,
)
from keras_attention.io import run_folder


def serving_model(model, info, augmentation, constant_normalization=False):
    """`model` with the run's evaluation preprocessing in front, taking raw images.

    The input is `uint8` images of the data set's stored size (any size for data sets whose
    images vary), scaled, resized (and centre-cropped for ImageNet-style sets) and normalised
    by the same Keras layers as the evaluation pipeline (`data.preprocessing_layers`), so the
    deployed model computes what evaluation computed. Mixed-precision models are served from
    their float32 copy.

    `constant_normalization` normalises with `Rescaling(1 / std, -mean / std)` instead of
    `Normalization` (equal up to float round-off): tf2onnx turns the tensors `Normalization`
    holds outside the traced function into extra graph inputs, which an ONNX user could not
    feed.
    """
    from keras_attention.training import data

    model = float32_copy(model)
    channels = info.image_shape[-1]
    shape = tuple(info.raw_shape) if info.raw_shape else (None, None, channels)
    inputs = keras.Input(shape, dtype="uint8", name="image")
    x = inputs
    # training=False throughout: a preprocessing layer's call defaults to training=True, which
    # would otherwise put the model's BatchNormalization in training mode.
    for layer in data.preprocessing_layers(info, augmentation):
        if constant_normalization and isinstance(layer, keras.layers.Normalization):
            mean = np.asarray(info.mean, "float64")
            std = np.asarray(info.std, "float64")
            layer = keras.layers.Rescaling(
                (1.0 / std).tolist(), (-mean / std).tolist(), name="normalize", dtype="float32"
            )
        x = layer(x, training=False)
    return keras.Model(inputs, model(x, training=False), name=f"{model.name}_serving")


def _accuracy(predict, dataset):
    """Top-1 accuracy of `predict` over `(images, labels)` batches; labels are class indices,
    one-hot vectors, or a dict of them by output name."""
    correct = total = 0
    for images, labels in dataset:
        labels = labels["main"] if isinstance(labels, dict) else labels
        labels = np.asarray(labels)
        if labels.ndim > 1:
            labels = np.argmax(labels, axis=-1)
        predicted = np.argmax(predict(np.asarray(images)), axis=-1)
        correct += int(np.sum(predicted == labels))
        total += len(predicted)
    return correct / total


# How far below the Keras model's test accuracy an exported format may score, in points.
TOLERANCE_POINTS = 2.0


def export_run(
    run_dir,
    modes=TFLITE_MODES,
    calibration_samples=200,
    parity_samples=32,
    log=None,
    formats=EXPORT_KINDS,
    tolerance=TOLERANCE_POINTS,
    allow_degraded=False,
    report=False,
):
    """Exports a training run, deployable, into `RUN_DIR/export`.

    `model.keras` is the run's model as trained (it takes normalised inputs); the SavedModel
    (`serve` signature), the TFLite models and `model.onnx` are its `serving_model`: they take
    raw `uint8` images (any batch for the SavedModel and ONNX, batch 1 for TFLite) and hold the
    resizing and normalisation. `formats` chooses among `catalog.EXPORT_KINDS` (`model.keras`
    is always written). `labels.txt` lists the class names in output order. Full-integer TFLite is
    calibrated on raw training images. Every format is checked against the Keras model on the
    same raw test images and scored on the run's test set. Writes `RUN_DIR/export/export.json`
    (formats, sizes, largest differences, TFLite ops, test accuracies, input description) and
    returns its content.

    A format whose test accuracy falls more than `tolerance` points below the Keras model's
    (a full-integer model that lost its accuracy in quantization) fails the export with a
    `DegradedFormatError` naming it, both accuracies and what to try; nothing is written.
    With `allow_degraded`, it is written and `export.json` records it under `"degraded"`.
    With `report` (and `full_int8` among the modes), `export.json` also holds
    `"quantization"`: each layer's and each attention block's int8 error against the float
    model on the calibration images (`quantization_report`).

    The export is written into `RUN_DIR/export.partial` and swapped in whole when it is
    complete, so a killed or failed export leaves the previous one as it was. The run's folder
    is locked meanwhile, and its files are checked against the checksums `metrics.json`
    records.
    """
    folder = run_folder.RunFolder(run_dir)
    with folder.lock():
        record = folder.read_json(
            run_folder.METRICS, "export needs the run's metrics; train the run again"
        )
        if record is None:
            from keras_attention.errors import ConfigError

            raise ConfigError(
                f"export: {run_dir!r} holds no finished run (no {run_folder.METRICS}); train "
                "it first, or run the same training command to finish it"
            )
        folder.verify(record)
        _recover_export(folder)
        staging = folder.path(run_folder.EXPORT + ".partial")
        run_folder.remove(staging)
        try:
            result = _export_run(
                folder,
                record,
                staging,
                modes,
                calibration_samples,
                parity_samples,
                log,
                formats,
                report,
            )
            result["tolerance_points"] = float(tolerance)
            result["degraded"] = _check_degraded(
                result, tolerance, allow_degraded, calibration_samples
            )
            run_folder.write_json(os.path.join(staging, "export.json"), result)
        except BaseException:
            run_folder.remove(staging)  # the previous export stays as it was
            raise
        _swap_in(folder, staging)
    return result


class DegradedFormatError(RunError):
    """An exported format scores too far below the Keras model on the test set."""


def _check_degraded(result, tolerance, allow_degraded, calibration_samples):
    """`{format: {accuracy, keras_accuracy, points}}` of the formats more than `tolerance`
    points below the Keras model; a `DegradedFormatError` (one line, the worst named) unless
    `allow_degraded`."""
    accuracy = result["test_accuracy"]
    keras_accuracy = accuracy["keras"]
    degraded = {
        name: {
            "accuracy": value,
            "keras_accuracy": keras_accuracy,
            "points": round(100 * (value - keras_accuracy), 2),
        }
        for name, value in accuracy.items()
        if name != "keras" and 100 * (keras_accuracy - value) > tolerance
    }
    if not degraded or allow_degraded:
        return degraded
    worst = min(degraded, key=lambda name: degraded[name]["accuracy"])
    others = f" (and {', '.join(n for n in degraded if n != worst)})" if len(degraded) > 1 else ""
    hint = (
        f"more calibration images (--calibration-samples {2 * calibration_samples})"
        if worst == "tflite_full_int8"
        else "another format"
    )
    raise DegradedFormatError(
        f"export: {worst}{others} scores {degraded[worst]['accuracy']:.4f} on the test set "
        f"against the Keras model's {keras_accuracy:.4f} ({degraded[worst]['points']:+.1f} "
        f"points, beyond the tolerance of {tolerance:g}); nothing was written. Try {hint}, "
        f"leave it out (--modes/--formats), or write it anyway with --allow-degraded"
    )


def _recover_export(folder):
    """Puts back the previous export if a swap was cut between its two renames."""
    current = folder.path(run_folder.EXPORT)
    previous = folder.path(run_folder.EXPORT + ".previous")
    if os.path.exists(previous):
        if os.path.exists(current):
            run_folder.remove(previous)
        else:
            os.replace(previous, current)


def _swap_in(folder, staging):
    """Replaces the export by `staging`: two renames, undone by `_recover_export` if a kill
    falls between them."""
    current = folder.path(run_folder.EXPORT)
    previous = folder.path(run_folder.EXPORT + ".previous")
    try:
        if os.path.exists(current):
            os.replace(current, previous)
        os.replace(staging, current)
    except OSError as error:
        raise run_folder.write_error(current, error) from error
    run_folder.remove(previous)


def _export_run(
    folder, record, directory, modes, calibration_samples, parity_samples, log, formats, report
):
    from keras_attention import models
    from keras_attention.io import progress
    from keras_attention.training import data
    from keras_attention.training.config import from_record, resolve

    run_dir = folder.directory
    final = folder.path(run_folder.EXPORT)
    modes = tuple(modes) if "tflite" in formats else ()
    # load, model.keras, [SavedModel], TFLite modes, [ONNX], score
    counter = progress.Counter(3 + len(modes) + sum(f in formats for f in ("saved_model", "onnx")))

    def step(what):
        if log is not None:
            log(f"export [{counter.done + 1}/{counter.total}] {what} ({counter.status()})")
        counter.step()

    step("loading the run and its data")
    plan = resolve(from_record(record["config"]))
    recipe = plan.recipe
    splits = plan.load_data(log)
    info = splits.info
    model = keras.saving.load_model(folder.path(run_folder.MODEL))
    if len(model.outputs) > 1:
        model = models.inference_model(model)
    serving = serving_model(model, info, recipe.augmentation)
    batch = 64 if info.raw_shape else 1  # images of different sizes go one at a time
    raw_test = splits.test.batch(batch)
    representative = [image.numpy() for image, _ in splits.train.take(calibration_samples)]
    parity_inputs = (
        np.concatenate(
            [images.numpy() for images, _ in splits.test.take(parity_samples).batch(batch)]
        )
        if info.raw_shape
        else next(iter(raw_test))[0].numpy()
    )
    os.makedirs(directory, exist_ok=True)
    step("model.keras")
    reports = [export_keras(model, os.path.join(directory, "model.keras"), None)]
    notes = {}
    tflite_serving = serving
    if info.interpolation not in TFLITE_RESIZES:
        # TFLite's built-in kernels resize bilinearly or to the nearest pixel only (a preset's
        # bicubic would need the Flex delegate): its models resize bilinearly, which is said
        # in export.json and shows in their test accuracy.
        tflite_serving = serving_model(
            model, dataclasses.replace(info, interpolation="bilinear"), recipe.augmentation
        )
        notes["tflite"] = (
            f"TFLite has no {info.interpolation} resize kernel: the TFLite models resize "
            f"bilinearly; the other formats resize as the run did ({info.interpolation})"
        )
    for kind in ("saved_model", "tflite", "onnx"):
        if kind not in formats:
            continue
        served = {"saved_model": serving, "tflite": tflite_serving}.get(kind)
        if kind == "onnx":
            served = serving_model(model, info, recipe.augmentation, constant_normalization=True)
        reports += export_all(
            served,
            directory,
            parity_inputs,
            representative,
            modes,
            keras_file=False,
            step=step,
            formats=(kind,),
        )
    quantization = None
    if report and "full_int8" in modes:
        if log is not None:
            log("export: measuring each layer's int8 error on the calibration images")
        quantization = quantization_report(tflite_serving, representative)
    step("scoring every format on the test set")
    evaluation = data.pipeline(splits.test, info, recipe.augmentation, False, 64)
    accuracy = {"keras": _accuracy(lambda x: model.predict(x, verbose=0), evaluation)}
    outputs = {"keras": {"dtype": "float32"}}
    for report in reports:
        if report.format in ("saved_model", "onnx"):
            outputs[report.format] = {"dtype": "float32"}
        if report.format == "onnx":
            session = onnx_session(report.path)
            accuracy["onnx"] = _accuracy(lambda x, s=session: run_onnx(s, x), raw_test)
        elif report.format == "saved_model":
            loaded = tf.saved_model.load(report.path)
            accuracy["saved_model"] = _accuracy(
                lambda x, f=loaded.serve: np.asarray(f(tf.constant(x))), raw_test
            )
        elif report.format.startswith("tflite"):
            with open(report.path, "rb") as handle:
                interpreter, _ = tflite_interpreter(handle.read())
            accuracy[report.format] = _accuracy(lambda x, i=interpreter: run_tflite(i, x), raw_test)
            detail = interpreter.get_output_details()[0]
            outputs[report.format] = {"dtype": np.dtype(detail["dtype"]).name}
            if detail["dtype"] == np.int8:
                scale, zero = detail["quantization"]
                outputs[report.format].update(
                    scale=float(scale),
                    zero_point=int(zero),
                    dequantize="logits = (output - zero_point) * scale",
                )
    run_folder.write_text(
        os.path.join(directory, "labels.txt"), "".join(f"{name}\n" for name in info.class_names)
    )
    for report in reports:  # where each file is once the export is swapped in
        report.path = os.path.join(final, os.path.relpath(report.path, directory))
    labels_path = os.path.join(final, "labels.txt")
    report_path = os.path.join(final, "export.json")
    shape = list(info.raw_shape) if info.raw_shape else [None, None, info.image_shape[-1]]
    result = {
        "run_dir": run_dir,
        "model": model.name,
        "input": {
            "dtype": "uint8",
            "shape": [None, *shape],
            "tflite_batch": 1,
            "preprocessing": [
                layer.name for layer in data.preprocessing_layers(info, recipe.augmentation)
            ],
            "description": "raw images, 0-255; the SavedModel, TFLite and ONNX models scale, "
            "resize and normalise them; model.keras takes normalised images as in training",
        },
        "preprocessing": data.preprocessing_contract(info, recipe.augmentation),
        "outputs": {
            "kind": "logits",
            "classes": int(info.num_classes),
            "description": "one score per class, in the order of labels; softmax gives "
            "probabilities; int8 TFLite outputs are dequantized with their scale and zero point",
            "formats": outputs,
        },
        "augmentation": recipe.augmentation,
        "notes": notes,
        "data": info.to_dict(),
        "labels": list(info.class_names),
        "labels_path": labels_path,
        "report_path": report_path,
        "reports": [r.to_dict() for r in reports],
        "test_accuracy": accuracy,
    }
    if quantization is not None:
        result["quantization"] = quantization
    return result  # export.json is written by export_run, with the tolerance's verdict
