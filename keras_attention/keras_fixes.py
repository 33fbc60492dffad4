"""A correction to Keras' TensorFlow backend, installed when `keras_attention` is imported
with a Keras version that has the bug (`AFFECTED`: 3.15.1, the newest release, and before).

Keras (3.15.1, the newest release) on TensorFlow turns `ops.add(x, b)` into
`tf.nn.bias_add` whenever `b` has a single non-unit axis, and picks the "NHWC" layout whenever
`x`'s last axis has `b`'s length, even when `b` was shaped `(1, C, 1, 1)` to be added along
axis 1. A `channels_first` `Conv2D` adds its bias exactly so; when the feature map's width
equals the number of filters, the bias is added along the width instead of the channels.

- Eager TensorFlow gives a wrong answer.
- So does a TFLite file converted from the model: the `BiasAdd` is converted as written. This
  was the channels_first TFLite mismatch; its size is the bias' spread over the channels, so a
  small trained bias gives a small error (1.6e-3 to 8.8e-3 were reported).
- Graph-mode TensorFlow (`fit`, `predict`) happens to be right: on the CPU, Grappler fuses the
  `BiasAdd` into the NCHW convolution, which adds the bias along the channels.

The correction hands exactly the cases Keras gets wrong to `tf.add`, which broadcasts as
written. Every other call goes to Keras' own `add` unchanged, including its `BiasAdd` fast
path. It must be a patch of Keras' function, because the wrong `add` is inside Keras' own
layers.
"""

import keras

# The Keras releases whose TensorFlow `add` misplaces a (1, C, 1, 1) bias. A later release is
# left alone; tests/test_bad_inputs.py probes the installed Keras and checks that the
# correction is installed exactly when the bug is there.
AFFECTED = ((3, 0, 0), (3, 15, 1))


def version_tuple(version):
    """A version string as three integers (`"3.15.1"` -> `(3, 15, 1)`; the digits of each part,
    missing parts 0)."""
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts + [0] * (3 - len(parts)))


def affected(version=None):
    """Whether Keras `version` (default the installed one) is one with the bug."""
    low, high = AFFECTED
    return low <= version_tuple(version or keras.__version__) <= high


def bias_axis(x_shape, bias_shape):
    """`(axis, length)`: the axis of `x` along which a bias-like `bias` (a single non-unit
    axis of known length, rank >= 2) is added, and that length; None for other shapes."""
    if len(bias_shape) < 2 or len(x_shape) < len(bias_shape):
        return None
    long_axes = [i for i, size in enumerate(bias_shape) if size is None or size > 1]
    if len(long_axes) != 1 or bias_shape[long_axes[0]] is None:
        return None
    return len(x_shape) - len(bias_shape) + long_axes[0], bias_shape[long_axes[0]]


def keras_misplaces_bias(x_shape, bias_shape):
    """Whether Keras' TensorFlow `add(x, bias)` would add `bias` along the wrong axis of `x`.

    Keras adds a bias along the last axis ("NHWC") when `x`'s last axis has the bias' length,
    otherwise along axis 1 ("NCHW"); it is right only when that is the bias' own axis.
    """
    found = bias_axis(x_shape, bias_shape)
    if found is None or found[0] == len(x_shape) - 1:
        return False
    axis, size = found
    if axis == 1:
        return x_shape[-1] == size
    return size in (x_shape[1], x_shape[-1])


def install():
    """Replaces Keras' TensorFlow `add` with the corrected one (once; TensorFlow backend and
    affected Keras versions only)."""
    if keras.backend.backend() != "tensorflow" or not affected():
        return
    try:
        from keras.src.backend.tensorflow import numpy as tf_numpy

        keras_add = tf_numpy.add
    except (ImportError, AttributeError):
        # A Keras that moved its private add: nothing to correct here, and the tests on
        # channels_first biases (tests/test_bad_inputs.py) say whether it still needs it.
        return
    if getattr(keras_add, "corrected_by_keras_attention", False):
        return
    import tensorflow as tf

    def add(x1, x2):
        shape1, shape2 = getattr(x1, "shape", None), getattr(x2, "shape", None)
        if shape1 is None or shape2 is None:
            return keras_add(x1, x2)
        if not keras_misplaces_bias(tuple(shape1), tuple(shape2)):
            return keras_add(x1, x2)
        dtype = keras.backend.result_type(x1.dtype, x2.dtype)
        convert = keras.ops.convert_to_tensor
        return tf.add(convert(x1, dtype), convert(x2, dtype))

    add.corrected_by_keras_attention = True
    add.keras_add = keras_add  # Keras' own, for the test that probes the bug
    add.__doc__ = keras_add.__doc__
    tf_numpy.add = add
