"""Optimizers with the papers' semantics: weight decay coupled to the gradient (PyTorch's
`weight_decay`, TF-slim's L2 regulariser) and TF1's RMSProp.

Keras 3's `weight_decay=` is decoupled (AdamW-style: `w -= lr * wd * w` outside the momentum).
The papers' recipes add `wd * w` to the gradient before momentum, which with SGD at lr 0.1 gives
different trajectories, so the recipes use these classes instead.
"""

import keras
from keras import ops

DECAY_SCOPES = ("all", "kernels")


def _decays(variable, scope):
    """`all`: every trainable variable (PyTorch's default param group). `kernels`: convolution
    and Dense kernels but not depthwise ones (TF-slim's MobileNet training scope)."""
    if scope == "all":
        return True
    return len(variable.shape) >= 2 and "depthwise" not in variable.path


class CoupledWeightDecay:
    """Mixin: adds `coupled_weight_decay * w` to each gradient before the update."""

    def __init__(self, *args, coupled_weight_decay=0.0, decay_scope="all", **kwargs):
        super().__init__(*args, **kwargs)
        if decay_scope not in DECAY_SCOPES:
            raise ValueError(f"decay_scope must be one of {DECAY_SCOPES}, got {decay_scope!r}.")
        self.coupled_weight_decay = float(coupled_weight_decay)
        self.decay_scope = decay_scope

    def apply(self, grads, trainable_variables=None):
        if self.coupled_weight_decay:
            variables = (
                trainable_variables
                if trainable_variables is not None
                else self._trainable_variables
            )
            grads = [
                g
                if g is None or not _decays(v, self.decay_scope)
                else g + ops.cast(self.coupled_weight_decay, g.dtype) * ops.cast(v, g.dtype)
                for g, v in zip(grads, variables, strict=True)
            ]
        return super().apply(grads, trainable_variables)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"coupled_weight_decay": self.coupled_weight_decay, "decay_scope": self.decay_scope}
        )
        return config


@keras.saving.register_keras_serializable(package="keras_attention")
class SGD(CoupledWeightDecay, keras.optimizers.SGD):
    """`keras.optimizers.SGD` with PyTorch's coupled weight decay (`coupled_weight_decay`).

    With momentum m and Nesterov off, one step is `b = m * b + (g + wd * w)`, `w -= lr * b`
    (Keras' velocity is `-lr * b`, the same update while the learning rate is constant).
    """


@keras.saving.register_keras_serializable(package="keras_attention")
class RMSprop(CoupledWeightDecay, keras.optimizers.RMSprop):
    """RMSProp as TF1's `tf.train.RMSPropOptimizer`, which the official MobileNetV2 recipe
    (TF-slim) uses: the mean square starts at 1 (Keras starts it at 0) and epsilon sits
    inside the square root, `mom = momentum * mom + lr * g / sqrt(ms + epsilon)`, `w -= mom`.
    With the recipe's epsilon of 1.0 the starting value changes the first updates a lot.
    """

    def __init__(self, *args, initial_mean_square=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial_mean_square = float(initial_mean_square)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        for velocity in self._velocities:
            velocity.assign(ops.full(velocity.shape, self.initial_mean_square, velocity.dtype))

    def get_config(self):
        config = super().get_config()
        config.update({"initial_mean_square": self.initial_mean_square})
        return config
