"""Optimizers with the papers' semantics: weight decay coupled to the gradient (PyTorch's
`weight_decay`, TF-slim's L2 regulariser), PyTorch's SGD momentum and TF1's RMSProp.

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
            # convert_to_tensor, not cast: TensorFlow would round a Python float to float32.
            decay = self.coupled_weight_decay
            grads = [
                g
                if g is None or not _decays(v, self.decay_scope)
                else g + ops.convert_to_tensor(decay, g.dtype) * ops.cast(v, g.dtype)
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
class TorchSGD(CoupledWeightDecay, keras.optimizers.SGD):
    """SGD with `torch.optim.SGD`'s semantics, for the recipes ported from PyTorch code.

    The momentum buffer holds gradients and the current learning rate multiplies the step:
    `g = grad + wd * w` (coupled weight decay), `b = momentum * b + g` (`b = g` at the first
    step), `d = g + momentum * b` with Nesterov or `d = b` without, `w -= lr_t * d`.

    Keras' SGD (and `keras_attention.optimizers.SGD`) keeps `v = momentum * v - lr * g`: the
    rate is folded into the buffer, so the two agree only while the rate is constant. During
    a warm-up Keras' steps are smaller than PyTorch's, and after a drop they stay several times
    larger for tens of steps, because the buffer still carries the old rate. Written here
    because Keras has no optimizer with PyTorch's buffer (dampening is 0, as PyTorch's default).

    Args:
        learning_rate: a float or a `LearningRateSchedule` (called with the step).
        momentum: PyTorch's `momentum` (0.9 in the recipes).
        nesterov: Nesterov momentum as PyTorch computes it.
        coupled_weight_decay: PyTorch's `weight_decay`, added to the gradient.
        decay_scope: `"all"` trainable variables (PyTorch's default) or `"kernels"`.
        **kwargs: the base optimizer's arguments (`use_ema`, `clipnorm`, ...).

    Example:

    >>> optimizer = TorchSGD(0.1, momentum=0.9, nesterov=True, coupled_weight_decay=5e-4)
    >>> optimizer.momentum
    0.9
    """

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, ops.multiply(gradient, learning_rate))
            return
        # convert_to_tensor, not cast: TensorFlow would round a Python float to float32 first.
        momentum = ops.convert_to_tensor(self.momentum, variable.dtype)
        buffer = self.momentums[self._get_variable_index(variable)]
        # The buffer starts at 0, so the first step gives b = g, as PyTorch's first step.
        self.assign(buffer, ops.add(ops.multiply(buffer, momentum), gradient))
        step = ops.add(gradient, ops.multiply(buffer, momentum)) if self.nesterov else buffer
        self.assign_sub(variable, ops.multiply(step, learning_rate))


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
