"""Residual networks: the SPEM code's CIFAR ResNet (post- and pre-activation) and the
ImageNet ResNet-18/34/50/101/152, each with an `attention=` choice."""

import keras

from keras_attention.catalog import IMAGENET_BLOCKS, check_cifar_depth, cifar_block
from keras_attention.models.common import Builder, attend, check_choice, check_classes


def _branch_specs(
    planes,
    stride,
    bottleneck,
    stride_on="3x3",
    cardinality=1,
    base_width=64,
    group_width=None,
    expansion=4,
):
    """(filters, kernel size, stride, groups) of each convolution of a residual branch.

    A bottleneck's inner width is `planes * base_width / 64` per group times `cardinality`
    groups, its 3x3 convolution grouped (ResNeXt; 1 and 64 give ResNet's `planes`), and its
    output `expansion * planes`. With `group_width`, the inner width is `planes`, in groups of
    `group_width` channels (RegNet, whose `expansion` is 1, and timm's ByobNet ResNeXts).
    """
    if not bottleneck:
        return [(planes, 3, stride, 1), (planes, 3, 1, 1)]
    if stride_on not in ("3x3", "1x1"):
        raise ValueError(f"stride_on must be '3x3' or '1x1', got {stride_on!r}.")
    first, middle = (stride, 1) if stride_on == "1x1" else (1, stride)
    if group_width:
        width, groups = planes, planes // group_width
    else:
        width, groups = int(planes * base_width / 64) * cardinality, cardinality
    return [(width, 1, first, 1), (width, 3, middle, groups), (planes * expansion, 1, 1, 1)]


def residual_block(
    b,
    x,
    planes,
    stride,
    *,
    bottleneck,
    attention,
    name,
    conv_bias=False,
    relu_before_attention=False,
    context=None,
    stride_on="3x3",
    avg_down=False,
    cardinality=1,
    base_width=64,
    group_width=None,
    expansion=4,
    attention_after=None,
    settings=None,
    activation="relu",
):
    """Post-activation residual block: convs -> BN -> attention -> + shortcut -> ReLU.

    `attention` is the model's `AttentionSpec`; `context` is fed to the block (SE-R).

    Basic: 3x3 -> BN -> ReLU -> 3x3 -> BN. Bottleneck: 1x1 -> BN -> ReLU -> 3x3 (stride) -> BN
    -> ReLU -> 1x1 (4 x planes) -> BN. The shortcut is a 1x1 convolution + BN when the shape
    changes. `conv_bias` and `relu_before_attention` reproduce the SE-R paper's code, whose
    convolutions have biases and whose branch ends BN -> ReLU before the SE block.
    `stride_on="1x1"` strides a bottleneck's first 1x1 convolution (the original ResNet and
    Caffe SENet layout) instead of its 3x3 (torchvision's "v1.5"). `cardinality` groups and
    `base_width` channels per group make a bottleneck ResNeXt's; `group_width` RegNet's (see
    `_branch_specs`), whose block sits after the second convolution (`attention_after=2`) with
    `settings(input channels)` for the family's own block. `activation` is every ReLU's
    function instead (timm's "ts" ResNets: `"silu"`). `avg_down` makes a
    strided shortcut a 2x2 average pool (ceil mode, padding not counted) then a 1x1
    convolution with stride 1 (timm's `avg_down`, the "d" ResNets).
    """
    specs = _branch_specs(
        planes, stride, bottleneck, stride_on, cardinality, base_width, group_width, expansion
    )
    out_channels = specs[-1][0]
    attention_after = attention_after or len(specs)
    settings = settings(b.channels(x)) if callable(settings) else settings
    y = x
    for i, (filters, kernel, step, groups) in enumerate(specs, start=1):
        y = b.conv(
            y, filters, kernel, step, use_bias=conv_bias, name=f"{name}_conv{i}", groups=groups
        )
        y = b.batch_norm(y, name=f"{name}_bn{i}")
        if i < len(specs) or relu_before_attention:
            y = activate(y, activation, f"{name}_{{}}{i}")
        if i == attention_after:
            y = attend(y, attention, f"{name}_attention", context, settings)
    shortcut = x
    if stride != 1 or b.channels(x) != out_channels:
        step = stride
        if avg_down and stride > 1:
            # 'same' pads only where a window would overhang, and divides by the values it
            # covers: PyTorch's AvgPool2d(2, s, ceil_mode=True, count_include_pad=False).
            shortcut = keras.layers.AveragePooling2D(
                stride, stride, "same", data_format=b.data_format, name=f"{name}_down_pool"
            )(shortcut)
            step = 1
        shortcut = b.conv(shortcut, out_channels, 1, step, use_bias=conv_bias, name=f"{name}_down")
        shortcut = b.batch_norm(shortcut, name=f"{name}_down_bn")
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return activate(y, activation, f"{name}_out")


