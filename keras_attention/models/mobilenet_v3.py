"""MobileNetV3 Large and Small (Howard et al., 2019) with its SE swappable for any block."""

import keras

from keras_attention.layers.base import make_divisible
from keras_attention.layers.squeeze_excitation import SqueezeExcitation
from keras_attention.models.common import (
    AttentionSpec,
    Builder,
    check_choice,
    check_classes,
    checkpoint_layouts,
)
from keras_attention.models.inverted_residual import activate, inverted_residual

# (expansion, output channels, kernel, stride, SE, activation) of each inverted residual,
# Tables 1 and 2 of the paper; "k" is 5 (3 in the minimalistic models), "act" hard-swish (ReLU
# in the minimalistic models), as keras.applications' and timm's MobileNetV3.
SIZES = {
    "large": (
        (1, 16, 3, 1, False, "relu"),
        (4, 24, 3, 2, False, "relu"),
        (3, 24, 3, 1, False, "relu"),
        (3, 40, "k", 2, True, "relu"),
        (3, 40, "k", 1, True, "relu"),
        (3, 40, "k", 1, True, "relu"),
        (6, 80, 3, 2, False, "act"),
        (2.5, 80, 3, 1, False, "act"),
        (2.3, 80, 3, 1, False, "act"),
        (2.3, 80, 3, 1, False, "act"),
        (6, 112, 3, 1, True, "act"),
        (6, 112, 3, 1, True, "act"),
        (6, 160, "k", 2, True, "act"),
        (6, 160, "k", 1, True, "act"),
        (6, 160, "k", 1, True, "act"),
    ),
    "small": (
        (1, 16, 3, 2, True, "relu"),
        (72 / 16, 24, 3, 2, False, "relu"),
        (88 / 24, 24, 3, 1, False, "relu"),
        (4, 40, "k", 2, True, "act"),
        (6, 40, "k", 1, True, "act"),
        (6, 40, "k", 1, True, "act"),
        (3, 48, "k", 1, True, "act"),
        (3, 48, "k", 1, True, "act"),
        (6, 96, "k", 2, True, "act"),
        (6, 96, "k", 1, True, "act"),
        (6, 96, "k", 1, True, "act"),
    ),
}
# The width of the head's hidden layer (before the classifier).
HEAD_WIDTHS = {"large": 1280, "small": 1024}
SE_RATIO = 0.25
NO_ATTENTION = AttentionSpec(None, None)

# BatchNorm constants and padding: keras.applications' MobileNetV3 and timm's
# `tf_mobilenetv3_*` ("keras": TensorFlow "same" padding, epsilon 1e-3), timm's
# `mobilenetv3_*` ("torch": PyTorch padding, epsilon 1e-5).
LAYOUTS = checkpoint_layouts(keras_momentum=0.999)


def _depth(value):
    return make_divisible(value, 8, round_limit=0.9)


def mobilenet_v3(
    size="large",
    alpha=1.0,
    minimalistic=False,
    attention="se",
    num_classes=1000,
    include_top=True,
    input_shape=(224, 224, 3),
    dropout=0.2,
    data_format=None,
    attention_kwargs=None,
    batchnorm="keras",
    layout="keras",
    preprocessing=None,
    name=None,
):
    """MobileNetV3 Large or Small, the family's SE (ReLU, hard sigmoid, a quarter of the
    expanded channels rounded to 8) in the blocks the paper gives it, after the depthwise
    convolution; any other block replaces it at those positions.

    Laid out as `keras.applications.MobileNetV3Large` / `Small` (and timm's
    `tf_mobilenetv3_*`) by default: the same parameters (5,483,032 / 2,542,856 trainable at
    alpha 1.0) and, with its weights copied (`keras_attention.convert.from_keras`), the same
    outputs; `layout="torch"` is timm's `mobilenetv3_*` (PyTorch padding, BatchNorm epsilon
    1e-5). The head's two 1x1 convolutions on the pooled vector are Dense layers here.

    Args:
        size: `"large"` or `"small"`.
        alpha: width multiplier.
        minimalistic: 3x3 kernels, ReLU everywhere and no SE (the paper's "minimalistic"
            models); another block named by `attention` sits where the SE would.
        attention: `"se"` (the family's own SE, by default), None, or any registered name,
            Layer class, Layer instance or callable in its place.
        num_classes: classes of the Dense head (logits).
        include_top: whether to end with pooling, the hidden head layer and the classifier.
        input_shape: input shape without batch; spatial sizes may be None.
        dropout: dropout before the classifier (Keras' default 0.2).
        data_format: `"channels_last"` or `"channels_first"`.
        attention_kwargs: arguments for every attention block; a width of their own
            (`reduction`, `hidden_units`) replaces the family's at every position.
        batchnorm: `"keras"` or `"torch"`: the moving-variance update of every BatchNormalization.
        layout: `"keras"` or `"torch"` (see above).
        preprocessing: Keras layers applied to the input before the stem (keras.applications'
            model begins with `Rescaling(1/127.5, offset=-1)`; `from_keras` copies it).

    Example:

    >>> model = mobilenet_v3("small", attention="coord", num_classes=10)
    """
    rows = SIZES[check_choice("mobilenet_v3", "size", size, SIZES)]
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ValueError(f"mobilenet_v3: alpha (the width multiplier) must be > 0, got {alpha!r}.")
    check_classes("mobilenet_v3", num_classes)
    check_choice("mobilenet_v3", "layout", layout, LAYOUTS)
    b = Builder(data_format, batchnorm=batchnorm, **LAYOUTS[layout])
    if minimalistic and attention == "se":
        attention = None  # the minimalistic models have no SE
    spec = b.attention(attention, attention_kwargs, SqueezeExcitation)
    kernel, act = (3, "relu") if minimalistic else (5, "hard_swish")
    inputs = keras.Input(input_shape)
    x = inputs
    for layer in preprocessing or ():
        x = layer(x)
    x = b.conv(x, 16, 3, 2, name="stem_conv")
    x = activate(b.batch_norm(x, name="stem_bn"), act, "stem")
    for index, (expansion, channels, k, stride, se, activation) in enumerate(rows):
        expanded = _depth(b.channels(x) * expansion)
        x = inverted_residual(
            b,
            x,
            expanded=expanded,
            filters=_depth(channels * alpha),
            kernel_size=kernel if k == "k" else k,
            stride=stride,
            activation=act if activation == "act" else "relu",
            attention=spec if se else NO_ATTENTION,
            settings=dict(
                hidden_units=_depth(expanded * SE_RATIO), activation="relu", gate="hard_sigmoid"
            ),
            name=f"block{index}",
        )
    x = b.conv(x, _depth(b.channels(x) * 6), 1, name="top_conv")
    x = activate(b.batch_norm(x, name="top_bn"), act, "top")
    if include_top:
        head = HEAD_WIDTHS[size]
        x = b.global_pool(x)
        x = keras.layers.Dense(_depth(head * alpha) if alpha > 1.0 else head, name="head")(x)
        x = activate(x, act, "head")
        if dropout:
            x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        x = keras.layers.Dense(num_classes, name="predictions")(x)
    tag = "" if spec.attention == "se" or (minimalistic and not spec) else f"_{spec.tag}"
    tag = tag if spec or minimalistic else "_none"
    suffix = "_minimal" if minimalistic else ""
    return keras.Model(inputs, x, name=name or f"mobilenet_v3_{size}_{alpha:g}{suffix}{tag}")
