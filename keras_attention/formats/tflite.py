"""TFLite: conversion in each mode (float32, float16, dynamic_int8, full_int8), the interpreter
that checks it, XNNPACK partitions, and the full-int8 quantization report.

Conversion is restricted to built-in ops: a model that would need the Flex delegate or a custom
op fails with an error naming the op and the layer it comes from.
"""

import contextlib
import re
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_attention.catalog import TFLITE_MODES
from keras_attention.formats.report import ExportReport, check_single_output, reference_outputs
from keras_attention.io import quiet, run_folder
from keras_attention.layers.base import converter_form


class UnsupportedOpError(ValueError):
    """The model needs ops that TFLite's built-in kernels do not have."""


# The interpolations TFLite's built-in RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR cover.
TFLITE_RESIZES = ("bilinear", "nearest")


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
                if mode == "full_int8":
                    return _quantize_with_ranges(converter)
                return converter.convert()
        except Exception as error:  # the converter raises ConverterError and others
            raise _explain_unsupported(error, model) from error


# The narrowest calibrated range a full-integer model quantizes a tensor to (`_widen_ranges`).
NARROWEST_RANGE = 2.0**-8


def _quantize_with_ranges(converter, debug=False):
    """The full-integer model of `converter` (as `_tflite_converter` sets it up), made in the
    steps of its own `convert()`: calibration alone, then TensorFlow's MLIR quantizer, with
    each calibrated range widened to at least `NARROWEST_RANGE` in between (`_widen_ranges`).
    With `debug`, the same quantization as `tf.lite.experimental.QuantizationDebugger` wants
    it: float input and output, a NumericVerify op after each quantized op."""
    from tensorflow.lite.python.convert import mlir_quantize

    converter._experimental_calibrate_only = True
    calibrated = _widen_ranges(converter.convert())
    if debug:
        return mlir_quantize(calibrated, enable_numeric_verify=True)
    return mlir_quantize(
        calibrated,
        input_data_type=converter.inference_input_type,
        output_data_type=converter.inference_output_type,
    )


def _widen_ranges(calibrated):
    """The calibrated float model `calibrated` with each tensor's recorded range widened,
    around its centre, to `NARROWEST_RANGE` where it is narrower. A tensor that held one value
    on every calibration image (a dead unit of a narrow MLP: the single hidden unit of CBAM's
    MLP on ResNet-8's 16 channels, reduction 16) otherwise gets a scale near zero; the
    requantization of the op that writes it is then far beyond the 256 XNNPACK takes, and
    LiteRT's XNNPACK delegate declines the model or aborts the process preparing it
    (ai-edge-litert 2.3: a CBAM-ResNet-8 trained on the digits). Values in such a range keep a
    step of `NARROWEST_RANGE / 255` (1.5e-5). TensorFlow's own reader and writer of TFLite's
    flatbuffer schema."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            ranges = tensor.quantization
            if ranges is None or ranges.min is None or ranges.max is None:
                continue
            low, high = float(np.min(ranges.min)), float(np.max(ranges.max))
            if high - low < NARROWEST_RANGE:
                centre = (low + high) / 2
                ranges.min = [centre - NARROWEST_RANGE / 2]
                ranges.max = [centre + NARROWEST_RANGE / 2]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _saved_model_for_conversion(model, directory):
    """`model.export(directory, format="tf_saved_model")` without the gradient functions of
    the ops that define their own (SiLU, for one): the converter reads only the forward graph,
    and tracing them is a sixth of the export's time on EfficientNet-B0. `model.export` takes
    no `SaveOptions`, hence Keras' `ExportArchive` here."""
    if len(model.inputs) != 1:  # any other input structure: Keras' own signature for it
        model.export(directory, format="tf_saved_model", verbose=False)
        return
    spec = model.inputs[0]
    archive = keras.export.ExportArchive()
    archive.track_and_add_endpoint("serve", model, [tf.TensorSpec(spec.shape, spec.dtype)])
    options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
    archive.write_out(directory, options=options, verbose=False)