def activate(x, activation, name):
    """ReLU, or the named Keras activation, as a layer named `name` (its `{}` filled with the
    function's name: "stage1_block1_relu1", "stage1_block1_silu1")."""
    if activation == "relu":
        return keras.layers.ReLU(name=name.format("relu"))(x)
    return keras.layers.Activation(activation, name=name.format(activation))(x)


def preact_block(b, x, planes, stride, *, bottleneck, attention, name):
    """Pre-activation block (He et al., 2016): BN -> ReLU -> conv, repeated, then attention on
    the branch and + shortcut (a 1x1 convolution of the block input when the shape changes)."""
    specs = _branch_specs(planes, stride, bottleneck)
    out_channels = specs[-1][0]
    y = x
    for i, (filters, kernel, step, _) in enumerate(specs, start=1):
        y = b.batch_norm(y, name=f"{name}_bn{i}")
        y = keras.layers.ReLU(name=f"{name}_relu{i}")(y)
        y = b.conv(y, filters, kernel, step, name=f"{name}_conv{i}")
    y = attend(y, attention, f"{name}_attention")
    shortcut = x
    if stride != 1 or b.channels(x) != out_channels:
        shortcut = b.conv(x, out_channels, 1, stride, name=f"{name}_down")
    return keras.layers.Add(name=f"{name}_add")([shortcut, y])


def residual_stages(
    b,
    x,
    widths,
    counts,
    *,
    block=residual_block,
    after_stage=None,
    first_stride=1,
    stage_options=None,
    **block_options,
):
    """Stacks stages of `block`s; the first block of every stage after the first strides 2
    (the first stage's first block strides `first_stride`: 2 in RegNet, which has no pool).

    `stage_options` (one dict per stage) adds options to the blocks of each stage (RegNet's
    group widths). `after_stage(stage, x)` runs after each stage; what it returns is given as
    `context` to the blocks of the next stage (SE-R feeds an auxiliary classifier's result
    this way).
    """
    context = None
    stage_options = stage_options or [{} for _ in widths]
    for stage, (planes, count, extra) in enumerate(
        zip(widths, counts, stage_options, strict=True), start=1
    ):
        for i in range(count):
            options = dict(block_options, **extra)
            if context is not None:
                options["context"] = context
            stride = 1 if i else first_stride if stage == 1 else 2
            x = block(b, x, planes, stride, name=f"stage{stage}_block{i + 1}", **options)
        context = after_stage(stage, x) if after_stage else None
    return x


def _classifier(b, x, include_top, num_classes, name="predictions"):
    if not include_top:
        return x
    return keras.layers.Dense(num_classes, name=name)(b.global_pool(x))


