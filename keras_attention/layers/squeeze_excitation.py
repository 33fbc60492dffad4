import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_integer,
    layer_label,
    make_divisible,
    tracing_for_converter,
)
from keras_attention.layers.context import ContextInput, context_width, with_context
from keras_attention.layers.pooling import GlobalPooling, check_pooling_mode

GATES = ("sigmoid", "hard_sigmoid")


@keras.saving.register_keras_serializable(package="keras_attention")
class SqueezeExcitation(ContextInput, AttentionBlock):
    """Squeeze-and-Excitation block (Hu et al., 2018), optionally fed a context vector (SE-R).

    `z = pool(x)`, `s = sigmoid(W2 relu(W1 z + b1) + b2)`, output `s * x` per channel, with
    `W1: C -> C / reduction` and `W2: C / reduction -> C`. The gate (`hard_sigmoid`:
    `relu6(v + 3) / 6`) and the hidden activation are options, as in timm's `SEModule`.

    With a context input `t` of shape `(batch, n)` (the SE-R block, where `t` is an auxiliary
    classifier's result), `t` is concatenated to the squeeze vector before the first layer:
    `s = sigmoid(W2 relu(W1 [z; t] + b1) + b2)`, so `W1` has `C + n` inputs.

    With several pooling modes (CBAM's channel attention uses `("avg", "max")`), the shared MLP
    is applied to each pooled vector and the results are summed before the sigmoid.

    Args:
        reduction: reduction ratio r of the hidden layer (`C // r` units, at least 1).
        use_bias: whether both fully connected layers have biases.
        pooling: a pooling mode (`"avg"`, `"max"`, `"min"`, `"mix"`) or a tuple of modes.
        hidden_units: number of hidden units; overrides `reduction` when given.
        rd_divisor: round the hidden width `C / reduction` to the nearest multiple of this
            (at least one multiple), as timm does (its SE-ResNets use 8); None keeps
            `C // reduction` (the SE paper's code).
        activation: the hidden layer's activation (a Keras activation name).
        gate: `"sigmoid"` or `"hard_sigmoid"`.
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        context: optional `(batch, n)` tensor concatenated to the squeeze vector. A layer
            built with a context must always be called with one of the same size.

    Example:

    >>> x = keras.Input((32, 32, 64))
    >>> t = keras.Input((10,))
    >>> y = SqueezeExcitation(reduction=8)(x, context=t)
    >>> y.shape
    (None, 32, 32, 64)
    """

    def __init__(
        self,
        reduction=16,
        use_bias=True,
        pooling="avg",
        hidden_units=None,
        rd_divisor=None,
        activation="relu",
        gate="sigmoid",
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        modes = (pooling,) if isinstance(pooling, str) else tuple(pooling)
        if not modes:
            raise ValueError(f"{layer_label(self)}: pooling needs at least one mode.")
        for mode in modes:
            check_pooling_mode(mode, layer_label(self))
        check_integer(layer_label(self), "reduction", reduction)
        check_integer(layer_label(self), "hidden_units", hidden_units, allow_none=True)
        check_integer(layer_label(self), "rd_divisor", rd_divisor, allow_none=True)
        if gate not in GATES:
            raise ValueError(f"{layer_label(self)}: gate must be one of {GATES}, got {gate!r}.")
        try:
            keras.activations.get(activation)
        except ValueError as error:
            raise ValueError(
                f"{layer_label(self)}: unknown activation {activation!r} ({error})"
            ) from None
        self.rd_divisor = rd_divisor
        self.activation = activation
        self.gate_name = gate
        self.reduction = reduction
        self.use_bias = bool(use_bias)
        self.pooling = modes[0] if len(modes) == 1 else modes
        self.hidden_units = hidden_units
        self.context_units = 0
        self.pools = [
            GlobalPooling(
                mode,
                data_format=self.data_format,
                dtype=self.statistics_policy(),
                name=f"pool_{mode}",
            )
            for mode in modes
        ]

    def build(self, inputs_shape, context_shape=None):
        channels = self.input_channels(inputs_shape)
        self.context_units = context_width(self, inputs_shape, context_shape)
        if self.hidden_units:
            hidden = self.hidden_units
        elif self.rd_divisor:
            hidden = make_divisible(channels / self.reduction, self.rd_divisor)
        else:
            hidden = max(1, channels // self.reduction)
        policy = self.statistics_policy()
        for pool in self.pools:
            pool.build(inputs_shape)
        self.squeeze = keras.layers.Dense(
            hidden, activation=self.activation, use_bias=self.use_bias, dtype=policy, name="squeeze"
        )
        self.squeeze.build((None, channels + self.context_units))
        self.excite = keras.layers.Dense(
            channels, use_bias=self.use_bias, dtype=policy, name="excite"
        )
        self.excite.build((None, hidden))

    def channel_weights(self, x, context=None):
        """The `(batch, channels)` sigmoid gate for feature map `x` (in statistics dtype)."""
        stats = self.statistics_input(x)
        pooled = [with_context(self, x, pool(stats), context) for pool in self.pools]
        if len(pooled) > 1 and not tracing_for_converter():
            # The shared MLP once on the pooled vectors stacked along the batch: its weights
            # are read once (megabytes on a late stage), where a call per mode reads them
            # again. (Converters get a call per mode: the split by a run-time batch size
            # brings SHAPE ops, which split XNNPACK's graph.)
            stacked = self.excite(self.squeeze(ops.concatenate(pooled, axis=0)))
            batch = ops.shape(stats)[0]
            per_mode = [stacked[i * batch : (i + 1) * batch] for i in range(len(pooled))]
        else:
            per_mode = [self.excite(self.squeeze(z)) for z in pooled]
        logits = per_mode[0]
        for z in per_mode[1:]:
            logits = logits + z
        if self.gate_name == "hard_sigmoid":
            # relu6(v + 3) / 6, PyTorch's Hardsigmoid (Keras' hard_sigmoid is the same).
            return ops.hard_sigmoid(logits)
        return ops.sigmoid(logits)

    def compute_attention(self, inputs, training=None, context=None):
        return {"channel": self.channel_weights(inputs, context)}

    def gate(self, maps):
        return self.channel_map(maps["channel"])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "reduction": self.reduction,
                "use_bias": self.use_bias,
                "pooling": self.pooling,
                "hidden_units": self.hidden_units,
                "rd_divisor": self.rd_divisor,
                "activation": self.activation,
                "gate": self.gate_name,
            }
        )
        return config
