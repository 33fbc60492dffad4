"""A trained run, exported and used: `export_run` writes a run's model, with its preprocessing
in front, in every format (`.keras`, SavedModel, TFLite, ONNX) and scores each on the run's test
set (`run_export`); `load_run` gives a finished run to predict and evaluate with (`runs`).

Floor 6: imports floors 0 to 5 (`training` for a run's description and data, `formats` for the
files), never `cli`. This package also gives the names of the flat layout's
`keras_attention.export` module, from `formats` and `run_export`.
"""

# ruff: noqa: F401 - the names below are this package's interface

from keras_attention.catalog import EXPORT_KINDS, TFLITE_MODES
from keras_attention.export.run_export import (
    TOLERANCE_POINTS,
    DegradedFormatError,
    export_run,
    serving_model,
)
from keras_attention.formats.report import ExportReport, reference_outputs
from keras_attention.formats.tflite import (
    TFLITE_RESIZES,
    UnsupportedOpError,
    batch1_interpreter,
    convert_tflite,
    export_tflite,
    float32_copy,
    quantization_report,
    run_tflite,
    tflite_interpreter,
    tflite_ops,
    xnnpack_aborts,
    xnnpack_partitions,
)
from keras_attention.formats.writers import (
    export_all,
    export_keras,
    export_onnx,
    export_saved_model,
    onnx_session,
    run_onnx,
)
