"""The SE-R idea for every block with a channel descriptor: an auxiliary classifier's result
(a `(batch, n)` context) concatenated to the descriptor before the block's first layer.

The blocks that take `context=` (SE, FcaNet, effective SE, CBAM's channel branch, ECA with an
MLP, Global Context, Gather-Excite with an MLP, SRM) build with its width and check it on each
call with these helpers.
"""

from keras import ops

from keras_attention.layers.base import layer_label


class ContextInput:
    """Mixin of the blocks that take `context=`: `call` and `compute_output_shape` with the
    context argument (a block builds with `build(inputs_shape, context_shape=None)`, sets
    `context_units` with `context_width` and passes its descriptor through `with_context`)."""

    accepts_context = True

    def call(self, inputs, training=None, context=None):
        maps = self.compute_attention(inputs, training=training, context=context)
        return self.apply_maps(inputs, maps)

    def compute_output_shape(self, inputs_shape, context_shape=None):
        return tuple(inputs_shape)


def context_width(layer, inputs_shape, context_shape):
    """The width `n` of a `(batch, n)` context (0 without one), checked."""
    if context_shape is None:
        return 0
    context_shape = tuple(context_shape)
    if len(context_shape) != 2 or context_shape[-1] is None:
        raise ValueError(
            f"{layer_label(layer)}: the context must be a 2-D tensor (batch, n) with n known; "
            f"received context shape {context_shape} with input shape {tuple(inputs_shape)}."
        )
    return int(context_shape[-1])


def with_context(layer, x, descriptor, context):
    """The channel descriptor with the context concatenated (SE-R), both checked against what
    the layer was built with."""
    units = layer.context_units
    if (context is None) != (units == 0):
        expected = f"a context of {units} units" if units else "no context"
        received = "none" if context is None else f"shape {tuple(context.shape)}"
        raise ValueError(
            f"{layer_label(layer)} was built with {expected}; received context {received} "
            f"with input shape {tuple(x.shape)}."
        )
    if context is None:
        return descriptor
    shape, x_batch = tuple(context.shape), tuple(x.shape)[0]
    batch = shape[0] if shape else None
    if len(shape) != 2 or shape[-1] != units or (None not in (batch, x_batch) and batch != x_batch):
        raise ValueError(
            f"{layer_label(layer)}: expected a context of shape ({x_batch}, {units}) (the "
            f"feature map's batch, the width the layer was built with); received context "
            f"shape {shape} with input shape {tuple(x.shape)}."
        )
    return ops.concatenate([descriptor, ops.cast(context, descriptor.dtype)], axis=-1)
