"""Parameter and multiply-accumulate (MAC) counts of a model, per layer and in total."""

import dataclasses
import math

import keras
import numpy as np

from keras_attention.layers.base import converter_form

# What is counted, in the papers' convention (thop's conv and linear counts):
MACS_COUNTED = (
    "multiply-accumulates of convolutions (output elements x kernel area x input channels / "
    "groups; depthwise: output elements x kernel area) and of Dense layers (output elements x "
    "input units), including those inside attention blocks and each time a layer is applied; "
    "biases, normalisation, activations, pooling and elementwise products are not counted"
)


@dataclasses.dataclass
class LayerProfile:
    """One layer's row of a `Profile`: its name and class, output shape, trainable and total
    parameters, and MACs."""

    name: str
    class_name: str
    output_shape: tuple
    trainable_params: int
    total_params: int
    macs: int


@dataclasses.dataclass
class Profile:
    """Per-layer and total counts; `str(profile)` is a table."""

    model_name: str
    input_shape: tuple
    layers: list
    counted: str = MACS_COUNTED

    @property
    def trainable_params(self):
        return sum(row.trainable_params for row in self.layers)

    @property
    def total_params(self):
        return sum(row.total_params for row in self.layers)

    @property
    def macs(self):
        return sum(row.macs for row in self.layers)

    def to_dict(self):
        return {
            "model": self.model_name,
            "input_shape": list(self.input_shape),
            "trainable_params": self.trainable_params,
            "total_params": self.total_params,
            "macs": self.macs,
            "counted": self.counted,
            "layers": [dataclasses.asdict(row) for row in self.layers],
        }

    def __str__(self):
        header = f"{'layer':<40} {'class':<24} {'output':<22} {'trainable':>11} {'MACs':>15}"
        lines = [f"{self.model_name}, input {self.input_shape}", header, "-" * len(header)]
        for row in self.layers:
            if row.total_params or row.macs:
                lines.append(
                    f"{row.name[:40]:<40} {row.class_name[:24]:<24} "
                    f"{str(row.output_shape)[:22]:<22} {row.trainable_params:>11,} {row.macs:>15,}"
                )
        lines.append("-" * len(header))
        lines.append(
            f"trainable parameters {self.trainable_params:,}; all parameters "
            f"{self.total_params:,}; MACs {self.macs:,} ({self.macs / 1e9:.3f} G)"
        )
        lines.append(f"MACs count {self.counted}.")
        return "\n".join(lines)


_COUNTED_LAYERS = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.Dense,
)


def _layer_macs(layer, output_shape):
    outputs = math.prod(output_shape[1:])
    kernel = tuple(layer.kernel.shape)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return outputs * math.prod(kernel[:-2])
    if isinstance(layer, keras.layers.Dense):
        return outputs * kernel[0]
    return outputs * math.prod(kernel[:-1])  # Conv: (kh, kw, in / groups, out)


def _count(weights):
    return sum(math.prod(w.shape) for w in weights)


def profile(model, input_shape=None):
    """Counts the parameters and MACs of `model` for one input of `input_shape`.

    Args:
        model: a built Keras model.
        input_shape: input shape without batch; defaults to the model's (needed when the
            model's spatial sizes are unknown).

    Returns:
        A `Profile` with one row per top-level layer (a nested layer's counts go to the
        top-level layer that holds it) and totals; print it for a table.

    Example:

    >>> p = profile(keras_attention.models.resnet(50))
    >>> p.trainable_params, round(p.macs / 1e9, 2)
    (25557032, 3.86)
    """
    shape = tuple(input_shape or model.input_shape[1:])
    if any(d is None for d in shape):
        raise ValueError(
            f"profile: model '{model.name}' has input shape {model.input_shape}; give a fully "
            "defined input_shape (without batch) to count MACs."
        )
    owners, countable = {}, []
    for top in model.layers:
        for layer in top._flatten_layers(include_self=True):
            owners[id(layer)] = top.name
            if isinstance(layer, _COUNTED_LAYERS):
                countable.append(layer)
    macs = {top.name: 0 for top in model.layers}

    def recording(layer):
        original = layer.call

        def call(*args, **kwargs):
            outputs = original(*args, **kwargs)
            macs[owners[id(layer)]] += _layer_macs(layer, tuple(outputs.shape))
            return outputs

        return call

    for layer in countable:
        layer.call = recording(layer)
    try:
        # In the converters' form every sublayer runs as itself (TensorFlow's form folds some
        # into a neighbour's arithmetic or into one matmul), so each is counted.
        with converter_form():
            model(np.zeros((1, *shape), "float32"), training=False)
    finally:
        for layer in countable:
            del layer.call
    rows = []
    for top in model.layers:
        rows.append(
            LayerProfile(
                name=top.name,
                class_name=type(top).__name__,
                output_shape=_output_shape(top),
                trainable_params=_count(top.trainable_weights),
                total_params=_count(top.weights),
                macs=macs[top.name],
            )
        )
    return Profile(model.name, shape, rows)


def _output_shape(layer):
    output = layer._inbound_nodes[0].outputs if layer._inbound_nodes else []
    shapes = [tuple(o.shape) for o in output]
    return shapes[0] if len(shapes) == 1 else tuple(shapes)
