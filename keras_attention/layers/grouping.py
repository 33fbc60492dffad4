"""Channel groups shared by the grouped spatial blocks (SSA and SGE).

Channels are split into `groups` consecutive groups of `channels // groups` channels: channel
`c` belongs to group `c // (channels // groups)`, as `x.view(b * groups, -1, h, w)` does in the
authors' PyTorch code.

Speed: with one group nothing is reshaped (one contraction over the channels gives the map,
or in a converter's trace a product and a reduction with `keepdims`, and the map broadcasts over the
channels). With several, the reshapes use the static sizes where they
are known, so a converted TFLite model has constant shapes (no SHAPE op, which XNNPACK does not
take), and a group's map scales its channels through the grouped view rather than being
repeated over them (no TILE).
"""

from keras import ops

from keras_attention.layers.base import channel_axis, layer_label, tracing_for_converter


def check_groups(layer, groups, channels, input_shape):
    if groups < 1 or channels % groups:
        raise ValueError(
            f"{layer_label(layer)}: groups={groups} must divide the number of channels; "
            f"expected a channel count that is a multiple of {groups}, received input shape "
            f"{tuple(input_shape)} with {channels} channels."
        )


def _sizes(x):
    """The sizes of `x`'s axes: static where known, run-time values elsewhere."""
    dynamic = None
    sizes = []
    for axis, size in enumerate(x.shape):
        if size is None:
            dynamic = ops.shape(x) if dynamic is None else dynamic
            size = dynamic[axis]
        sizes.append(size)
    return sizes


def split_groups(x, groups, data_format):
    """`(N, H, W, G, C/G)` or `(N, G, C/G, H, W)`: the channels of `x` by group."""
    _, a, b, c = _sizes(x)
    if data_format == "channels_last":
        return ops.reshape(x, (-1, a, b, groups, c // groups))
    return ops.reshape(x, (-1, groups, a // groups, b, c))


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
    reducer = ops.mean if reduce == "mean" else ops.sum
    axis = channel_axis(data_format)
    weights = (
        channel_weights[:, None, None, :]
        if data_format == "channels_last"
        else channel_weights[:, :, None, None]
    )
    if groups == 1 and not tracing_for_converter():
        # One contraction over the channels (a batched matmul) is TensorFlow's fastest form;
        # XNNPACK's is the product and the reduction below (`base.converter_form`).
        if data_format == "channels_last":
            summed = ops.matmul(x, channel_weights[:, None, :, None])
        else:
            summed = ops.einsum("nchw,nc->nhw", x, channel_weights)[:, None]
        return summed / x.shape[axis] if reduce == "mean" else summed
    weighted = x * weights
    if groups == 1:
        return reducer(weighted, axis=axis, keepdims=True)
    grouped = split_groups(weighted, groups, data_format)
    return reducer(grouped, axis=-1 if data_format == "channels_last" else 2)


def grouped_rescale(x, group_maps, data_format):
    """`x` with each group's channels multiplied by that group's map (`(N, H, W, G)` or
    `(N, G, H, W)`); one map (G = 1) broadcasts over every channel."""
    groups = group_maps.shape[channel_axis(data_format)]
    if groups == 1:
        return x * group_maps
    sizes = _sizes(x)
    grouped = split_groups(x, groups, data_format)
    # A reshape rather than expand_dims: TFLite's EXPAND_DIMS is not taken by XNNPACK.
    _, a, b, c = _sizes(group_maps)
    if data_format == "channels_last":
        maps = ops.reshape(group_maps, (-1, a, b, c, 1))
    else:
        maps = ops.reshape(group_maps, (-1, a, 1, b, c))
    return ops.reshape(grouped * maps, (-1, *sizes[1:]))


def expand_groups(group_maps, channels, data_format):
    """Repeats each group's map over the group's channels: G maps become C maps (the gate as
    one tensor, for `AttentionBlock.gate`; `grouped_rescale` applies it without the copy)."""
    groups = group_maps.shape[channel_axis(data_format)]
    if groups == 1:
        return group_maps
    return ops.repeat(group_maps, channels // groups, axis=channel_axis(data_format))


class GroupMaps:
    """Mixin for blocks whose map, `"spatial"`, has one channel per group (SSA, SGE): each
    group's map scales that group's channels; `attention()` drops the channel axis of a single
    map, giving `(batch, height, width)`."""

    def gate(self, maps):
        return expand_groups(maps["spatial"], self.channels, self.data_format)

    def apply_maps(self, inputs, maps):
        # Each group's map scales its channels in place: no copy of the map per channel.
        gate = ops.cast(maps["spatial"], inputs.dtype)
        return grouped_rescale(inputs, gate, self.data_format)

    def canonical_maps(self, maps):
        return {"spatial": self.squeeze_unit(maps["spatial"], self.channel_axis)}
