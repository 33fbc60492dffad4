import keras
from keras import ops

from keras_attention.layers.base import AttentionBlock, check_number, layer_label
from keras_attention.layers.pooling import GlobalPooling, global_pool


@keras.saving.register_keras_serializable(package="keras_attention")
class SPEM(AttentionBlock):
    """Self-adaptive Pooling Enhanced attention Module (SPEM).

    With per-channel weights `w1, b1, w2, b2` (initial 0, -1, 0, -1) and the mix pooling's
    2-vector `p` (initial 0.5, 0.5):

    - `f_max`, `f_min`: global max and min pools of `x`;
    - reweight: `r_max = w2 * f_max + b2`, `r_min = w2 * f_min + b2`;
    - self-adaptive pooling: `lambda = p1^2 / (p1^2 + p2^2)`,
      `mix = lambda * r_max + (1 - lambda) * r_min`;
    - excitation: `e = w1 * mix + b1`;
    - `A = sigmoid(r_max + r_min) * sigmoid(e)` and `y = A * x`.

    The block adds `alpha * (p1^2 + p2^2)` to the model's losses (`add_loss`), so the training
    loss is `task loss + alpha * sum over SPEM blocks of (p1^2 + p2^2)`. It has `4C + 2`
    parameters; at initialisation `A = sigmoid(-2) * sigmoid(-1)` everywhere.

    Args:
        alpha: penalty coefficient on `p` (0.1 in the paper); 0 disables the penalty.
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.

    Example:

    >>> x = np.random.rand(2, 8, 8, 16).astype("float32")
    >>> layer = SPEM()
    >>> layer(x).shape
    (2, 8, 8, 16)
    >>> len(layer.losses)
    1
    """

    def __init__(self, alpha=0.1, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.alpha = float(check_number(layer_label(self), "alpha", alpha, low=0.0))
        self.pooling = GlobalPooling(
            "mix",
            mix_penalty=self.alpha,
            data_format=self.data_format,
            dtype=self.statistics_policy(),
            name="mix_pooling",
        )

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        for name, initial in (("w1", 0.0), ("b1", -1.0), ("w2", 0.0), ("b2", -1.0)):
            setattr(
                self,
                name,
                self.add_weight(
                    name=name,
                    shape=(channels,),
                    initializer=keras.initializers.Constant(initial),
                ),
            )
        self.pooling.build_mix()

    def compute_attention(self, x, training=None):
        stats = self.statistics_input(x)
        reweight_max = self.w2 * global_pool(stats, "max", self.data_format) + self.b2
        reweight_min = self.w2 * global_pool(stats, "min", self.data_format) + self.b2
        excitation = self.w1 * self.pooling.mix(reweight_max, reweight_min) + self.b1
        return {"channel": ops.sigmoid(reweight_max + reweight_min) * ops.sigmoid(excitation)}

    def gate(self, maps):
        return self.channel_map(maps["channel"])

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha})
        return config