def cifar_resnet(
    depth,
    attention=None,
    num_classes=10,
    block=None,
    preact=False,
    input_shape=(32, 32, 3),
    include_top=True,
    data_format=None,
    attention_kwargs=None,
    batchnorm="keras",
    name=None,
):
    """The CIFAR ResNet of the SPEM code: three stages of 16/32/64 planes.

    Args:
        depth: 6n + 2 with basic blocks (20, 56, 110, ...) or 9n + 2 with bottlenecks (83, 164,
            245, 326). `block=None` picks bottlenecks for 83, 164, 245, 326 and 1001.
        attention: a registered name, Layer class, Layer instance (a template), callable or
            None; one block per residual branch, after its last BN, before the shortcut add.
        num_classes: classes of the Dense head.
        block: `"basic"`, `"bottleneck"` or None (from the depth).
        preact: pre-activation blocks (He et al., 2016) instead of post-activation.
        input_shape: input shape without batch.
        include_top: whether to end with global average pooling and the Dense head (logits).
        data_format: `"channels_last"` or `"channels_first"`.
        attention_kwargs: arguments for every attention block.
        batchnorm: `"keras"` or `"torch"`: the moving-variance update of every BatchNormalization,
            the blocks' included (`"torch"`, PyTorch's unbiased update, trains as the
            authors' PyTorch code; `keras_attention.papers` presets use it).

    Example:

    >>> model = cifar_resnet(164, attention="spem")
    >>> sum(w.numpy().size for w in model.trainable_weights)
    1736518
    """
    block = block or cifar_block(depth)
    n = check_cifar_depth(depth, block)
    check_classes("cifar_resnet", num_classes)
    b = Builder(data_format, batchnorm=batchnorm)
    spec = b.attention(attention, attention_kwargs)
    inputs = keras.Input(input_shape)
    x = b.conv(inputs, 16, 3, name="stem_conv")
    if not preact:
        x = keras.layers.ReLU(name="stem_relu")(b.batch_norm(x, name="stem_bn"))
    x = residual_stages(
        b,
        x,
        (16, 32, 64),
        (n, n, n),
        block=preact_block if preact else residual_block,
        bottleneck=block == "bottleneck",
        attention=spec,
    )
    if preact:
        x = keras.layers.ReLU(name="final_relu")(b.batch_norm(x, name="final_bn"))
    outputs = _classifier(b, x, include_top, num_classes)
    tag = f"_{spec.tag}" if spec else ""
    prefix = "preact_" if preact else ""
    return keras.Model(inputs, outputs, name=name or f"{prefix}cifar_resnet{depth}{tag}")


