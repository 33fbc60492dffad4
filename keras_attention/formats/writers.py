"""Export to `.keras`, SavedModel and ONNX (TFLite in `export.tflite`), each checked against the
Keras model; `export_all` writes every format.

Every export runs the exported artefact on a batch of inputs (the SavedModel reloaded with
`tf.saved_model.load`, TFLite through `ai_edge_litert`'s Interpreter, ONNX through
onnxruntime) and reports the largest absolute difference from the Keras model, the file size
and, for TFLite, the op list.

TFLite conversion is restricted to built-in ops: a model that would need the Flex delegate or
a custom op fails with an error naming the op and the layer it comes from.
"""

import contextlib
import logging
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_attention.catalog import EXPORT_KINDS, TFLITE_MODES
from keras_attention.formats.report import (
    ExportReport,
    check_single_output,
    file_size,
    reference_outputs,
)
from keras_attention.formats.tflite import export_tflite
from keras_attention.io import quiet, run_folder
from keras_attention.layers.base import converter_form


def export_keras(model, path, inputs=None):
    """Saves `.keras` and checks that the reloaded model gives the same outputs (on `inputs`,
    or on random inputs of the model's shape)."""
    run_folder.save_model(model, path)
    reloaded = keras.saving.load_model(path)
    if inputs is None:
        shape = [1 if d is None else d for d in model.input_shape[1:]]
        inputs = np.random.default_rng(0).random((2, *shape), dtype="float32")
    diff = np.abs(reference_outputs(reloaded, inputs) - reference_outputs(model, inputs)).max()
    return ExportReport("keras", path, file_size(path), float(diff))


def export_saved_model(model, path, inputs):
    """`model.export` with a `serve` signature; the reloaded SavedModel is checked."""
    check_single_output(model)
    with quiet.silenced_stderr():
        model.export(path, format="tf_saved_model", verbose=False)
    loaded = tf.saved_model.load(path)
    served = loaded.serve(tf.constant(inputs))
    diff = np.abs(np.asarray(served) - reference_outputs(model, inputs)).max()
    return ExportReport("saved_model", path, file_size(path), float(diff))


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
    check_single_output(model)
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
