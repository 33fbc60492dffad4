"""The inverted residual (MBConv) every mobile family shares: MobileNetV2, MobileNetV3 and
EfficientNet differ only in its activation, kernel size, expansion and attention settings."""

import keras

from keras_attention.models.common import attend

# Each family's activation, as a layer named after the convolution it follows. The suffixes
# keep the names MobileNetV2's layers had before this module existed.
ACTIVATIONS = {
    "relu6": ("relu", lambda name: keras.layers.ReLU(6.0, name=name)),
    "relu": ("relu", lambda name: keras.layers.ReLU(name=name)),
    "hard_swish": ("hswish", lambda name: keras.layers.Activation("hard_swish", name=name)),
    "swish": ("act", lambda name: keras.layers.Activation("swish", name=name)),
}


def activate(x, activation, name):
    """`x` through the activation `activation` (a key of `ACTIVATIONS`), named `name_SUFFIX`."""
    suffix, make = ACTIVATIONS[activation]
    return make(f"{name}_{suffix}")(x)


def inverted_residual(
    b,
    x,
    *,
    expanded,
    filters,
    kernel_size=3,
    stride=1,
    activation="relu6",
    attention=None,
    settings=None,
    drop_rate=0.0,
    name,
):
    """Expand (1x1, skipped when `expanded` is the input's width) -> depthwise k x k (stride)
    -> attention -> project (1x1, linear) [+ input].

    The attention block sits on the expanded channels, after the depthwise convolution and
    before the linear projection (MobileNetV3's and EfficientNet's SE, the MnasNet / timm
    convention); `settings` are the family's own block's arguments at this position (see
    `AttentionSpec.make`). `drop_rate` drops the whole residual branch of a sample with that
    probability in training and rescales the kept ones (Keras' and timm's drop-connect, the
    stochastic depth of EfficientNet).
    """
    in_channels = b.channels(x)
    y = x
    if expanded != in_channels:
        y = b.conv(y, expanded, 1, name=f"{name}_expand")
        y = activate(b.batch_norm(y, name=f"{name}_expand_bn"), activation, f"{name}_expand")
    y = b.conv(y, expanded, kernel_size, stride, groups=expanded, name=f"{name}_depthwise")
    y = activate(b.batch_norm(y, name=f"{name}_depthwise_bn"), activation, f"{name}_depthwise")
    y = attend(y, attention, f"{name}_attention", settings=settings)
    y = b.conv(y, filters, 1, name=f"{name}_project")
    y = b.batch_norm(y, name=f"{name}_project_bn")
    if stride == 1 and in_channels == filters:
        if drop_rate > 0:
            y = keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(y)
        y = keras.layers.Add(name=f"{name}_add")([x, y])
    return y