def resnet(
    depth=50,
    attention=None,
    num_classes=1000,
    include_top=True,
    input_shape=(224, 224, 3),
    data_format=None,
    attention_kwargs=None,
    stride_on="1x1",
    batchnorm="keras",
    stem="7x7",
    stem_width=32,
    stem_pool="padded",
    avg_down=False,
    cardinality=1,
    width_per_group=64,
    group_width=None,
    activation="relu",
    attention_at="output",
    name=None,
):
    """ImageNet ResNet-18/26/34/50/101/152, convolutions without bias as in the SE and SSA code.

    By default a bottleneck strides its first 1x1 convolution, as the original ResNet, Caffe's
    SE-ResNet and `keras.applications.ResNet50` do (ResNet-50: 3.86 GMACs at 224x224, the
    papers' figure); `stride_on="3x3"` gives torchvision's layout (4.09 GMACs), with the same
    parameters.

    Args:
        depth: 18, 26 (bottlenecks, two per stage: timm's resnet26), 34, 50, 101 or 152.
        attention: a registered name, Layer class, Layer instance, callable or None.
        num_classes: classes of the Dense head.
        include_top: whether to end with global average pooling and the Dense head (logits).
        input_shape: input shape without batch; spatial sizes may be None.
        data_format: `"channels_last"` or `"channels_first"`.
        attention_kwargs: arguments for every attention block (SE's default reduction is 16).
        cardinality: groups of a bottleneck's 3x3 convolution (ResNeXt: 32; see `resnext`).
        width_per_group: channels per group of a bottleneck's inner convolutions, at the first
            stage (64 with one group is ResNet's bottleneck).
        stride_on: `"1x1"` or `"3x3"`: which convolution of a bottleneck strides.
        stem: `"7x7"` (one 7x7 convolution, stride 2), `"deep"` (three 3x3 convolutions of
            `stem_width`, `stem_width` and 64 filters, the first with stride 2: timm's "d"
            ResNets) or `"deep_tiered"` (`3 * stem_width // 4`, `stem_width`, 64: the "t"
            ResNets).
        stem_width: the first two widths of a deep stem (timm: 32).
        stem_pool: the stem's 3x3 max pool with stride 2: `"padded"` (PyTorch's padding 1,
            torchvision and timm) or `"ceil"` (no padding, ceil mode: the Caffe SENet's
            `pool0`, timm's `legacy_seresnet*`); None: no pool, a deep stem's last
            convolution strides 2 instead (timm's `gcresnet50t`).
        group_width: channels per group of a bottleneck's 3x3 convolution, whose width is
            then the stage's planes (64, 128, 256, 512): timm's ByobNet ResNeXts
            (`gcresnext50ts`: 32); instead of `cardinality`.
        activation: `"relu"`, or another Keras activation in every ReLU's place (timm's
            "ts" ResNets: `"silu"`).
        attention_at: where the block sits in a bottleneck: `"output"` (after its last BN,
            as SE-ResNet) or `"3x3"` (after the 3x3 convolution's BN and activation, on
            its inner width: timm's ByobNet ResNets, `gcresnet50t`, `eca_resnext26ts`).
        avg_down: strided shortcuts average-pool then apply a 1x1 convolution of stride 1
            (timm's "d" and "t" ResNets).
        batchnorm: `"keras"` or `"torch"`: the moving-variance update of every BatchNormalization,
            the blocks' included (`"torch"`, PyTorch's unbiased update, trains as the
            authors' PyTorch code; `keras_attention.papers` presets use it).

    Example:

    >>> sum(w.numpy().size for w in resnet(50, attention="se").trainable_weights)
    28088024
    """
    if depth not in DEPTHS:
        raise ValueError(f"resnet: depth must be one of {sorted(DEPTHS)}, got {depth}.")
    check_classes("resnet", num_classes)
    for option, value in (("cardinality", cardinality), ("width_per_group", width_per_group)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"resnet: {option} must be an integer >= 1, got {value!r}.")
    block, counts = DEPTHS[depth]
    if block != "bottleneck" and (cardinality, width_per_group) != (1, 64):
        raise ValueError(
            f"resnet: cardinality and width_per_group group a bottleneck's 3x3 convolution; "
            f"ResNet-{depth} has basic blocks (use depth 26, 50, 101 or 152)"
        )
    if stem_pool not in STEM_POOLS:
        raise ValueError(f"resnet: stem_pool must be one of {STEM_POOLS}, got {stem_pool!r}.")
    if stem_pool is None and stem == "7x7":
        raise ValueError(
            "resnet: stem_pool=None strides a deep stem's last convolution; "
            "the 7x7 stem needs its pool (use stem='deep' or 'deep_tiered')"
        )
    check_choice("resnet", "attention_at", attention_at, ATTENTION_PLACES)
    check_choice("resnet", "activation", activation, ACTIVATIONS)
    if group_width is not None and (
        isinstance(group_width, bool)
        or not isinstance(group_width, int)
        or group_width < 1
        or cardinality > 1
        or block != "bottleneck"
    ):
        raise ValueError(
            f"resnet: group_width groups a bottleneck's 3x3 convolution by channels per group "
            f"(an integer >= 1, without cardinality, depths 26, 50, 101, 152); got "
            f"group_width={group_width!r}, cardinality={cardinality}, depth={depth}"
        )
    b = Builder(data_format, batchnorm=batchnorm)
    inputs = keras.Input(input_shape)
    x = _stem(b, inputs, stem, stem_width, activation, last_stride=2 if stem_pool is None else 1)
    spec = b.attention(attention, attention_kwargs)
    if stem_pool is not None:
        # After ReLU, zero padding never wins the max: PyTorch's padding 1 both sides, or
        # ceil mode's one extra row and column at the bottom and right (which equals it
        # whatever the input's parity). SiLU's outputs reach -0.28: the pool pads -inf.
        pad = 1 if stem_pool == "padded" else ((0, 1), (0, 1))
        x = _max_pool_padded(b, x, pad, activation)
    x = residual_stages(
        b,
        x,
        (64, 128, 256, 512),
        counts,
        bottleneck=block == "bottleneck",
        attention=spec,
        stride_on=stride_on,
        avg_down=avg_down,
        cardinality=cardinality,
        base_width=width_per_group,
        group_width=group_width,
        activation=activation,
        attention_after=2 if attention_at == "3x3" else None,
    )
    outputs = _classifier(b, x, include_top, num_classes)
    tag = f"_{spec.tag}" if spec else ""
    grouped = f"_{cardinality}x{width_per_group}d" if cardinality > 1 else ""
    grouped += f"_gw{group_width}" if group_width else ""
    family = "resnext" if grouped else "resnet"
    return keras.Model(inputs, outputs, name=name or f"{family}{depth}{grouped}{tag}")


