"""EfficientNet B0-B7 (Tan and Le, 2019) with its SE swappable for any attention block."""

import math

import keras

from keras_attention.layers.base import make_divisible
from keras_attention.layers.squeeze_excitation import SqueezeExcitation
from keras_attention.models.common import Builder, check_choice, check_classes, checkpoint_layouts
from keras_attention.models.inverted_residual import activate, inverted_residual

# (kernel, repeats, input channels, output channels, expansion, first stride) of B0's seven
# stages (Table 1 of the paper; keras.applications' DEFAULT_BLOCKS_ARGS, timm's arch_def).
STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
# variant: (width multiplier, depth multiplier, input size, classifier dropout).
VARIANTS = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}
# The ratio of an MBConv's SE width to its input (not expanded) channels.
SE_RATIO = 0.25

# BatchNorm constants and padding of the checkpoints' code: "keras" is keras.applications'
# EfficientNet and timm's `tf_efficientnet_*` (TensorFlow "same" padding, epsilon 1e-3);
# "torch" is timm's `efficientnet_*` (PyTorch's symmetric padding, epsilon 1e-5).
LAYOUTS = checkpoint_layouts(keras_momentum=0.99)


def round_filters(channels, width):
    """A stage's channels scaled by the width multiplier, to a multiple of 8 (never below 90%)."""
    return make_divisible(channels * width, 8, round_limit=0.9)


def efficientnet(
    variant="b0",
    attention="se",
    num_classes=1000,
    include_top=True,
    input_shape=None,
    dropout=None,
    drop_connect_rate=0.2,
    data_format=None,
    attention_kwargs=None,
    batchnorm="keras",
    layout="keras",
    preprocessing=None,
    name=None,
):
    """EfficientNet-B0 ... B7, the family's SE (SiLU, a width of a quarter of the block's
    input channels) in every MBConv, after the depthwise convolution; any other block replaces
    it there.

    Laid out as `keras.applications.EfficientNetB0` ... `B7` (and timm's `tf_efficientnet_*`)
    by default: the same parameters (B0: 5,288,548 trainable) and, with its weights copied
    (`keras_attention.convert.from_keras`), the same outputs; `layout="torch"` is timm's
    `efficientnet_*` (PyTorch padding, BatchNorm epsilon 1e-5).

    Args:
        variant: `"b0"` ... `"b7"`.
        attention: `"se"` (the family's own SE, by default), None (no block), or any registered
            name, Layer class, Layer instance or callable in its place.
        num_classes: classes of the Dense head (logits).
        include_top: whether to end with global average pooling, dropout and the head.
        input_shape: input shape without batch; default the variant's size (224 for B0).
        dropout: dropout before the head; default the variant's (0.2 for B0, 0.5 for B7).
        drop_connect_rate: the last block's probability of dropping its residual branch in
            training (stochastic depth, growing linearly from 0 over the blocks).
        data_format: `"channels_last"` or `"channels_first"`.
        attention_kwargs: arguments for every attention block; a width of their own
            (`reduction`, `hidden_units`) replaces the family's at every position.
        batchnorm: `"keras"` or `"torch"`: the moving-variance update of every BatchNormalization.
        layout: `"keras"` or `"torch"` (see above).
        preprocessing: Keras layers applied to the input before the stem (keras.applications'
            models begin with `Rescaling(1/255)` and `Normalization`; `from_keras` copies them).

    Example:

    >>> model = efficientnet("b0", attention="eca", num_classes=10, input_shape=(64, 64, 3))
    """
    width, depth, size, default_dropout = VARIANTS[
        check_choice("efficientnet", "variant", variant, VARIANTS)
    ]
    check_classes("efficientnet", num_classes)
    check_choice("efficientnet", "layout", layout, LAYOUTS)
    dropout = default_dropout if dropout is None else dropout
    b = Builder(data_format, batchnorm=batchnorm, **LAYOUTS[layout])
    spec = b.attention(attention, attention_kwargs, SqueezeExcitation)
    if input_shape is None:
        input_shape = (size, size, 3) if b.data_format == "channels_last" else (3, size, size)
    inputs = keras.Input(input_shape)
    x = inputs
    for layer in preprocessing or ():
        x = layer(x)
    x = b.conv(x, round_filters(32, width), 3, 2, name="stem_conv")
    x = activate(b.batch_norm(x, name="stem_bn"), "swish", "stem")
    repeats = [int(math.ceil(depth * stage[1])) for stage in STAGES]
    total, index = sum(repeats), 0
    for stage, ((kernel, _, _, channels, expansion, stride), count) in enumerate(
        zip(STAGES, repeats, strict=True), start=1
    ):
        filters = round_filters(channels, width)
        for i in range(count):
            in_channels = b.channels(x)
            settings = dict(hidden_units=max(1, int(in_channels * SE_RATIO)), activation="swish")
            x = inverted_residual(
                b,
                x,
                expanded=in_channels * expansion,
                filters=filters,
                kernel_size=kernel,
                stride=stride if i == 0 else 1,
                activation="swish",
                attention=spec,
                settings=settings,
                drop_rate=drop_connect_rate * index / total,
                name=f"block{stage}{chr(ord('a') + i)}",
            )
            index += 1
    x = b.conv(x, round_filters(1280, width), 1, name="top_conv")
    x = activate(b.batch_norm(x, name="top_bn"), "swish", "top")
    if include_top:
        x = b.global_pool(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="top_dropout")(x)
        x = keras.layers.Dense(num_classes, name="predictions")(x)
    tag = "" if spec.attention == "se" else f"_{spec.tag}" if spec else "_none"
    return keras.Model(inputs, x, name=name or f"efficientnet_{variant}{tag}")
