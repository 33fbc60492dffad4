"""Export to `.keras`, SavedModel, TFLite and ONNX, each checked against the Keras model.

Every export runs the exported artefact on a batch of inputs (the SavedModel reloaded with
`tf.saved_model.load`, TFLite through `ai_edge_litert`'s Interpreter, ONNX through
onnxruntime) and reports the largest absolute difference from the Keras model, the file size
and, for TFLite, the op list.

TFLite conversion is restricted to built-in ops: a model that would need the Flex delegate or
a custom op fails with an error naming the op and the layer it comes from.
"""

import contextlib
import dataclasses
import logging
import os
import re
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_attention import quiet, run_folder
from keras_attention.catalog import EXPORT_KINDS, TFLITE_MODES
from keras_attention.errors import RunError
from keras_attention.layers.base import converter_form


class UnsupportedOpError(ValueError):
    """The model needs ops that TFLite's built-in kernels do not have."""


# The interpolations TFLite's built-in RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR cover.
TFLITE_RESIZES = ("bilinear", "nearest")


@dataclasses.dataclass
class ExportReport:
    """One exported format's check: its format, file and size, the largest absolute difference from
    the Keras model's outputs, its TFLite ops and the runtime the check ran on."""

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


def reference_outputs(model, inputs):
    """The Keras model's outputs on the few parity inputs an export is checked on: one eager
    call in inference mode, not `predict`, which would first trace and compile a predict
    function (most of the check's time on a small network, paid again for each run)."""
    return keras.ops.convert_to_numpy(model(np.asarray(inputs), training=False))


def export_keras(model, path, inputs=None):
    """Saves `.keras` and checks that the reloaded model gives the same outputs (on `inputs`,
    or on random inputs of the model's shape)."""
    run_folder.save_model(model, path)
    reloaded = keras.saving.load_model(path)
    if inputs is None:
        shape = [1 if d is None else d for d in model.input_shape[1:]]
        inputs = np.random.default_rng(0).random((2, *shape), dtype="float32")
    diff = np.abs(reference_outputs(reloaded, inputs) - reference_outputs(model, inputs)).max()
    return ExportReport("keras", path, _size(path), float(diff))


def export_saved_model(model, path, inputs):
    """`model.export` with a `serve` signature; the reloaded SavedModel is checked."""
    _single_output(model)
    with quiet.silenced_stderr():
        model.export(path, format="tf_saved_model", verbose=False)
    loaded = tf.saved_model.load(path)
    served = loaded.serve(tf.constant(inputs))
    diff = np.abs(np.asarray(served) - reference_outputs(model, inputs)).max()
    return ExportReport("saved_model", path, _size(path), float(diff))


