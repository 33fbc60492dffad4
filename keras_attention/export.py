"""Export to `.keras`, SavedModel and TFLite, each checked against the Keras model.

Every export runs the exported artefact on a batch of inputs (the SavedModel reloaded with
`tf.saved_model.load`, TFLite through `ai_edge_litert`'s Interpreter) and reports the largest
absolute difference from the Keras model, the file size and, for TFLite, the op list.

TFLite conversion is restricted to built-in ops: a model that would need the Flex delegate or
a custom op fails with an error naming the op and the layer it comes from.
"""

import dataclasses
import os
import re
import tempfile

import keras
import numpy as np
import tensorflow as tf

TFLITE_MODES = ("float32", "float16", "dynamic_int8", "full_int8")


class UnsupportedOpError(ValueError):
    """The model needs ops that TFLite's built-in kernels do not have."""


@dataclasses.dataclass
class ExportReport:
    format: str
    path: str
    size_bytes: int
    max_abs_diff: float
    ops: tuple = ()
    runtime: str = ""  # TFLite: the kernels the parity check ran on

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        ops = f", ops: {', '.join(self.ops)}" if self.ops else ""
        runtime = f" [{self.runtime}]" if self.runtime else ""
        return (
            f"{self.format:<18} {self.size_bytes / 1e6:8.2f} MB  max |diff| "
            f"{self.max_abs_diff:.3g}  {self.path}{runtime}{ops}"
        )


def _size(path):
    if os.path.isdir(path):
        return sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, names in os.walk(path)
            for name in names
        )
    return os.path.getsize(path)


def _single_output(model):
    if len(model.outputs) > 1:
        raise ValueError(
            f"Model '{model.name}' has outputs {model.output_names}; export its inference "
            "form (keras_attention.models.inference_model) instead."
        )


def export_keras(model, path, inputs):
    """Saves `.keras` and checks that the reloaded model gives the same outputs."""
    model.save(path)
    reloaded = keras.saving.load_model(path)
    diff = np.abs(reloaded.predict(inputs, verbose=0) - model.predict(inputs, verbose=0)).max()
    return ExportReport("keras", path, _size(path), float(diff))


def export_saved_model(model, path, inputs):
    """`model.export` with a `serve` signature; the reloaded SavedModel is checked."""
    _single_output(model)
    model.export(path, format="tf_saved_model", verbose=False)
    loaded = tf.saved_model.load(path)
    served = loaded.serve(tf.constant(inputs))
    diff = np.abs(np.asarray(served) - model.predict(inputs, verbose=0)).max()
    return ExportReport("saved_model", path, _size(path), float(diff))


def _layer_of(node_name, model):
    """The innermost layer of `model` whose name scope holds a graph node (Keras may suffix
    scopes with `_N`)."""
    names = {layer.name for layer in model._flatten_layers(include_self=False)}
    for part in reversed(node_name.split("/")[:-1]):
        base = re.sub(r"_\d+$", "", part)
        for candidate in (part, base):
            if candidate in names:
                return candidate
    return None


def _unsupported_ops(message):
    """Op names a converter error lists as missing from the built-in runtime."""
    found = re.findall(r"'tf\.(\w+)'", message)
    found += re.findall(r"tf\.(\w+)\s*\{", message)
    found += re.findall(r"Flex ops:\s*([\w, ]+)", message)
    ops = set()
    for item in found:
        ops.update(op.strip().removeprefix("Flex") for op in item.split(",") if op.strip())
    return sorted(ops)


def _explain_unsupported(error, model):
    message = str(error)
    ops = _unsupported_ops(message)
    graph = (
        tf.function(model)
        .get_concrete_function(tf.TensorSpec((1, *model.input_shape[1:]), model.inputs[0].dtype))
        .graph
    )
    places = []
    for op in ops:
        layers = sorted(
            {
                _layer_of(node.name, model) or node.name
                for node in graph.get_operations()
                if node.type == op
            }
        )
        places.append(f"{op} (in layer {', '.join(layers) or 'unknown'})")
    listed = "; ".join(places) or "see the converter's message below"
    lines = [line.strip() for line in message.splitlines() if "error" in line.lower()]
    return UnsupportedOpError(
        f"Model '{model.name}' needs ops that TFLite has no built-in kernel for: {listed}. "
        "Shipping it would need the Flex delegate; replace those ops or layers.\n"
        f"Converter: {(lines or [message.strip()])[0][:500]}"
    )