@contextlib.contextmanager
def _tflite_converter(model, mode, representative_inputs=None):
    """`(converter, float32 model)`: TFLite's converter for `model` set up for `mode` (see
    `convert_tflite`), from a SavedModel that lives while the context is open."""
    if mode not in TFLITE_MODES:
        raise ValueError(f"TFLite mode must be one of {TFLITE_MODES}, got {mode!r}.")
    check_single_output(model)
    model = float32_copy(model)
    with tempfile.TemporaryDirectory() as directory:
        # The blocks trace their LiteRT form: no branch, XNNPACK's preferred ops.
        with quiet.silenced_stderr(), converter_form(integer=mode == "full_int8"):
            _saved_model_for_conversion(model, directory)
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
    given to the Keras layer whose name its tensor name holds. The debugger runs the model
    quantized as `convert_tflite` quantizes it (`_quantize_with_ranges`).
    """
    import csv
    import io

    from keras_attention.layers.base import AttentionBlock

    with _tflite_converter(model, "full_int8", representative_inputs) as (converter, float32):
        with quiet.silenced_stderr():
            debug_model = _quantize_with_ranges(converter, debug=True)
            debugger = tf.lite.experimental.QuantizationDebugger(
                quant_debug_model_content=debug_model,
                debug_dataset=_samples(representative_inputs, float32.inputs[0].dtype),
            )
            # The debugger's interpreter applies XNNPACK, which declines some int8 graphs when
            # it prepares them and has no option for it; its model runs on TFLite's own
            # kernels instead, the reference the measure is meant for.
            debugger._quant_interpreter = tf.lite.Interpreter(
                model_content=debug_model,
                experimental_op_resolver_type=(
                    tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
                ),
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


# Prepares a TFLite model read from stdin with LiteRT's default runtime (XNNPACK delegate).
_XNNPACK_PROBE = (
    "import sys\n"
    "from ai_edge_litert.interpreter import Interpreter\n"
    "Interpreter(model_content=sys.stdin.buffer.read()).allocate_tensors()\n"
)


def xnnpack_aborts(content):
    """Whether preparing the TFLite model `content` with LiteRT's XNNPACK delegate kills the
    process. On some int8 graphs that it cannot build (a full-int8 CBAM-ResNet-8 trained on the
    digits), ai-edge-litert 2.3's delegate frees memory twice on its way out and the C library
    aborts the process: no exception to catch. So a child process prepares it first."""
    result = subprocess.run(
        [sys.executable, "-c", _XNNPACK_PROBE], input=content, capture_output=True, timeout=600
    )
    return result.returncode < 0  # killed by a signal; a clean refusal is an exception


def tflite_interpreter(content):
    """`(interpreter, runtime)`: LiteRT's default runtime (built-in kernels with the XNNPACK
    delegate), or the built-in kernels alone where XNNPACK fails to prepare the model (it
    rejects some int8 quantization parameters that the built-in kernels accept) or aborts the
    process preparing it (`xnnpack_aborts`, tried for full-integer models)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    builtin = Interpreter(
        model_content=content,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    # The output's dtype is known before any tensor is allocated: an int8 output is a
    # full-integer model. The built-in interpreter is allocated only where it is used.
    full_integer = builtin.get_output_details()[0]["dtype"] == np.int8
    if full_integer and xnnpack_aborts(content):
        builtin.allocate_tensors()
        return builtin, (
            "builtin (XNNPACK aborts the process preparing this int8 model, a LiteRT bug: "
            "run it without the XNNPACK delegate)"
        )
    try:
        with quiet.silenced_stderr():
            interpreter = Interpreter(model_content=content)
            interpreter.allocate_tensors()
        return interpreter, "builtin+xnnpack"
    except RuntimeError as error:
        if "XNNPACK" not in str(error):
            raise
        reason = str(error).strip().splitlines()[0]
    builtin.allocate_tensors()
    return builtin, f"builtin (XNNPACK declined: {reason})"


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
