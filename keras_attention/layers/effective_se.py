import keras
from keras import ops

from keras_attention.layers.base import AttentionBlock, layer_label
from keras_attention.layers.context import ContextInput, context_width, with_context
from keras_attention.layers.pooling import GlobalPooling, check_pooling_mode


@keras.saving.register_keras_serializable(package="keras_attention")
class EffectiveSE(ContextInput, AttentionBlock):
    """Effective Squeeze-Excitation (Lee and Park, CenterMask, 2020; timm's `ese`).

    `y = x * hard_sigmoid(W pool(x) + b)`: one fully connected `C -> C` layer with bias (no
    reduction, so no channel information is lost) and timm's hard sigmoid
    `relu6(v + 3) / 6`. `C^2 + C` parameters. timm: `EffectiveSEModule`
    (timm/layers/squeeze_excite.py); its `add_maxpool=True` is `pooling="avgmax"`.

    Args:
        pooling: `"avg"` (timm's default), `"avgmax"` (timm's `add_maxpool`), or any mode of
            `GlobalPooling`.
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        context: optional `(batch, n)` tensor (an auxiliary classifier's result, as SE-R),
            concatenated to the pooled vector before the fully connected layer.

    Example:

    >>> x = np.random.rand(2, 8, 8, 32).astype("float32")
    >>> EffectiveSE()(x).shape
    (2, 8, 8, 32)
    """

    def __init__(self, pooling="avg", data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.pooling = check_pooling_mode(pooling, layer_label(self))
        self.pool = GlobalPooling(
            pooling, data_format=self.data_format, dtype=self.statistics_policy(), name="pool"
        )
        self.context_units = 0

    def build(self, inputs_shape, context_shape=None):
        channels = self.input_channels(inputs_shape)
        self.context_units = context_width(self, inputs_shape, context_shape)
        self.pool.build(inputs_shape)
        self.fc = keras.layers.Dense(channels, dtype=self.statistics_policy(), name="fc")
        self.fc.build((None, channels + self.context_units))

    def compute_attention(self, x, training=None, context=None):
        z = with_context(self, x, self.pool(self.statistics_input(x)), context)
        return {"channel": ops.hard_sigmoid(self.fc(z))}

    def gate(self, maps):
        return self.channel_map(maps["channel"])

    def get_config(self):
        config = super().get_config()
        config.update({"pooling": self.pooling})
        return config
