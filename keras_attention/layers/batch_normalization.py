"""BatchNormalization with PyTorch's training semantics, and the `batchnorm=` choice.

Models meant for the recipes ported from PyTorch code (the SPEM, SE-R and SSA papers) train as
the authors' `torch.nn.BatchNorm2d` does. It normalises a training batch with the biased batch
variance, as Keras does, but updates its running variance with the unbiased one
(`n / (n - 1)` times the biased, `n` the values per channel in the batch). Keras updates it with
the biased variance, so every inference-mode output of a network trained with a PyTorch recipe
would differ: by 0.4% at n = 256, by a third over a batch of 4 (SRM's BatchNorm over pooled
statistics).
"""

import keras
from keras import ops

from keras_attention.layers.base import add_channel_bias, layer_label, runs_as_itself

BATCHNORM_KINDS = ("keras", "torch")
"""The `batchnorm=` choices: Keras' BatchNormalization, or PyTorch's training semantics
(`TorchBatchNormalization`: the running variance updated with the unbiased batch variance)."""


def check_batchnorm(kind, owner):
    if kind not in BATCHNORM_KINDS:
        raise ValueError(
            f"{owner}: batchnorm must be one of {BATCHNORM_KINDS} (the moving-variance update of "
            f"Keras or of PyTorch), got {kind!r}."
        )
    return kind


