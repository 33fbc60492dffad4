"""The checkpoint layouts of the ResNet family: torchvision's and timm's ResNets and ResNeXts (with
any block timm shares, `attn_layer=`), timm's ByobNets (`gcresnet50t`, `eca_resnext26ts`, ...),
and the papers' CIFAR ResNets (SPEM, SSA, SE-R).
"""

from keras_attention import catalog
from keras_attention.models.resnet import DEPTHS as RESNET_DEPTHS
from keras_attention.models.resnet import cifar_resnet, resnet
from keras_attention.models.se_resnet import cifar_se_resnet
from keras_attention.pretrained.tensors import Layout, block_modules, classifier_name, has_layer


def resnet_layout(family, groups, num_classes, input_shape, state):
    """torchvision's, timm's and the SE authors' (legacy) ImageNet ResNets and ResNeXts."""
    legacy = family.startswith("timm:legacy_")
    grouped = {}
    if family == "timm:legacy_seresnext":
        block, depth, variant = "se", int(groups[0]), None
        grouped = dict(cardinality=int(groups[1]), width_per_group=int(groups[2]))
    elif legacy:
        block, depth, variant = "se", int(groups[0]), None
    elif family == "torchvision:resnet":
        block, depth, variant = None, int(groups[0]), None
    else:
        block, depth, variant = groups[0], int(groups[1]), groups[2]
        if family == "timm:resnext":
            grouped = dict(cardinality=int(groups[3]), width_per_group=int(groups[4]))
    # The SE authors' SE-ResNet strides a bottleneck's first 1x1; their SE-ResNeXt its 3x3.
    options = dict(stride_on="1x1" if family == "timm:legacy_seresnet" else "3x3", **grouped)
    if variant:
        options.update(stem="deep" if variant == "d" else "deep_tiered", avg_down=True)
    if legacy:
        options.update(stem_pool="ceil")
    kwargs = None
    if block and not legacy:  # the arguments that make our block timm's (SE: C/16 to 8s)
        from keras_attention.pretrained.timm_blocks import TIMM_ATTENTION

        kwargs = TIMM_ATTENTION[block][1]
    model = resnet(
        depth,
        attention=block,
        num_classes=num_classes,
        input_shape=input_shape,
        attention_kwargs=kwargs,
        **options,
    )
    layer = model.get_layer
    modules = []
    if variant:
        for index, name in ((0, "stem_conv1"), (1, "stem_bn1"), (3, "stem_conv2")):
            modules.append((f"conv1.{index}", layer(name)))
        modules += [("conv1.4", layer("stem_bn2")), ("conv1.6", layer("stem_conv"))]
        modules.append(("bn1", layer("stem_bn")))
    else:
        stem = "layer0." if legacy else ""
        modules += [(f"{stem}conv1", layer("stem_conv")), (f"{stem}bn1", layer("stem_bn"))]
    modules += resnet_stages(model, depth, "se_module" if legacy else "se" if block else None)
    if variant:  # downsample.0 is the average pool (or Identity): no tensors
        modules = [(n.replace(".downsample.1", ".downsample.2"), m) for n, m in modules]
        modules = [(n.replace(".downsample.0", ".downsample.1"), m) for n, m in modules]
    classifier = classifier_name(family)
    modules.append((classifier, layer("predictions")))
    return Layout(model, modules, classifier)


def resnet_stages(model, depth, attention, counts=None):
    """`layerS.B.{convI,bnI}`, `layerS.B.ATTENTION` and `layerS.B.downsample.{0,1}`."""
    block, counts = RESNET_DEPTHS[depth] if counts is None else counts
    convs = 3 if block == "bottleneck" else 2
    modules = []
    for stage, count in enumerate(counts, start=1):
        for index in range(count):
            ours, theirs = f"stage{stage}_block{index + 1}", f"layer{stage}.{index}"
            where = None if attention is None else f"{theirs}.{attention}".rstrip(".")
            modules += block_modules(model.get_layer, ours, theirs, convs, where)
            if has_layer(model, f"{ours}_down"):
                modules.append((f"{theirs}.downsample.0", model.get_layer(f"{ours}_down")))
                modules.append((f"{theirs}.downsample.1", model.get_layer(f"{ours}_down_bn")))
    return modules


# timm's ByobNet ResNets (timm/models/byobnet.py model_cfgs): depth, block, `resnet` options.
# All have the tiered deep stem (24, 32, 64) and the block after the 3x3 convolution; the
# "ts" ones pool in the stem, group their 3x3 in 32s and use SiLU.
_TS = dict(group_width=32, activation="silu")


TIMM_BYOBNET = {
    "gcresnet50t": (50, "gca", dict(stem_pool=None)),
    "gcresnext50ts": (50, "gca", _TS),
    "resnext26ts": (26, None, _TS),
    "seresnext26ts": (26, "se", _TS),
    "eca_resnext26ts": (26, "eca", _TS),
    "gcresnext26ts": (26, "gca", _TS),
}


