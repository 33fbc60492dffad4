"""The deployable formats of a Keras model: `.keras`, SavedModel and ONNX (`writers`), TFLite in
every mode with its interpreter, XNNPACK partitions and the full-int8 quantization report
(`tflite`), each written file checked against the Keras model's outputs (`report`).

Floor 4: imports floors 0 to 3 (`catalog`, `io`, `layers`) and TensorFlow; knows nothing of
runs, so that both `training` (a run's TFLite model) and `export` (a run's every format) use it.
"""
