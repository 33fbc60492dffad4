import keras

from keras_attention.layers.pooling import GlobalPooling
from keras_attention.layers.squeeze_excitation import SqueezeExcitation


@keras.saving.register_keras_serializable(package="keras_attention")
class FcaNet(SqueezeExcitation):
    """Frequency channel attention (Qin et al., FcaNet, 2021): SE whose squeeze is FcaNet's
    multi-spectral DCT pooling.

    `z = dct_pool(x)` (`GlobalPooling("dct")`: 16 channel groups, each summed with the weights
    of one of the 'top16' DCT frequencies, after average pooling to the DCT size), then
    `y = x * sigmoid(W2 relu(W1 z))` with `W1: C -> C / 16`, `W2: C / 16 -> C`, no biases:
    `C^2 / 8` parameters (cfzd/FcaNet model/layer.py). Any other block takes the same pooling
    with `pooling="dct"`. Takes `context=` as SE does (SE-R).

    Args:
        reduction: reduction ratio of the hidden layer (16).
        dct_size: the DCT grid, an int or `(height, width)`; None: FcaNet's choice from the
            channels (256: 56, 512: 28, 1024: 14, 2048: 7, else 7).
        use_bias: whether the two layers have biases (False, as FcaNet).
        data_format: `"channels_last"` or `"channels_first"`.
        **kwargs: `SqueezeExcitation`'s other arguments (`hidden_units`, `rd_divisor`, ...).

    Call arguments:
        inputs: a 4-D feature map (channels a multiple of 16).
        context: optional `(batch, n)` tensor concatenated to the pooled vector.

    Example:

    >>> x = np.random.rand(2, 7, 7, 64).astype("float32")
    >>> FcaNet()(x).shape
    (2, 7, 7, 64)
    """

    def __init__(
        self, reduction=16, dct_size=None, use_bias=False, pooling="dct", data_format=None, **kwargs
    ):
        super().__init__(
            reduction=reduction,
            use_bias=use_bias,
            pooling=pooling,
            data_format=data_format,
            **kwargs,
        )
        if isinstance(dct_size, list):
            dct_size = tuple(dct_size)
        self.pools = [
            GlobalPooling(
                mode,
                dct_size=dct_size,
                data_format=self.data_format,
                dtype=self.statistics_policy(),
                name=f"pool_{mode}",
            )
            for mode in ((pooling,) if isinstance(pooling, str) else tuple(pooling))
        ]
        self.dct_size = self.pools[0].dct_size

    def get_config(self):
        config = super().get_config()
        config.update({"dct_size": self.dct_size})
        return config