def byobnet_layout(family, groups, num_classes, input_shape, state):
    """timm's ByobNet ResNets: `stem.convI.{conv,bn}`, `stages.S.B.{conv1_1x1, conv2_kxk,
    conv3_1x1, shortcut}.{conv,bn}`, the block `stages.S.B.attn`, `head.fc`."""
    from keras_attention.pretrained.timm_blocks import TIMM_ATTENTION

    depth, block, options = TIMM_BYOBNET[groups[0]]
    model = resnet(
        depth,
        attention=block,
        num_classes=num_classes,
        input_shape=input_shape,
        attention_kwargs=TIMM_ATTENTION[block][1] if block else None,
        stem="deep_tiered",
        stride_on="3x3",
        attention_at="3x3",
        **options,
    )
    layer = model.get_layer
    modules = []
    for i, ours in enumerate(("stem_conv1", "stem_conv2", "stem_conv"), start=1):
        modules.append((f"stem.conv{i}.conv", layer(ours)))
        modules.append((f"stem.conv{i}.bn", layer(ours.replace("conv", "bn"))))
    names = {1: "conv1_1x1", 2: "conv2_kxk", 3: "conv3_1x1"}
    for stage, count in enumerate(RESNET_DEPTHS[depth][1], start=1):
        for index in range(count):
            ours, theirs = f"stage{stage}_block{index + 1}", f"stages.{stage - 1}.{index}"
            for i, name in names.items():
                modules.append((f"{theirs}.{name}.conv", layer(f"{ours}_conv{i}")))
                modules.append((f"{theirs}.{name}.bn", layer(f"{ours}_bn{i}")))
            if block:
                modules.append((f"{theirs}.attn", layer(f"{ours}_attention")))
            if has_layer(model, f"{ours}_down"):
                modules.append((f"{theirs}.shortcut.conv", layer(f"{ours}_down")))
                modules.append((f"{theirs}.shortcut.bn", layer(f"{ours}_down_bn")))
    modules.append(("head.fc", layer("predictions")))
    return Layout(model, modules, "head.fc")


def spem_layout(family, groups, num_classes, input_shape, state):
    """The SPEM code's CIFAR ResNet (models/spem.py): SPEM's parameters on the block."""
    depth = int(groups[0])
    model = cifar_resnet(depth, "spem", num_classes, block="bottleneck", input_shape=input_shape)
    n = catalog.check_cifar_depth(depth, "bottleneck")
    layer = model.get_layer
    modules = [("conv1", layer("stem_conv")), ("bn1", layer("stem_bn"))]
    modules += resnet_stages(model, depth, "", counts=("bottleneck", (n, n, n)))
    modules.append(("fc", layer("predictions")))
    return Layout(model, modules, "fc")


def ssa_layout(family, groups, num_classes, input_shape, state):
    """The SSA code's SSA-ResNet (official_SSANet.py): torchvision's layout, `Salient` after
    bn3; its `Salient.conv`, which `forward` never uses, is not read."""
    depth = int(groups[0])
    model = resnet(depth, "ssa", num_classes, input_shape=input_shape, stride_on="3x3")
    layer = model.get_layer
    modules = [("conv1", layer("stem_conv")), ("bn1", layer("stem_bn"))]
    modules += resnet_stages(model, depth, "Salient")
    modules.append(("fc", layer("predictions")))
    return Layout(model, modules, "fc", ignored=(".Salient.conv.weight",))


def se_r_layout(family, groups, num_classes, input_shape, state):
    """pytorch-cifar100's SE-ResNet (models/senet.py), which the SE-R code builds on:
    `pre`, `stageS.B.residual.*`, `excitation.{0,2}`, `shortcut.{0,1}`, `linear`."""
    depth = int(groups[0])
    block, counts = catalog.IMAGENET_BLOCKS[depth]
    excitation = state.get("stage1.0.excitation.0.weight")
    reduction = 16  # the code's default
    if excitation is not None and excitation.shape[0]:
        reduction = max(1, int(excitation.shape[1]) // int(excitation.shape[0]))
    model = cifar_se_resnet(
        depth, "se", reduction, num_classes=num_classes, input_shape=input_shape
    )
    layer = model.get_layer
    modules = [("pre.0", layer("stem_conv")), ("pre.1", layer("stem_bn"))]
    convs = 3 if block == "bottleneck" else 2
    for stage, count in enumerate(counts, start=1):
        for index in range(count):
            ours, theirs = f"stage{stage}_block{index + 1}", f"stage{stage}.{index}"
            for i in range(convs):  # residual: conv, BN, ReLU per convolution
                modules.append((f"{theirs}.residual.{3 * i}", layer(f"{ours}_conv{i + 1}")))
                modules.append((f"{theirs}.residual.{3 * i + 1}", layer(f"{ours}_bn{i + 1}")))
            modules.append((f"{theirs}.excitation", layer(f"{ours}_attention")))
            if has_layer(model, f"{ours}_down"):
                modules.append((f"{theirs}.shortcut.0", layer(f"{ours}_down")))
                modules.append((f"{theirs}.shortcut.1", layer(f"{ours}_down_bn")))
    modules.append(("linear", layer("main")))
    return Layout(model, modules, "linear", se=("0", "2", "linear"))