def float32_copy(model):
    """`model` itself, or for a mixed-precision model a copy that computes in float32 with the
    same (float32) weights: TFLite's float kernels take float32 graphs, and its own float16
    and int8 modes quantize from float32."""
    if all(layer.compute_dtype == "float32" for layer in model._flatten_layers()):
        return model

    def clone(layer):
        return type(layer).from_config({**layer.get_config(), "dtype": "float32"})

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def convert_tflite(model, mode="float32", representative_inputs=None):
    """TFLite flatbuffer bytes of `model`, built-in ops only.

    Modes: `float32`; `float16` (weights in float16); `dynamic_int8` (weights in int8,
    activations in float); `full_int8` (weights and activations in int8, int8 input and
    output, calibrated on `representative_inputs`). A mixed-precision model is converted from
    its float32 copy.
    """
    if mode not in TFLITE_MODES:
        raise ValueError(f"TFLite mode must be one of {TFLITE_MODES}, got {mode!r}.")
    _single_output(model)
    model = float32_copy(model)
    with tempfile.TemporaryDirectory() as directory:
        model.export(directory, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(directory)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if mode != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if mode == "full_int8":
            if representative_inputs is None:
                raise ValueError("full_int8 needs representative_inputs to calibrate on.")
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8

            def representative():
                for sample in representative_inputs:
                    yield [np.asarray(sample, np.float32)[None]]

            converter.representative_dataset = representative
        try:
            return converter.convert()
        except Exception as error:  # the converter raises ConverterError and others
            raise _explain_unsupported(error, model) from error


def tflite_interpreter(content):
    """`(interpreter, runtime)`: LiteRT's default runtime (built-in kernels with the XNNPACK
    delegate), or the built-in kernels alone where XNNPACK fails to prepare the model (it
    rejects some int8 quantization parameters that the built-in kernels accept)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(model_content=content)
        interpreter.allocate_tensors()
        return interpreter, "builtin+xnnpack"
    except RuntimeError as error:
        if "XNNPACK" not in str(error):
            raise
        reason = str(error).strip().splitlines()[0]
    interpreter = Interpreter(
        model_content=content,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    return interpreter, f"builtin (XNNPACK declined: {reason})"


def tflite_ops(interpreter):
    return tuple(sorted({op["op_name"] for op in interpreter._get_ops_details()}))


def run_tflite(interpreter, inputs):
    """Runs a TFLite model one sample at a time, quantizing int8 input and output."""
    input_detail = interpreter.get_input_details()[0]
    output_detail = interpreter.get_output_details()[0]
    outputs = []
    for sample in np.asarray(inputs, np.float32):
        x = sample[None]
        if input_detail["dtype"] == np.int8:
            scale, zero = input_detail["quantization"]
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
        interpreter.set_tensor(input_detail["index"], x)
        interpreter.invoke()
        y = interpreter.get_tensor(output_detail["index"])
        if output_detail["dtype"] == np.int8:
            scale, zero = output_detail["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        outputs.append(y[0])
    return np.stack(outputs)


def export_tflite(model, path, inputs, mode="float32", representative_inputs=None):
    """Converts, writes and checks a TFLite model."""
    content = convert_tflite(model, mode, representative_inputs)
    with open(path, "wb") as handle:
        handle.write(content)
    interpreter, runtime = tflite_interpreter(content)
    diff = np.abs(run_tflite(interpreter, inputs) - model.predict(inputs, verbose=0)).max()
    return ExportReport(
        f"tflite_{mode}", path, len(content), float(diff), tflite_ops(interpreter), runtime
    )


def export_all(model, directory, inputs, representative_inputs=None, modes=TFLITE_MODES):
    """`.keras`, SavedModel and each TFLite mode into `directory`; returns the reports."""
    os.makedirs(directory, exist_ok=True)
    reports = [
        export_keras(model, os.path.join(directory, "model.keras"), inputs),
        export_saved_model(model, os.path.join(directory, "saved_model"), inputs),
    ]
    for mode in modes:
        if mode == "full_int8" and representative_inputs is None:
            continue
        reports.append(
            export_tflite(
                model,
                os.path.join(directory, f"model_{mode}.tflite"),
                inputs,
                mode,
                representative_inputs,
            )
        )
    return reports


def _accuracy(predict, dataset):
    correct = total = 0
    for images, labels in dataset:
        labels = labels["main"] if isinstance(labels, dict) else labels
        predicted = np.argmax(predict(images.numpy()), axis=-1)
        correct += int(np.sum(predicted == np.argmax(labels.numpy(), axis=-1)))
        total += len(predicted)
    return correct / total


def export_run(run_dir, modes=TFLITE_MODES, calibration_samples=200, parity_samples=32):
    """Exports a `train_keras.py` run in every format into `RUN_DIR/export`.

    The representative sample for full-integer quantization and the inputs of the parity
    checks come from the run's own data pipeline (its data set, image size and recipe
    normalisation); each format's test accuracy is measured on the run's test set.
    Writes `RUN_DIR/export/export.json` and returns its content.
    """
    import json

    from keras_attention import data, models, recipes

    with open(os.path.join(run_dir, "metrics.json")) as handle:
        record = json.load(handle)
    config = record["config"]
    recipe = recipes.get(config["recipe"])
    train_set, test_set, info = data.load(
        config["dataset"],
        config["image_size"],
        config["data_dir"],
        config["manual_dir"],
        config["seed"],
    )
    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    if len(model.outputs) > 1:
        model = models.inference_model(model)
    augmentation = recipe.augmentation

    def evaluation(dataset):
        return data.pipeline(dataset, info, augmentation, training=False, batch_size=64)

    representative = [
        image for images, _ in evaluation(train_set.take(calibration_samples)) for image in images
    ]
    parity_inputs = next(iter(evaluation(test_set)))[0].numpy()[:parity_samples]
    directory = os.path.join(run_dir, "export")
    reports = export_all(model, directory, parity_inputs, representative, modes)
    test_batches = evaluation(test_set)
    accuracy = {"keras": _accuracy(lambda x: model.predict(x, verbose=0), test_batches)}
    for report in reports:
        if report.format.startswith("tflite"):
            with open(report.path, "rb") as handle:
                interpreter, _ = tflite_interpreter(handle.read())
            accuracy[report.format] = _accuracy(
                lambda x, i=interpreter: run_tflite(i, x), test_batches
            )
    result = {
        "run_dir": run_dir,
        "model": model.name,
        "reports": [r.to_dict() for r in reports],
        "test_accuracy": accuracy,
    }
    with open(os.path.join(directory, "export.json"), "w") as handle:
        json.dump(result, handle, indent=2)
    return result
