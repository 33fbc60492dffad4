"""One exported format's check (`ExportReport`) and the Keras model's outputs it is checked
against.
"""

import dataclasses
import os

import keras
import numpy as np


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


def file_size(path):
    """The size in bytes of a file, or of every file in a folder (a SavedModel)."""
    if os.path.isdir(path):
        return sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, names in os.walk(path)
            for name in names
        )
    return os.path.getsize(path)


def check_single_output(model):
    """Raises `ValueError` for a model with more than one output: an exported model gives one
    tensor."""
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
