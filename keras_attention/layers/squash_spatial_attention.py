import keras
from keras import ops

from keras_attention.layers.base import AttentionBlock, check_integer, check_number, layer_label
from keras_attention.layers.batch_normalization import block_norm, check_batchnorm
from keras_attention.layers.grouping import GroupMaps, check_groups, grouped_saliency
from keras_attention.layers.pooling import GlobalPooling, bounded


@keras.saving.register_keras_serializable(package="keras_attention")
class SquashSpatialAttention(GroupMaps, AttentionBlock):
    """Squash and Spatial Attention (SSA) block of SSANet.

    The squash `caM = pool(x)` (no parameters) weighs each channel; the saliency map is the
    mean over channels of `caM_c * x_c`, passed through a one-channel BatchNormalization and
    a sigmoid, and scales every channel: `y = sigmoid(BN(mean_c(caM_c * x_c))) * x`.
    A block has only the BatchNormalization's 2 trainable parameters.

    Grouped variant (`groups=G`): the channels are split into G groups, each group gets its own
    saliency map from its own channels, the BatchNormalization has G channels (2G parameters)
    and each map scales its own group.

    Args:
        squash: pooling mode of the squash: `"avg"` (default, as in the paper) or `"max"`;
            `"min"` and the learnable `"mix"` are also accepted.
        groups: number of channel groups (1 = the paper's block).
        epsilon: BatchNormalization epsilon (PyTorch's 1e-5 by default).
        momentum: BatchNormalization momentum in Keras' convention (PyTorch's 0.1 is 0.9).
        batchnorm: `"keras"` or `"torch"`: how its BatchNormalization updates the moving
            variance in training (`"torch"`: PyTorch's unbiased update, for PyTorch recipes).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        training: whether the BatchNormalization uses batch statistics.

    Example:

    >>> x = np.random.rand(2, 8, 8, 32).astype("float32")
    >>> SquashSpatialAttention()(x).shape
    (2, 8, 8, 32)
    """

    def __init__(
        self,
        squash="avg",
        groups=1,
        epsilon=1e-5,
        momentum=0.9,
        batchnorm="keras",
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.squash = squash
        self.groups = check_integer(layer_label(self), "groups", groups)
        check_number(layer_label(self), "epsilon", epsilon, low=0.0)
        check_number(layer_label(self), "momentum", momentum, 0.0, 1.0)
        self.epsilon = epsilon
        self.momentum = momentum
        self.batchnorm = check_batchnorm(batchnorm, layer_label(self))
        policy = self.statistics_policy()
        self.squash_pool = GlobalPooling(
            squash, data_format=self.data_format, dtype=policy, name="squash"
        )
        self.norm = block_norm(self, "saliency_norm", momentum=momentum, epsilon=epsilon)

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        check_groups(self, self.groups, channels, input_shape)
        self.squash_pool.build(input_shape)
        self.norm.build(self.channel_shape(self.groups, like=input_shape))

    def compute_attention(self, x, training=None):
        stats = self.statistics_input(x)
        # The products caM_c * x_c use caM divided by its largest value (at least 1), so they
        # stay finite; the saliency is scaled back (huge values give +-inf, never NaN).
        squashed, scale = bounded(self.squash_pool(stats))
        saliency = grouped_saliency(stats, squashed, self.groups, self.data_format, reduce="mean")
        if scale is not None:
            saliency = saliency * self.channel_map(scale)
        maps = ops.sigmoid(self.norm(saliency, training=training))
        return {"spatial": maps}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "squash": self.squash,
                "groups": self.groups,
                "epsilon": self.epsilon,
                "momentum": self.momentum,
                "batchnorm": self.batchnorm,
            }
        )
        return config