@keras.saving.register_keras_serializable(package="keras_attention")
class TorchBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose moving variance is updated as PyTorch's.

    In training mode the batch is normalised with the batch mean and the biased batch variance
    (as in Keras and PyTorch); the moving statistics become
    `moving_mean = momentum * moving_mean + (1 - momentum) * mean` and
    `moving_variance = momentum * moving_variance + (1 - momentum) * variance * n / (n - 1)`,
    where `n` is the number of values per channel in the batch (batch times spatial size).
    Keras' `momentum` is PyTorch's `1 - momentum`; the defaults (0.9, epsilon 1e-5) are
    PyTorch's defaults (momentum 0.1, eps 1e-5).

    Written here because Keras' layer has no option for the unbiased update; only the
    training-mode statistics differ from Keras' `call`, inference is Keras' own. Masks and
    batch renormalisation are not part of PyTorch's BatchNorm and are refused.

    Args:
        axis: the channel axis.
        momentum: moving-average momentum in Keras' convention (PyTorch's 0.1 is 0.9).
        epsilon: added to the variance (PyTorch's 1e-5).
        **kwargs: the other arguments of `keras.layers.BatchNormalization`.

    Call arguments:
        inputs: any tensor with the channel axis `axis`.
        training: whether to normalise with batch statistics and update the moving ones.

    Example:

    >>> layer = TorchBatchNormalization()
    >>> x = np.array([[0.0], [2.0]], "float32")
    >>> _ = layer(x, training=True)
    >>> float(layer.moving_variance[0])  # 0.9 * 1 + 0.1 * (unbiased variance 2)
    1.1
    """

    def __init__(self, axis=-1, momentum=0.9, epsilon=1e-5, **kwargs):
        if kwargs.get("renorm"):
            raise ValueError(
                "TorchBatchNormalization: renorm=True is not part of PyTorch's BatchNorm; use "
                "keras.layers.BatchNormalization for batch renormalisation."
            )
        super().__init__(axis=axis, momentum=momentum, epsilon=epsilon, **kwargs)

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            raise ValueError(f"{layer_label(self)} does not take a mask (PyTorch's BatchNorm).")
        if not (training and self.trainable):
            return super().call(inputs, training=training)
        x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        mean, variance = self._moments(x, None)
        shape = ops.shape(x)
        count = 1
        for axis in range(len(x.shape)):
            if axis != self.axis % len(x.shape):
                count = count * shape[axis]
        count = ops.cast(count, x.dtype)
        # One value per channel has no unbiased variance; PyTorch refuses such a batch, and
        # here its biased variance (0) is used.
        unbiased = variance * count / ops.maximum(count - 1.0, 1.0)
        momentum = self.momentum
        self.moving_mean.assign(
            ops.cast(self.moving_mean, x.dtype) * momentum + mean * (1.0 - momentum)
        )
        self.moving_variance.assign(
            ops.cast(self.moving_variance, x.dtype) * momentum + unbiased * (1.0 - momentum)
        )
        outputs = ops.batch_normalization(
            x,
            mean,
            variance,
            axis=self.axis,
            offset=ops.cast(self.beta, x.dtype) if self.center else None,
            scale=ops.cast(self.gamma, x.dtype) if self.scale else None,
            epsilon=self.epsilon,
        )
        return ops.cast(outputs, self.compute_dtype)


def batch_normalization(kind="keras", **kwargs):
    """A BatchNormalization layer of the given kind: `"keras"` (Keras' own) or `"torch"`
    (`TorchBatchNormalization`, PyTorch's moving-variance update)."""
    check_batchnorm(kind, "batch_normalization")
    layer_class = TorchBatchNormalization if kind == "torch" else keras.layers.BatchNormalization
    return layer_class(**kwargs)


def block_norm(block, name, axis=None, momentum=0.9, epsilon=1e-5):
    """An attention block's own BatchNormalization: of the block's kind (`block.batchnorm`),
    in its statistics dtype, over its channel axis (or `axis`), with PyTorch's epsilon and
    momentum (Keras' 0.9 is PyTorch's 0.1) unless the block's reference says otherwise."""
    return batch_normalization(
        block.batchnorm,
        axis=block.channel_axis if axis is None else axis,
        epsilon=epsilon,
        momentum=momentum,
        dtype=block.statistics_policy(),
        name=name,
    )


def inference_affine(norm, dtype="float32"):
    """`(factor, shift)` of a BatchNormalization in inference: `norm(v) = v * factor + shift`
    per channel (gamma and beta where the layer has them), computed in the layer's variable
    dtype (as Keras' BatchNormalization computes a float16 input in float32) and given in
    `dtype`."""
    variables = norm.variable_dtype
    factor = ops.rsqrt(ops.cast(norm.moving_variance, variables) + norm.epsilon)
    if norm.scale:
        factor = ops.cast(norm.gamma, variables) * factor
    shift = -ops.cast(norm.moving_mean, variables) * factor
    if norm.center:
        shift = shift + ops.cast(norm.beta, variables)
    return ops.cast(factor, dtype), ops.cast(shift, dtype)


def conv_then_norm(conv, norm, x, training=None, dilation=1):
    """`norm(conv(x))` for a `Conv2D` (stride 1, "same" padding, `dilation`) followed by a
    BatchNormalization over its output channels. In inference, outside a converter's trace, the
    BatchNormalization is an affine map per channel and is folded into the convolution's
    kernel and bias (the same values up to rounding): one pass over the convolution's output
    instead of three (Keras' BatchNormalization is a product and a sum; the bias, a sum).
    TFLite's converter folds it itself; the layers run as such there and wherever
    `runs_as_itself` says so."""
    if training or runs_as_itself(conv, x):
        return norm(conv(x), training=training)
    kernel, shift = _folded(conv, norm, x.dtype)
    outputs = ops.conv(
        x,
        kernel,
        padding="same",
        dilation_rate=dilation,
        data_format=conv.data_format,
    )
    return add_channel_bias(outputs, shift, conv.data_format)


def conv_then_norm_by_part(conv, norm, parts, data_format):
    """`norm(conv(concatenate(parts)))` in inference, for a `Conv2D` (stride 1, "same"
    padding) over one-channel `parts` followed by its BatchNormalization, as a sum of one
    convolution per part, the normalisation folded into their kernels and the first one's bias:
    the same values. For a full-integer converter's trace: there a concatenation gives its
    inputs one int8 scale (and REDUCE_MAX keeps its input's), so a narrow map is rounded on a
    wide one's scale; separate convolutions give each part its own (CBAM's spatial gate,
    triplet attention's branches)."""
    kernel, shift = _folded(conv, norm, parts[0].dtype)
    terms = [
        ops.conv(part, kernel[:, :, i : i + 1, :], padding="same", data_format=data_format)
        for i, part in enumerate(parts)
    ]
    return add_channel_bias(sum(terms[1:], terms[0]), shift, data_format)


def _folded(conv, norm, dtype):
    """`(kernel, bias)` of the convolution that `norm(conv(.))` is in inference, folded in the
    BatchNormalization's variable dtype and given in `dtype`."""
    factor, shift = inference_affine(norm, norm.variable_dtype)
    if conv.use_bias:
        shift = shift + ops.cast(conv.bias, factor.dtype) * factor
    kernel = ops.cast(conv.kernel, factor.dtype) * factor
    return ops.cast(kernel, dtype), ops.cast(shift, dtype)
