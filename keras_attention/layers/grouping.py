"""Channel groups shared by the grouped spatial blocks (grouped SSA and SGE).

Channels are split into `groups` consecutive groups of `channels // groups` channels: channel
`c` belongs to group `c // (channels // groups)`, as `x.view(b * groups, -1, h, w)` does in the
authors' PyTorch code.
"""

from keras import ops

from keras_attention.layers.base import layer_label


def check_groups(layer, groups, channels, input_shape):
    if groups < 1 or channels % groups:
        raise ValueError(
            f"{layer_label(layer)}: groups={groups} must divide the number of channels; "
            f"expected a channel count that is a multiple of {groups}, received input shape "
            f"{tuple(input_shape)} with {channels} channels."
        )


def grouped_saliency(x, channel_weights, groups, data_format, reduce="mean"):
    """Per group, reduces `channel_weights[c] * x[..., c]` over the group's channels.

    Args:
        x: feature map, `(N, H, W, C)` or `(N, C, H, W)`.
        channel_weights: `(N, C)`, one weight per sample and channel.
        groups: number of channel groups G.
        reduce: `"mean"` or `"sum"` over the channels of a group.

    Returns:
        `(N, H, W, G)` or `(N, G, H, W)` saliency maps.
    """
    shape = ops.shape(x)
    if data_format == "channels_last":
        weighted = x * channel_weights[:, None, None, :]
        grouped = ops.reshape(weighted, (-1, shape[1], shape[2], groups, shape[3] // groups))
        axis = -1
    else:
        weighted = x * channel_weights[:, :, None, None]
        grouped = ops.reshape(weighted, (-1, groups, shape[1] // groups, shape[2], shape[3]))
        axis = 2
    return ops.mean(grouped, axis=axis) if reduce == "mean" else ops.sum(grouped, axis=axis)


def expand_groups(group_maps, channels, data_format):
    """Repeats each group's map over the group's channels: G maps become C maps."""
    groups = group_maps.shape[-1 if data_format == "channels_last" else 1]
    axis = -1 if data_format == "channels_last" else 1
    return ops.repeat(group_maps, channels // groups, axis=axis)