@contextlib.contextmanager
def _logging_kept():
    """tf2onnx configures logging when imported and when it converts (a root handler,
    TensorFlow's logger level and verbosity): the caller's settings are put back."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in ("", "tensorflow")}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _onnx_modules():
    try:
        with _logging_kept():
            import onnxruntime
            import tf2onnx  # noqa: F401  (Keras' ONNX export on TensorFlow converts with it)
    except ImportError as error:
        from keras_attention.errors import ConfigError

        raise ConfigError(
            f"export: onnx needs tf2onnx and onnxruntime ({error.name} is not installed): pip "
            "install 'keras-cnn-attention[train]'"
        ) from None
    return onnxruntime


def onnx_session(path):
    """An onnxruntime session on the CPU for an exported `.onnx` file."""
    onnxruntime = _onnx_modules()
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def run_onnx(session, inputs):
    """The first output of an onnxruntime `session` on `inputs` (its one input)."""
    (name,) = [i.name for i in session.get_inputs()]
    return session.run(None, {name: np.asarray(inputs)})[0]


def export_onnx(model, path, inputs):
    """ONNX through Keras' own `model.export(format="onnx")`: on TensorFlow it traces the
    serving function and converts it with tf2onnx (1.17 handles TensorFlow 2.21's graphs,
    Rescaling, Resizing and Normalization included), so there is one converter for every
    block. The file is checked with onnxruntime on `inputs`."""
    _single_output(model)
    _onnx_modules()
    spec = model.inputs[0]
    signature = [tf.TensorSpec(spec.shape, spec.dtype, name=spec.name or "image")]
    with tempfile.TemporaryDirectory() as directory:
        staged = os.path.join(directory, "model.onnx")
        # The blocks trace their converters' form: no branch, moments as vectors.
        with quiet.silenced_stderr(), _logging_kept(), converter_form():
            model.export(staged, format="onnx", input_signature=signature, verbose=False)
        with open(staged, "rb") as handle:
            content = handle.read()
    run_folder.write_bytes(path, content)
    diff = np.abs(run_onnx(onnx_session(path), inputs) - reference_outputs(model, inputs)).max()
    return ExportReport("onnx", path, len(content), float(diff), runtime="onnxruntime CPU")


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
    with _tflite_converter(model, mode, representative_inputs) as (converter, model):
        try:
            with quiet.silenced_stderr():
                return converter.convert()
        except Exception as error:  # the converter raises ConverterError and others
            raise _explain_unsupported(error, model) from error


@contextlib.contextmanager
def _tflite_converter(model, mode, representative_inputs=None):
    """`(converter, float32 model)`: TFLite's converter for `model` set up for `mode` (see
    `convert_tflite`), from a SavedModel that lives while the context is open."""
    if mode not in TFLITE_MODES:
        raise ValueError(f"TFLite mode must be one of {TFLITE_MODES}, got {mode!r}.")
    _single_output(model)
    model = float32_copy(model)
    with tempfile.TemporaryDirectory() as directory:
        # The blocks trace their LiteRT form: no branch, XNNPACK's preferred ops.
        with quiet.silenced_stderr(), converter_form():
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
            input_dtype = model.inputs[0].dtype
            if input_dtype == "float32":  # raw images (uint8) stay as they are
                converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
            converter.representative_dataset = _samples(representative_inputs, input_dtype)
        yield converter, model


def _samples(inputs, dtype):
    """A TFLite representative dataset: each input as a batch of one, in `dtype`."""

    def generate():
        for sample in inputs:
            yield [np.asarray(sample, dtype)[None]]

    return generate


def quantization_report(model, representative_inputs):
    """How much each layer of `model` loses in full-integer TFLite, on `representative_inputs`.

    TFLite's quantization debugger (`tf.lite.experimental.QuantizationDebugger`) runs the
    int8 model and its float counterpart side by side on the images and compares every
    quantized op's output; the measure per op is the root mean squared error over the
    output's quantization scale (`rmse_over_scale`: about 0.29 for a uniform rounding error,
    much more where a per-tensor scale is too coarse for the values). Returns
    `{"layers": [{layer, op, tensor, rmse_over_scale}, ...] (worst first), "by_layer":
    {Keras layer: worst rmse_over_scale}, "blocks": {attention block: worst}}`; an op is
    given to the Keras layer whose name its tensor name holds.
    """
    import csv
    import io

    from keras_attention.layers.base import AttentionBlock

    with _tflite_converter(model, "full_int8", representative_inputs) as (converter, float32):
        with quiet.silenced_stderr():
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=converter,
                debug_dataset=_samples(representative_inputs, float32.inputs[0].dtype),
            )
            debugger.run()
        dump = io.StringIO()
        debugger.layer_statistics_dump(dump)
    names = sorted({layer.name for layer in _all_layers(float32)}, key=len, reverse=True)
    blocks = {layer.name for layer in _all_layers(float32) if isinstance(layer, AttentionBlock)}
    rows = []
    for row in csv.DictReader(io.StringIO(dump.getvalue())):
        scale = float(row.get("scale") or 0.0)
        error = float(row.get("mean_squared_error") or "nan")
        if not scale > 0 or not np.isfinite(error):
            continue
        tensor = row.get("tensor_name", "")
        layer = next((n for n in names if f"/{n}/" in f"/{tensor}/" or n in tensor), None)
        rows.append(
            {
                "layer": layer,
                "op": row.get("op_name"),
                "tensor": tensor,
                "rmse_over_scale": float(np.sqrt(error) / scale),
            }
        )
    rows.sort(key=lambda r: -r["rmse_over_scale"])
    by_layer = {}
    for row in rows:
        if row["layer"] is not None:
            by_layer.setdefault(row["layer"], row["rmse_over_scale"])
    return {
        "measure": "rmse_over_scale",
        "images": len(representative_inputs),
        "layers": rows,
        "by_layer": by_layer,
        "blocks": {name: value for name, value in by_layer.items() if name in blocks},
    }


def _all_layers(model):
    """Every layer of a model, nested models' included."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def tflite_interpreter(content):
    """`(interpreter, runtime)`: LiteRT's default runtime (built-in kernels with the XNNPACK
    delegate), or the built-in kernels alone where XNNPACK fails to prepare the model (it
    rejects some int8 quantization parameters that the built-in kernels accept)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        with quiet.silenced_stderr():
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
    """The sorted names of the ops a LiteRT interpreter's model runs."""
    return tuple(sorted({op["op_name"] for op in interpreter._get_ops_details()}))


