import keras
from keras import ops

from keras_attention.layers.base import (
    AttentionBlock,
    check_integer,
    layer_label,
    tracing_for_integer_converter,
)
from keras_attention.layers.batch_normalization import (
    block_norm,
    check_batchnorm,
    conv_then_norm_by_part,
)

# The branches: which axis of an NHWC map each pools, and how its plane is laid out.
BRANCHES = ("hw", "cw", "hc")


@keras.saving.register_keras_serializable(package="keras_attention")
class TripletAttention(AttentionBlock):
    """Triplet attention (Misra et al., WACV 2021; landskape-ai/triplet-attention
    MODELS/triplet_attention.py).

    Three branches, each a gate on one plane of the map: Z-pool (max and mean, max first)
    over the remaining axis, a 7x7 convolution 2 -> 1 without bias, BatchNorm (epsilon 1e-5,
    momentum 0.01 as PyTorch, Keras 0.99) and a sigmoid. `hw` pools the channels (a gate on
    (H, W)), `cw` pools the height (a gate on (C, W), the code's `ChannelGateH`), `hc` pools
    the width (a gate on (H, C), `ChannelGateW`); `y = x * (s_hw + s_cw + s_hc) / 3`
    (`no_spatial`: without `hw`, / 2). 300 parameters whatever C.

    Args:
        kernel_size: the convolutions' size (7).
        no_spatial: leave out the (H, W) branch.
        batchnorm: `"keras"` or `"torch"`.
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map.
        training: whether the BatchNormalizations use batch statistics.

    Example:

    >>> x = np.random.rand(2, 8, 6, 16).astype("float32")
    >>> TripletAttention()(x).shape
    (2, 8, 6, 16)
    """

    def __init__(
        self, kernel_size=7, no_spatial=False, batchnorm="keras", data_format=None, **kwargs
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.kernel_size = check_integer(layer_label(self), "kernel_size", kernel_size)
        self.no_spatial = bool(no_spatial)
        self.batchnorm = check_batchnorm(batchnorm, layer_label(self))
        policy = self.statistics_policy()
        self.branches = [b for b in BRANCHES if not (no_spatial and b == "hw")]
        self.convs, self.norms = {}, {}
        for branch in self.branches:
            # The planes are laid out channels_last whatever the block's format.
            self.convs[branch] = keras.layers.Conv2D(
                1,
                kernel_size,
                padding="same",
                use_bias=False,
                data_format="channels_last",
                dtype=policy,
                name=f"{branch}_conv",
            )
            self.norms[branch] = block_norm(self, f"{branch}_norm", axis=-1, momentum=0.99)

    def build(self, input_shape):
        self.input_channels(input_shape)
        for branch in self.branches:
            self.convs[branch].build((None, None, None, 2))
            self.norms[branch].build((None, None, None, 1))

    def _gate(self, branch, stats, plane_axes, training):
        """sigmoid(BN(conv(Z-pool))) of the branch's `(N, rows, cols, features)` plane: the
        permutation `plane_axes` of `stats`, pooled over its last axis. The map is pooled
        first and only the pooled map is permuted (never a transpose of the feature map)."""
        axis = plane_axes[-1]
        if tracing_for_integer_converter() and not training:
            return ops.sigmoid(self.converter_logits(branch, stats, plane_axes))
        pooled = ops.concatenate(
            [ops.max(stats, axis=axis, keepdims=True), ops.mean(stats, axis=axis, keepdims=True)],
            axis=axis,
        )
        pooled = ops.transpose(pooled, plane_axes)
        return ops.sigmoid(self.norms[branch](self.convs[branch](pooled), training=training))

    def converter_logits(self, branch, stats, plane_axes):
        """The branch's `BN(conv([max; mean]))` for a full-integer converter's trace
        (inference), as the sum of one convolution per pooled map, the BatchNormalization
        folded into their kernels and the first one's bias: the same values. In full-integer
        TFLite a concatenation gives its inputs one scale and REDUCE_MAX keeps its input's, so
        the narrow mean would be rounded on the max's scale (as in CBAM); separate convolutions
        give each map its own scale (`conv_then_norm_by_part`)."""
        axis = plane_axes[-1]
        parts = (
            ops.max(stats, axis=axis, keepdims=True),
            ops.mean(stats, axis=axis, keepdims=True),
        )
        parts = [ops.transpose(part, plane_axes) for part in parts]
        return conv_then_norm_by_part(
            self.convs[branch], self.norms[branch], parts, "channels_last"
        )

    def compute_attention(self, x, training=None):
        stats = self.statistics_input(x)
        # The branches' planes are permutations of NHWC; channels_first data gets there too.
        nhwc = (0, 1, 2, 3) if self.data_format == "channels_last" else (0, 2, 3, 1)

        def plane(*axes):
            return tuple(nhwc[a] for a in axes)

        maps = {}
        # cw: pool H, a (C, W) plane: (N, C, W, H) -> gate (N, C, W, 1) -> (N, 1, W, C).
        cw = self._gate("cw", stats, plane(0, 3, 2, 1), training)
        maps["cw"] = ops.transpose(cw, (0, 3, 2, 1))
        # hc: pool W, an (H, C) plane: (N, H, C, W) -> gate (N, H, C, 1) -> (N, H, 1, C).
        hc = self._gate("hc", stats, plane(0, 1, 3, 2), training)
        maps["hc"] = ops.transpose(hc, (0, 1, 3, 2))
        if not self.no_spatial:
            maps["hw"] = self._gate("hw", stats, plane(0, 1, 2, 3), training)  # (N, H, W, 1)
        if self.data_format == "channels_first":
            maps = {k: ops.transpose(v, (0, 3, 1, 2)) for k, v in maps.items()}
        return maps

    def gate(self, maps):
        # The average's 1/n is taken on the small maps: one full-size pass fewer.
        weight = 1.0 / len(maps)
        total = maps["cw"] * weight + maps["hc"] * weight
        if "hw" in maps:
            total = total + maps["hw"] * weight
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_size": self.kernel_size,
                "no_spatial": self.no_spatial,
                "batchnorm": self.batchnorm,
            }
        )
        return config
