import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_attention")
class ResultContext(keras.layers.Layer):
    """Turns an auxiliary classifier's logits into the context an SE-R block receives.

    The SE-R paper leaves open whether the result T is given as logits or as probabilities and
    whether gradients flow back through it; both are options here.

    Args:
        activation: `"logits"` (T as is, the default) or `"softmax"`.
        stop_gradient: if True, the attention does not train the auxiliary classifier.

    Call arguments:
        inputs: `(batch, n)` logits.

    Example:

    >>> ResultContext("softmax")(np.zeros((1, 4), "float32")).numpy()
    array([[0.25, 0.25, 0.25, 0.25]], dtype=float32)
    """

    def __init__(self, activation="logits", stop_gradient=False, **kwargs):
        super().__init__(**kwargs)
        if activation not in ("logits", "softmax"):
            raise ValueError(
                f"ResultContext layer '{self.name}': activation must be 'logits' or "
                f"'softmax', got {activation!r}."
            )
        self.activation = activation
        self.stop_gradient = bool(stop_gradient)

    def call(self, inputs):
        x = ops.softmax(inputs, axis=-1) if self.activation == "softmax" else inputs
        return ops.stop_gradient(x) if self.stop_gradient else x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"activation": self.activation, "stop_gradient": self.stop_gradient})
        return config
