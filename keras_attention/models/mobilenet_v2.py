"""MobileNetV2 (Sandler et al., 2018) with attention on the expanded channels."""

import keras

from keras_attention.layers.base import make_divisible as layers_make_divisible
from keras_attention.models.common import Builder, check_classes, checkpoint_layouts
from keras_attention.models.inverted_residual import activate, inverted_residual

# (expansion t, output channels c, repeats n, first stride s), Table 2 of the paper.
INVERTED_RESIDUAL_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value, divisor=8):
    """Rounds a channel count to a multiple of `divisor`, never below 90% of `value`."""
    return layers_make_divisible(value, divisor, round_limit=0.9)


# BatchNorm constants and padding: Keras' applications (TF-slim) and torchvision's.
LAYOUTS = checkpoint_layouts(keras_momentum=0.999)


def mobilenet_v2(
    alpha=1.0,
    attention=None,
    num_classes=1000,
    include_top=True,
    input_shape=(224, 224, 3),
    dropout=0.0,
    data_format=None,
    attention_kwargs=None,
    batchnorm="keras",
    layout="keras",
    name=None,
):
    """MobileNetV2 with a width multiplier, laid out as `keras.applications.MobileNetV2`
    (same channel rounding, TensorFlow "same" padding, BatchNorm epsilon 1e-3), so that without
    attention its trainable parameters equal Keras' own (3,504,872 at alpha 1.0);
    `layout="torch"` pads strided convolutions symmetrically and uses BatchNorm epsilon
    1e-5, as torchvision's MobileNetV2 (the same parameters, other outputs).

    Args:
        alpha: width multiplier.
        attention: a registered name, Layer class, Layer instance, callable or None.
        num_classes: classes of the Dense head.
        include_top: whether to end with global average pooling and the Dense head (logits).
        input_shape: input shape without batch.
        dropout: dropout before the classifier (the paper's recipe uses 0.2; Keras' own has
            none).
        data_format: `"channels_last"` or `"channels_first"`.
        attention_kwargs: arguments for every attention block.
        batchnorm: `"keras"` or `"torch"`: the moving-variance update of every BatchNormalization,
            the blocks' included (`"torch"`: PyTorch's unbiased update).
        layout: `"keras"` or `"torch"` (torchvision's padding and BatchNorm constants).

    Example:

    >>> sum(w.numpy().size for w in mobilenet_v2().trainable_weights)
    3504872
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ValueError(f"mobilenet_v2: alpha (the width multiplier) must be > 0, got {alpha!r}.")
    check_classes("mobilenet_v2", num_classes)
    if layout not in LAYOUTS:
        raise ValueError(f"mobilenet_v2: layout must be one of {tuple(LAYOUTS)}, got {layout!r}.")
    b = Builder(data_format, batchnorm=batchnorm, **LAYOUTS[layout])
    spec = b.attention(attention, attention_kwargs)
    inputs = keras.Input(input_shape)
    x = b.conv(inputs, make_divisible(32 * alpha), 3, 2, name="stem_conv")
    x = activate(b.batch_norm(x, name="stem_bn"), "relu6", "stem")
    block_id = 0
    for expansion, channels, repeats, stride in INVERTED_RESIDUAL_SETTINGS:
        filters = make_divisible(int(channels * alpha))
        for i in range(repeats):
            x = inverted_residual(
                b,
                x,
                expanded=b.channels(x) * expansion,
                filters=filters,
                stride=stride if i == 0 else 1,
                attention=spec,
                name=f"block{block_id}",
            )
            block_id += 1
    last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = b.conv(x, last, 1, name="head_conv")
    x = activate(b.batch_norm(x, name="head_bn"), "relu6", "head")
    if include_top:
        x = b.global_pool(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="dropout")(x)
        x = keras.layers.Dense(num_classes, name="predictions")(x)
    tag = f"_{spec.tag}" if spec else ""
    return keras.Model(inputs, x, name=name or f"mobilenet_v2_{alpha:g}{tag}")
