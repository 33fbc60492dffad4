import keras
from keras import ops

from keras_attention.layers.base import AttentionBlock, check_integer, check_number, layer_label
from keras_attention.layers.grouping import GroupMaps, check_groups, grouped_saliency
from keras_attention.layers.pooling import (
    bounded,
    global_pool,
    integer_moments,
    spatial_moments,
)


@keras.saving.register_keras_serializable(package="keras_attention")
class SGE(GroupMaps, AttentionBlock):
    """Spatial Group-wise Enhance (Li et al., 2019).

    Channels are split into `groups` groups. In each group, the similarity of every position to
    the group's global average feature, `t = sum_c(avg_pool(x)_c * x_c)`, is normalised over the
    spatial positions (`(t - mean) / (unbiased std + 1e-5)`), scaled and shifted by the group's
    `weight` and `bias` (initial 0 and 1) and passed through a sigmoid to scale the group:
    `2 * groups` parameters.

    Args:
        groups: number of channel groups (64); must divide the channels.
        epsilon: added to the standard deviation (1e-5).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.

    Example:

    >>> x = np.random.rand(2, 8, 8, 64).astype("float32")
    >>> SGE(groups=8)(x).shape
    (2, 8, 8, 64)
    """

    def __init__(self, groups=64, epsilon=1e-5, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.groups = check_integer(layer_label(self), "groups", groups)
        self.epsilon = check_number(layer_label(self), "epsilon", epsilon, low=0.0)

    def build(self, input_shape):
        channels = self.input_channels(input_shape)
        check_groups(self, self.groups, channels, input_shape)
        self.group_weight = self.add_weight(
            name="group_weight", shape=(self.groups,), initializer="zeros"
        )
        self.group_bias = self.add_weight(
            name="group_bias", shape=(self.groups,), initializer="ones"
        )

    def compute_attention(self, x, training=None):
        stats = self.statistics_input(x)
        # The similarity is computed with the pooled vector divided by `pooled_scale` (so it
        # cannot overflow); the normalisation is the same up to epsilon's scale.
        pooled, pooled_scale = bounded(global_pool(stats, "avg", self.data_format))
        similarity = grouped_saliency(stats, pooled, self.groups, self.data_format, reduce="sum")
        # weight * (t - mean) / std + bias as one affine map of t, its factors per group
        # (one product and one sum over the map, not four operations).
        weight = self.channel_map(self.group_weight[None, :])
        moments = integer_moments(similarity, self.data_format)
        if moments is not None:
            # A full-integer converter's trace (the pooled vector is not rescaled there):
            # 1 / sqrt(variance + epsilon^2) for 1 / (std + epsilon), a product by RSQRT, not an
            # int8 DIV, which fails at invoke where a group's std rounds to zero (a trained
            # SGE-ResNet-8 on the digits); the two differ only where the std is within a few
            # epsilon (1e-5) of zero, below what an integer map resolves.
            mean, variance = moments
            factor = weight * ops.rsqrt(variance + self.epsilon**2)
        else:
            mean, scale, variance = spatial_moments(similarity, self.data_format, keepdims=True)
            if pooled_scale is not None:
                epsilon = self.epsilon / (self.channel_map(pooled_scale) * scale)
            else:  # a full-integer trace of an unknown spatial size: nothing rescaled
                epsilon = self.epsilon / scale
            factor = weight / (scale * (ops.sqrt(variance) + epsilon))
        shift = self.channel_map(self.group_bias[None, :]) - mean * factor
        maps = ops.sigmoid(similarity * factor + shift)
        return {"spatial": maps}

    def get_config(self):
        config = super().get_config()
        config.update({"groups": self.groups, "epsilon": self.epsilon})
        return config
