"""RegNetY (Radosavovic et al., 2020) with its SE swappable for any attention block, laid out
as timm's `regnety_*` (Keras 3 has no RegNet)."""

import math

import keras

from keras_attention.layers.squeeze_excitation import SqueezeExcitation
from keras_attention.models.common import Builder, check_choice, check_classes
from keras_attention.models.resnet import residual_block, residual_stages

# variant: (initial width w0, slope wa, multiplier wm, depth, group width), the paper's
# RegNetY-200MF ... 3.2GF (timm's model_cfgs); every Y block has SE of ratio 0.25.
VARIANTS = {
    "y_002": (24, 36.44, 2.49, 13, 8),
    "y_004": (48, 27.89, 2.09, 16, 8),
    "y_006": (48, 32.54, 2.32, 15, 16),
    "y_008": (56, 38.84, 2.4, 14, 16),
    "y_016": (48, 20.71, 2.65, 27, 24),
    "y_032": (80, 42.63, 2.66, 21, 24),
}
SE_RATIO = 0.25
STEM_WIDTH = 32


def stage_widths(variant):
    """`(widths, depths, group widths)` of the four stages: the paper's quantized linear
    widths `w0 + wa * j`, rounded to powers of `wm` times `w0` and to multiples of 8, with the
    group width no wider than the stage and the stage a multiple of it (timm's
    `generate_regnet` and `adjust_widths_groups_comp`, bottleneck ratio 1)."""
    w0, wa, wm, depth, group = VARIANTS[variant]
    widths = []
    for j in range(depth):
        exponent = round(math.log((w0 + wa * j) / w0) / math.log(wm))
        widths.append(int(round(w0 * wm**exponent / 8) * 8))
    stages = sorted(set(widths))
    depths = [widths.count(w) for w in stages]
    groups = [min(group, w) for w in stages]
    stages = [int(round(w / g) * g) for w, g in zip(stages, groups, strict=True)]
    return stages, depths, groups


def regnet(
    variant="y_002",
    attention="se",
    num_classes=1000,
    include_top=True,
    input_shape=(224, 224, 3),
    data_format=None,
    attention_kwargs=None,
    batchnorm="keras",
    name=None,
):
    """RegNetY-200MF ... 3.2GF: a 3x3 stem of 32 channels, four stages of bottlenecks (ratio
    1, grouped 3x3), the family's SE (a width of a quarter of the block's input channels,
    ReLU, sigmoid) between the grouped convolution and the last 1x1; any other block replaces
    it there. As timm's `regnety_002` ... `regnety_032`: PyTorch padding, BatchNorm epsilon
    1e-5, the same parameters (RegNetY-200MF: 3,162,996).

    Args:
        variant: `"y_002"`, `"y_004"`, `"y_006"`, `"y_008"`, `"y_016"` or `"y_032"`.
        attention: `"se"` (the family's own SE, by default), None, or any registered name,
            Layer class, Layer instance or callable in its place.
        num_classes: classes of the Dense head (logits).
        include_top: whether to end with global average pooling and the Dense head.
        input_shape: input shape without batch; spatial sizes may be None.
        data_format: `"channels_last"` or `"channels_first"`.
        attention_kwargs: arguments for every attention block; a width of their own
            (`reduction`, `hidden_units`) replaces the family's at every position.
        batchnorm: `"keras"` or `"torch"`: the moving-variance update of every BatchNormalization.

    Example:

    >>> sum(w.numpy().size for w in regnet("y_002").trainable_weights)
    3162996
    """
    check_choice("regnet", "variant", variant, VARIANTS)
    check_classes("regnet", num_classes)
    b = Builder(data_format, batchnorm=batchnorm)
    spec = b.attention(attention, attention_kwargs, SqueezeExcitation)
    widths, depths, groups = stage_widths(variant)
    inputs = keras.Input(input_shape)
    x = b.conv(inputs, STEM_WIDTH, 3, 2, name="stem_conv")
    x = keras.layers.ReLU(name="stem_relu")(b.batch_norm(x, name="stem_bn"))
    x = residual_stages(
        b,
        x,
        widths,
        depths,
        block=residual_block,
        first_stride=2,
        stage_options=[{"group_width": group} for group in groups],
        bottleneck=True,
        expansion=1,
        attention=spec,
        attention_after=2,
        settings=lambda channels: dict(hidden_units=int(round(channels * SE_RATIO))),
    )
    if include_top:
        x = keras.layers.Dense(num_classes, name="predictions")(b.global_pool(x))
    tag = "" if spec.attention == "se" else f"_{spec.tag}" if spec else "_none"
    return keras.Model(inputs, x, name=name or f"regnet{variant}{tag}")