def batch1_interpreter(content, num_threads=None):
    """LiteRT's default interpreter (XNNPACK delegate applied) for `content`, at batch 1."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=num_threads)
    source = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(source["index"], [1, *source["shape"][1:]])
    interpreter.allocate_tensors()
    return interpreter


def xnnpack_partitions(interpreter):
    """`(partitions, whole)`: how many runs of nodes the XNNPACK delegate took (it replaces each
    by one DELEGATE node), and whether a single one runs the whole graph (reads the model's
    input and writes its output)."""
    delegates = [op for op in interpreter._get_ops_details() if op["op_name"] == "DELEGATE"]
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]
    whole = (
        len(delegates) == 1
        and target in delegates[0]["outputs"]
        and source in delegates[0]["inputs"]
    )
    return len(delegates), whole


def run_tflite(interpreter, inputs):
    """Runs a TFLite model one sample at a time: int8 inputs and outputs are (de)quantized,
    other inputs are given in the model's input dtype, and a model with a dynamic input size
    is resized to each sample's."""
    input_detail = interpreter.get_input_details()[0]
    output_detail = interpreter.get_output_details()[0]
    outputs = []
    for sample in np.asarray(inputs):
        x = sample[None]
        if tuple(input_detail["shape"]) != x.shape:
            interpreter.resize_tensor_input(input_detail["index"], x.shape)
            interpreter.allocate_tensors()
            input_detail = interpreter.get_input_details()[0]
            output_detail = interpreter.get_output_details()[0]
        if input_detail["dtype"] == np.int8:
            scale, zero = input_detail["quantization"]
            x = np.clip(np.round(x.astype(np.float32) / scale + zero), -128, 127)
        interpreter.set_tensor(input_detail["index"], x.astype(input_detail["dtype"]))
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
    run_folder.write_bytes(path, content)
    interpreter, runtime = tflite_interpreter(content)
    diff = np.abs(run_tflite(interpreter, inputs) - reference_outputs(model, inputs)).max()
    return ExportReport(
        f"tflite_{mode}", path, len(content), float(diff), tflite_ops(interpreter), runtime
    )


def export_all(
    model,
    directory,
    inputs,
    representative_inputs=None,
    modes=TFLITE_MODES,
    keras_file=True,
    step=lambda what: None,
    formats=EXPORT_KINDS,
):
    """`.keras` (unless `keras_file` is False), SavedModel, each TFLite mode and ONNX into
    `directory`, those of `formats` (`catalog.EXPORT_KINDS`); returns the reports.
    `step(what)` is called before each format."""
    os.makedirs(directory, exist_ok=True)
    reports = []
    if keras_file:
        step("model.keras")
        reports.append(export_keras(model, os.path.join(directory, "model.keras"), inputs))
    if "saved_model" in formats:
        step("SavedModel")
        reports.append(export_saved_model(model, os.path.join(directory, "saved_model"), inputs))
    for mode in modes if "tflite" in formats else ():
        if mode == "full_int8" and representative_inputs is None:
            continue
        step(f"TFLite {mode}")
        reports.append(
            export_tflite(
                model,
                os.path.join(directory, f"model_{mode}.tflite"),
                inputs,
                mode,
                representative_inputs,
            )
        )
    if "onnx" in formats:
        step("ONNX")
        reports.append(export_onnx(model, os.path.join(directory, "model.onnx"), inputs))
    return reports


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
    from keras_attention import data

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
    from keras_attention import data, models, progress
    from keras_attention.config import from_record, resolve

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