def resnext(
    depth=50, attention=None, cardinality=32, width_per_group=4, stride_on="3x3", **options
):
    """ResNeXt-26/50/101/152 (Xie et al., 2017): ResNet's bottlenecks with a grouped 3x3
    convolution of `cardinality` groups of `width_per_group` channels at the first stage
    (32x4d: 128 channels there, 2,048 at the last), on `resnet`'s stems and shortcuts, the
    3x3 convolution striding (timm's and the SE authors' SE-ResNeXts).

    With `attention="se"` it is SE-ResNeXt (SE after each grouped bottleneck's last BN, the SE
    paper's headline model: SE-ResNeXt-50 27,559,896 parameters); every other block sits at
    the same place.

    Args:
        depth: 26, 50, 101 or 152.
        attention: a registered name, Layer class, Layer instance, callable or None.
        cardinality: groups of each bottleneck's 3x3 convolution.
        width_per_group: channels per group at the first stage (doubling at every stage).
        stride_on: `"3x3"` (ResNeXt's and timm's) or `"1x1"`.
        **options: `resnet`'s other options (`num_classes`, `input_shape`, `stem`,
            `stem_pool`, `avg_down`, `attention_kwargs`, `batchnorm`, `data_format`, ...).

    Example:

    >>> model = resnext(50, attention="se")  # SE-ResNeXt-50 (32x4d)
    >>> sum(w.numpy().size for w in model.trainable_weights)
    27559896
    """
    if depth not in DEPTHS or DEPTHS[depth][0] != "bottleneck":
        raise ValueError(f"resnext: depth must be one of 26, 50, 101, 152, got {depth!r}.")
    return resnet(
        depth,
        attention=attention,
        stride_on=stride_on,
        cardinality=cardinality,
        width_per_group=width_per_group,
        **options,
    )


# timm's resnet26: bottlenecks, two per stage.
DEPTHS = {**IMAGENET_BLOCKS, 26: ("bottleneck", (2, 2, 2, 2))}


STEMS = ("7x7", "deep", "deep_tiered")
STEM_POOLS = ("padded", "ceil", None)
ACTIVATIONS = ("relu", "silu")
ATTENTION_PLACES = ("output", "3x3")


def _stem(b, inputs, stem, width, activation="relu", last_stride=1):
    """The convolutions before the max pool, ending in BN and the activation, 64 channels at
    stride 2 (4 with `last_stride=2`)."""
    if stem == "7x7":
        x = b.conv(inputs, 64, 7, 2, name="stem_conv")
        return activate(b.batch_norm(x, name="stem_bn"), activation, "stem_{}")
    if stem not in STEMS:
        raise ValueError(f"resnet: stem must be one of {STEMS}, got {stem!r}.")
    check_classes("resnet (stem_width)", width)
    first = 3 * (width // 4) if stem == "deep_tiered" else width
    x = inputs
    for i, (filters, stride) in enumerate(((first, 2), (width, 1)), start=1):
        x = b.conv(x, filters, 3, stride, name=f"stem_conv{i}")
        x = activate(b.batch_norm(x, name=f"stem_bn{i}"), activation, f"stem_{{}}{i}")
    x = b.conv(x, 64, 3, last_stride, name="stem_conv")
    return activate(b.batch_norm(x, name="stem_bn"), activation, "stem_{}")


def _max_pool_padded(b, x, pad, activation):
    """The stem's 3x3 max pool with stride 2 after zero padding `pad`, as PyTorch's, which
    pads -inf. Zeros never win the max of a ReLU's output; SiLU's reaches -0.28, so its map
    is lifted by 1 (above zero) for the pool and lowered back after (max commutes with adding
    a constant; float32 rounding aside, ~1e-7 of the values)."""
    lift = activation != "relu"
    if lift:
        x = keras.layers.Rescaling(1.0, offset=1.0, name="stem_pool_lift")(x)
    x = keras.layers.ZeroPadding2D(pad, data_format=b.data_format, name="stem_pool_pad")(x)
    x = keras.layers.MaxPooling2D(3, 2, data_format=b.data_format, name="stem_pool")(x)
    if lift:
        x = keras.layers.Rescaling(1.0, offset=-1.0, name="stem_pool_lower")(x)
    return x
