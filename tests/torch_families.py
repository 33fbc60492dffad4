"""PyTorch reference networks for timm's EfficientNet, MobileNet-V3, RegNetY and ResNeXt families.

timm does not load on these machines (see the README), so the networks are written here from
its sources, as in torch_references.py: timm 1.0.x (read at huggingface/pytorch-image-models
1.0.29.dev0, commit aa4b585; checked against timm 1.0.31 with torch 2.14.1: equal state-dict keys
in the same order, equal logits) files
models/efficientnet.py (_gen_efficientnet), models/mobilenetv3.py (_gen_mobilenet_v3),
models/_efficientnet_builder.py (decode_arch_def, _scale_stage_depth, round_channels,
EfficientNetBuilder), models/_efficientnet_blocks.py (SqueezeExcite, ConvBnAct,
DepthwiseSeparableConv, InvertedResidual), models/regnet.py (generate_regnet,
adjust_widths_groups_comp, Bottleneck, RegStage, RegNet), models/resnet.py (Bottleneck with
cardinality and base_width, make_blocks, the stems), models/senet.py (SEResNeXtBottleneck, SENet),
models/byobnet.py (BottleneckBlock, Stem, create_byob_stem, create_byob_stages, the cfgs),
layers/padding.py, layers/conv2d_same.py (Conv2dSame), layers/create_conv2d.py,
layers/conv_bn_act.py (ConvNormAct), layers/norm_act.py (BatchNormAct2d),
layers/squeeze_excite.py (SEModule) and layers/helpers.py (make_divisible).

The names of modules, and so the state-dict keys (in timm's order), are timm's; the forward
passes follow timm's in eval mode (drop path, dropout and DropBlock are left out).

    efficientnet(variant, tf=False)           efficientnet_b0..b7, tf_efficientnet_b0..b7
    mobilenet_v3(size, tf=False, minimal=False, width=1.0)
                                              mobilenetv3_{large,small}_{050,075,100},
                                              tf_mobilenetv3_*, tf_mobilenetv3_*_minimal_100
    regnety(name)                             regnety_002, 004, 006, 008, 016, 032
    resnext(name)                             resnext50_32x4d, seresnext26d_32x4d,
                                              seresnext26t_32x4d, seresnext50_32x4d,
                                              seresnext101_32x4d
    legacy_seresnext(depth)                   legacy_seresnext26_32x4d / 50 / 101
    byobnet(name)                             resnext26ts, gcresnext26ts, seresnext26ts,
                                              eca_resnext26ts, gcresnet50t, gcresnext50ts
    build(timm_name)                          any of the above by timm's model name
"""

import math
import re
from copy import deepcopy

import torch
import torch_references as R
from torch import nn
from torch.nn import functional as F

make_divisible = R.make_divisible  # timm/layers/helpers.py
BN_EPS_TF_DEFAULT = 1e-3

# --- timm/layers: padding, Conv2dSame, create_conv2d, BatchNormAct2d, ConvNormAct -----------------


def get_padding(kernel_size, stride=1, dilation=1):
    """PyTorch-style symmetric padding: ((stride - 1) + dilation * (k - 1)) // 2."""
    return ((stride - 1) + dilation * (kernel_size - 1)) // 2


def get_same_padding(x, kernel_size, stride, dilation=1):
    """The total TensorFlow 'SAME' padding of one spatial dimension."""
    return max((math.ceil(x / stride) - 1) * stride + (kernel_size - 1) * dilation + 1 - x, 0)


class Conv2dSame(nn.Conv2d):
    """timm's Conv2dSame: TF 'SAME' padding computed from the input size (the smaller half on
    the top/left), then a convolution without padding."""

    def __init__(
        self, in_channels, out_channels, kernel_size, stride=1, dilation=1, groups=1, bias=True
    ):
        super().__init__(in_channels, out_channels, kernel_size, stride, 0, dilation, groups, bias)

    def forward(self, x):
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        pad_h = get_same_padding(ih, kh, self.stride[0], self.dilation[0])
        pad_w = get_same_padding(iw, kw, self.stride[1], self.dilation[1])
        x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation, self.groups)


def create_conv2d(
    in_chs, out_chs, kernel_size, stride=1, dilation=1, groups=1, bias=False, padding=""
):
    """timm's create_conv2d / create_conv2d_pad for an int kernel: padding '' is PyTorch's
    symmetric padding; 'same' is static symmetric padding where it can be (stride 1, odd
    dilated kernel), else Conv2dSame."""
    if padding == "same":
        if stride == 1 and (dilation * (kernel_size - 1)) % 2 == 0:
            pad = get_padding(kernel_size, stride, dilation)
        else:
            return Conv2dSame(in_chs, out_chs, kernel_size, stride, dilation, groups, bias)
    elif padding == "valid":
        pad = 0
    else:
        pad = get_padding(kernel_size, stride, dilation)
    return nn.Conv2d(in_chs, out_chs, kernel_size, stride, pad, dilation, groups, bias)


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d: BatchNorm2d -> drop (identity) -> act (identity without one)."""

    def __init__(self, num_features, eps=1e-5, act_layer=None):
        super().__init__(num_features, eps=eps)
        self.drop = nn.Identity()
        self.act = act_layer(inplace=True) if act_layer is not None else nn.Identity()

    def forward(self, x):
        return self.act(self.drop(super().forward(x)))


class ConvNormAct(nn.Module):
    """timm/layers/conv_bn_act.py: `conv` then `bn` (a BatchNormAct2d), no bias."""

    def __init__(
        self,
        in_chs,
        out_chs,
        kernel_size=1,
        stride=1,
        groups=1,
        act_layer=nn.ReLU,
        eps=1e-5,
        padding="",
    ):
        super().__init__()
        self.conv = create_conv2d(
            in_chs, out_chs, kernel_size, stride, groups=groups, padding=padding
        )
        self.bn = BatchNormAct2d(out_chs, eps, act_layer)

    def forward(self, x):
        return self.bn(self.conv(x))


# --- timm/models/_efficientnet_blocks.py ----------------------------------------------------------


class SqueezeExcite(nn.Module):
    """conv_reduce -> act1 -> conv_expand -> gate, on the spatial mean; 1x1 convs with bias."""

    def __init__(self, in_chs, rd_channels, act_layer=nn.ReLU, gate_layer=nn.Sigmoid):
        super().__init__()
        self.conv_reduce = nn.Conv2d(in_chs, rd_channels, 1, bias=True)
        self.act1 = act_layer(inplace=True)
        self.conv_expand = nn.Conv2d(rd_channels, in_chs, 1, bias=True)
        self.gate = gate_layer()

    def forward(self, x):
        x_se = x.mean((2, 3), keepdim=True)
        x_se = self.conv_reduce(x_se)
        x_se = self.act1(x_se)
        x_se = self.conv_expand(x_se)
        return x * self.gate(x_se)


class ConvBnAct(nn.Module):
    """The 'cn' block: conv -> bn1 (with act); the skip only when asked (never here)."""

    def __init__(
        self,
        in_chs,
        out_chs,
        kernel_size,
        stride=1,
        pad_type="",
        skip=False,
        act_layer=nn.ReLU,
        eps=1e-5,
        **_,
    ):
        super().__init__()
        self.has_skip = skip and stride == 1 and in_chs == out_chs
        self.conv = create_conv2d(in_chs, out_chs, kernel_size, stride, padding=pad_type)
        self.bn1 = BatchNormAct2d(out_chs, eps, act_layer)
        self.aa = nn.Identity()
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.aa(self.bn1(self.conv(x)))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class DepthwiseSeparableConv(nn.Module):
    """The 'ds' block: conv_dw -> bn1 (act) -> se -> conv_pw -> bn2 (no act) [+ x]."""

    def __init__(
        self,
        in_chs,
        out_chs,
        dw_kernel_size=3,
        stride=1,
        pad_type="",
        noskip=False,
        pw_act=False,
        act_layer=nn.ReLU,
        eps=1e-5,
        se_layer=None,
        **_,
    ):
        super().__init__()
        self.has_skip = (stride == 1 and in_chs == out_chs) and not noskip
        self.has_pw_act = pw_act
        self.conv_dw = create_conv2d(
            in_chs, in_chs, dw_kernel_size, stride, groups=in_chs, padding=pad_type
        )
        self.bn1 = BatchNormAct2d(in_chs, eps, act_layer)
        self.aa = nn.Identity()
        self.se = se_layer(in_chs, act_layer=act_layer) if se_layer else nn.Identity()
        self.conv_pw = create_conv2d(in_chs, out_chs, 1, padding=pad_type)
        self.bn2 = BatchNormAct2d(out_chs, eps, act_layer if pw_act else None)
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        x = self.bn1(x)
        x = self.aa(x)
        x = self.se(x)
        x = self.conv_pw(x)
        x = self.bn2(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class InvertedResidual(nn.Module):
    """The 'ir' block: conv_pw -> bn1 (act) -> conv_dw -> bn2 (act) -> se -> conv_pwl -> bn3
    [+ x]; mid_chs = make_divisible(in_chs * exp_ratio)."""

    def __init__(
        self,
        in_chs,
        out_chs,
        dw_kernel_size=3,
        stride=1,
        pad_type="",
        noskip=False,
        exp_ratio=1.0,
        act_layer=nn.ReLU,
        eps=1e-5,
        se_layer=None,
        **_,
    ):
        super().__init__()
        self.has_skip = (in_chs == out_chs and stride == 1) and not noskip
        mid_chs = make_divisible(in_chs * exp_ratio)
        self.conv_pw = create_conv2d(in_chs, mid_chs, 1, padding=pad_type)
        self.bn1 = BatchNormAct2d(mid_chs, eps, act_layer)
        self.conv_dw = create_conv2d(
            mid_chs, mid_chs, dw_kernel_size, stride, groups=mid_chs, padding=pad_type
        )
        self.bn2 = BatchNormAct2d(mid_chs, eps, act_layer)
        self.aa = nn.Identity()
        self.se = se_layer(mid_chs, act_layer=act_layer) if se_layer else nn.Identity()
        self.conv_pwl = create_conv2d(mid_chs, out_chs, 1, padding=pad_type)
        self.bn3 = BatchNormAct2d(out_chs, eps, None)
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv_pw(x)
        x = self.bn1(x)
        x = self.conv_dw(x)
        x = self.bn2(x)
        x = self.aa(x)
        x = self.se(x)
        x = self.conv_pwl(x)
        x = self.bn3(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


# --- timm/models/_efficientnet_builder.py ---------------------------------------------------------

_ACTS = {"re": nn.ReLU, "r6": nn.ReLU6, "hs": nn.Hardswish, "sw": nn.SiLU}
_BLOCKS = {"ds": DepthwiseSeparableConv, "ir": InvertedResidual, "cn": ConvBnAct}


def round_channels(channels, multiplier=1.0, divisor=8, channel_min=None, round_limit=0.9):
    if not multiplier:
        return channels
    return make_divisible(channels * multiplier, divisor, channel_min, round_limit=round_limit)


def _decode_block_str(block_str):
    """The subset of timm's block strings these families use: ds / ir / cn with r, k, s, e, c,
    se, n(re|r6|hs|sw) and noskip."""
    ops = block_str.split("_")
    block_type, ops = ops[0], ops[1:]
    options, skip = {}, None
    for op in ops:
        if op == "noskip":
            skip = False
        elif op == "skip":
            skip = True
        elif op.startswith("n"):
            if op[1:] in _ACTS:
                options["n"] = _ACTS[op[1:]]
        else:
            splits = re.split(r"(\d.*)", op)
            if len(splits) >= 2:
                options[splits[0]] = splits[1]
    args = dict(block_type=block_type, out_chs=int(options["c"]), stride=int(options["s"]))
    args["act_layer"] = options.get("n")
    if block_type == "ir":
        args.update(dw_kernel_size=int(options["k"]), exp_ratio=float(options["e"]))
        args.update(se_ratio=float(options.get("se", 0.0)), noskip=skip is False)
    elif block_type == "ds":
        args.update(dw_kernel_size=int(options["k"]), se_ratio=float(options.get("se", 0.0)))
        args.update(noskip=skip is False)
    elif block_type == "cn":
        args.update(kernel_size=int(options["k"]), skip=skip is True)
    else:
        raise ValueError(block_type)
    return args, int(options["r"])


def _scale_stage_depth(stack_args, repeats, depth_multiplier=1.0):
    """'ceil' depth truncation, distributed in reverse over the stage's block strings."""
    num_repeat = sum(repeats)
    num_repeat_scaled = int(math.ceil(num_repeat * depth_multiplier))
    repeats_scaled = []
    for r in repeats[::-1]:
        rs = max(1, round(r / num_repeat * num_repeat_scaled))
        repeats_scaled.append(rs)
        num_repeat -= r
        num_repeat_scaled -= rs
    repeats_scaled = repeats_scaled[::-1]
    scaled = []
    for ba, rep in zip(stack_args, repeats_scaled, strict=True):
        scaled.extend([deepcopy(ba) for _ in range(rep)])
    return scaled


def decode_arch_def(arch_def, depth_multiplier=1.0):
    arch_args = []
    for block_strings in arch_def:
        stack_args, repeats = [], []
        for block_str in block_strings:
            ba, rep = _decode_block_str(block_str)
            stack_args.append(ba)
            repeats.append(rep)
        arch_args.append(_scale_stage_depth(stack_args, repeats, depth_multiplier))
    return arch_args


class _SE:
    """timm's partial(se_layer, rd_ratio=...): SE channels = rd_round_fn(in_chs * rd_ratio)."""

    def __init__(self, rd_ratio, rd_round_fn=round, gate_layer=nn.Sigmoid, force_act_layer=None):
        self.rd_ratio, self.rd_round_fn = rd_ratio, rd_round_fn
        self.gate_layer, self.force_act_layer = gate_layer, force_act_layer

    def __call__(self, in_chs, act_layer):
        rd_channels = self.rd_round_fn(in_chs * self.rd_ratio)
        act_layer = self.force_act_layer or act_layer
        return SqueezeExcite(in_chs, rd_channels, act_layer, self.gate_layer)


def build_blocks(in_chs, arch_args, round_chs_fn, act_layer, eps, pad_type, se_from_exp, se_kwargs):
    """EfficientNetBuilder.__call__ / _make_block (output_stride 32, no dilation): the stages
    as nn.Sequentials, and the channels out of the last block."""
    stages = []
    for stack_args in arch_args:
        blocks = []
        for block_idx, ba in enumerate(deepcopy(stack_args)):
            if block_idx >= 1:
                ba["stride"] = 1
            block_cls = _BLOCKS[ba.pop("block_type")]
            ba["in_chs"] = in_chs
            ba["out_chs"] = round_chs_fn(ba["out_chs"])
            ba["pad_type"] = pad_type
            ba["act_layer"] = ba["act_layer"] if ba["act_layer"] is not None else act_layer
            ba["eps"] = eps
            se_ratio = ba.pop("se_ratio", None)
            if se_ratio:
                if not se_from_exp:
                    se_ratio /= ba.get("exp_ratio", 1.0)
                ba["se_layer"] = _SE(se_ratio, **se_kwargs)
            blocks.append(block_cls(**ba))
            in_chs = ba["out_chs"]
        stages.append(nn.Sequential(*blocks))
    return stages, in_chs


# --- timm/models/efficientnet.py ------------------------------------------------------------------

EFFICIENTNET_ARCH = [
    ["ds_r1_k3_s1_e1_c16_se0.25"],
    ["ir_r2_k3_s2_e6_c24_se0.25"],
    ["ir_r2_k5_s2_e6_c40_se0.25"],
    ["ir_r3_k3_s2_e6_c80_se0.25"],
    ["ir_r3_k5_s1_e6_c112_se0.25"],
    ["ir_r4_k5_s2_e6_c192_se0.25"],
    ["ir_r1_k3_s1_e6_c320_se0.25"],
]
# (channel_multiplier, depth_multiplier) of efficientnet_bN / tf_efficientnet_bN
EFFICIENTNET_PARAMS = {
    0: (1.0, 1.0),
    1: (1.0, 1.1),
    2: (1.1, 1.2),
    3: (1.2, 1.4),
    4: (1.4, 1.8),
    5: (1.6, 2.2),
    6: (1.8, 2.6),
    7: (2.0, 3.1),
}


class EfficientNet(nn.Module):
    """conv_stem -> bn1 (act) -> blocks -> conv_head -> bn2 (act) -> mean -> classifier."""

    def __init__(
        self,
        arch_args,
        num_classes=1000,
        num_features=1280,
        stem_size=32,
        round_chs_fn=round_channels,
        act_layer=nn.SiLU,
        eps=1e-5,
        pad_type="",
    ):
        super().__init__()
        stem_size = round_chs_fn(stem_size)
        self.conv_stem = create_conv2d(3, stem_size, 3, stride=2, padding=pad_type)
        self.bn1 = BatchNormAct2d(stem_size, eps, act_layer)
        stages, head_chs = build_blocks(
            stem_size,
            arch_args,
            round_chs_fn,
            act_layer,
            eps,
            pad_type,
            se_from_exp=False,
            se_kwargs={},
        )
        self.blocks = nn.Sequential(*stages)
        self.conv_head = create_conv2d(head_chs, num_features, 1, padding=pad_type)
        self.bn2 = BatchNormAct2d(num_features, eps, act_layer)
        self.num_features = num_features
        self.classifier = nn.Linear(num_features, num_classes)

    def forward_features(self, x):
        x = self.bn1(self.conv_stem(x))
        x = self.blocks(x)
        return self.bn2(self.conv_head(x))

    def forward(self, x):
        return self.classifier(self.forward_features(x).mean((2, 3)))


def efficientnet(variant, tf=False, num_classes=1000):
    """timm's efficientnet_b{variant} (tf=False: symmetric padding k // 2, BN eps 1e-5) or
    tf_efficientnet_b{variant} (tf=True: TF 'SAME' padding, BN eps 1e-3); variant 0..7 or
    'b0'..'b7'."""
    index = int(str(variant).lower().lstrip("b"))
    channel_multiplier, depth_multiplier = EFFICIENTNET_PARAMS[index]

    def round_chs_fn(channels):
        return round_channels(channels, multiplier=channel_multiplier, divisor=8)

    return EfficientNet(
        decode_arch_def(EFFICIENTNET_ARCH, depth_multiplier),
        num_classes=num_classes,
        num_features=round_chs_fn(1280),
        stem_size=32,
        round_chs_fn=round_chs_fn,
        act_layer=nn.SiLU,
        eps=BN_EPS_TF_DEFAULT if tf else 1e-5,
        pad_type="same" if tf else "",
    )


# --- timm/models/mobilenetv3.py -------------------------------------------------------------------

MOBILENET_V3_ARCH = {
    ("large", False): [
        ["ds_r1_k3_s1_e1_c16_nre"],
        ["ir_r1_k3_s2_e4_c24_nre", "ir_r1_k3_s1_e3_c24_nre"],
        ["ir_r3_k5_s2_e3_c40_se0.25_nre"],
        ["ir_r1_k3_s2_e6_c80", "ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"],
        ["ir_r2_k3_s1_e6_c112_se0.25"],
        ["ir_r3_k5_s2_e6_c160_se0.25"],
        ["cn_r1_k1_s1_c960"],
    ],
    ("large", True): [
        ["ds_r1_k3_s1_e1_c16"],
        ["ir_r1_k3_s2_e4_c24", "ir_r1_k3_s1_e3_c24"],
        ["ir_r3_k3_s2_e3_c40"],
        ["ir_r1_k3_s2_e6_c80", "ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"],
        ["ir_r2_k3_s1_e6_c112"],
        ["ir_r3_k3_s2_e6_c160"],
        ["cn_r1_k1_s1_c960"],
    ],
    ("small", False): [
        ["ds_r1_k3_s2_e1_c16_se0.25_nre"],
        ["ir_r1_k3_s2_e4.5_c24_nre", "ir_r1_k3_s1_e3.67_c24_nre"],
        ["ir_r1_k5_s2_e4_c40_se0.25", "ir_r2_k5_s1_e6_c40_se0.25"],
        ["ir_r2_k5_s1_e3_c48_se0.25"],
        ["ir_r3_k5_s2_e6_c96_se0.25"],
        ["cn_r1_k1_s1_c576"],
    ],
    ("small", True): [
        ["ds_r1_k3_s2_e1_c16"],
        ["ir_r1_k3_s2_e4.5_c24", "ir_r1_k3_s1_e3.67_c24"],
        ["ir_r1_k3_s2_e4_c40", "ir_r2_k3_s1_e6_c40"],
        ["ir_r2_k3_s1_e3_c48"],
        ["ir_r3_k3_s2_e6_c96"],
        ["cn_r1_k1_s1_c576"],
    ],
}


class MobileNetV3(nn.Module):
    """conv_stem -> bn1 (act) -> blocks -> mean -> conv_head (1x1, bias) -> act2 -> flatten ->
    classifier (timm's 'efficient head': no norm after conv_head)."""

    def __init__(
        self,
        arch_args,
        num_classes=1000,
        num_features=1280,
        stem_size=16,
        fix_stem=False,
        round_chs_fn=round_channels,
        act_layer=nn.Hardswish,
        eps=1e-5,
        pad_type="",
    ):
        super().__init__()
        if not fix_stem:
            stem_size = round_chs_fn(stem_size)
        self.conv_stem = create_conv2d(3, stem_size, 3, stride=2, padding=pad_type)
        self.bn1 = BatchNormAct2d(stem_size, eps, act_layer)
        se_kwargs = dict(
            rd_round_fn=round_channels, gate_layer=nn.Hardsigmoid, force_act_layer=nn.ReLU
        )
        stages, chs = build_blocks(
            stem_size,
            arch_args,
            round_chs_fn,
            act_layer,
            eps,
            pad_type,
            se_from_exp=True,
            se_kwargs=se_kwargs,
        )
        self.blocks = nn.Sequential(*stages)
        self.num_features = chs
        self.head_hidden_size = num_features
        self.conv_head = create_conv2d(chs, num_features, 1, bias=True, padding=pad_type)
        self.norm_head = nn.Identity()
        self.act2 = act_layer(inplace=True)
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Linear(num_features, num_classes)

    def forward_features(self, x):
        return self.blocks(self.bn1(self.conv_stem(x)))

    def forward(self, x):
        x = self.forward_features(x).mean((2, 3), keepdim=True)
        x = self.act2(self.norm_head(self.conv_head(x)))
        return self.classifier(self.flatten(x))


def mobilenet_v3(size="large", tf=False, minimal=False, width=1.0, num_classes=1000):
    """timm's [tf_]mobilenetv3_{size}[_minimal]_{int(width * 100):03d}: size 'large' or
    'small'; tf: TF 'SAME' padding and BN eps 1e-3; minimal: ReLU, 3x3 kernels, no SE (timm
    registers only the tf_ minimal models)."""
    act_layer = nn.ReLU if minimal else nn.Hardswish

    def round_chs_fn(channels):
        return round_channels(channels, multiplier=width)

    return MobileNetV3(
        decode_arch_def(MOBILENET_V3_ARCH[(size, bool(minimal))]),
        num_classes=num_classes,
        num_features=1024 if size == "small" else 1280,
        stem_size=16,
        fix_stem=width < 0.75,
        round_chs_fn=round_chs_fn,
        act_layer=act_layer,
        eps=BN_EPS_TF_DEFAULT if tf else 1e-5,
        pad_type="same" if tf else "",
    )


# --- timm/models/regnet.py ------------------------------------------------------------------------

# (w0, wa, wm, group_size, depth), all with se_ratio 0.25, bottle_ratio 1, stem 32, conv1x1 shortcut
REGNETY = {
    "regnety_002": (24, 36.44, 2.49, 8, 13),
    "regnety_004": (48, 27.89, 2.09, 8, 16),
    "regnety_006": (48, 32.54, 2.32, 16, 15),
    "regnety_008": (56, 38.84, 2.4, 16, 14),
    "regnety_016": (48, 20.71, 2.65, 24, 27),
    "regnety_032": (80, 42.63, 2.66, 24, 21),
}


def generate_regnet(width_slope, width_initial, width_mult, depth, group_size, quant=8):
    """timm's generate_regnet (float32 torch arithmetic, as there)."""
    widths_cont = torch.arange(depth, dtype=torch.float32) * width_slope + width_initial
    width_exps = torch.round(torch.log(widths_cont / width_initial) / math.log(width_mult))
    widths = torch.round((width_initial * torch.pow(width_mult, width_exps)) / quant) * quant
    num_stages = len(torch.unique(widths))
    return widths.int().tolist(), num_stages, [group_size] * num_stages


def regnet_stages(w0, wa, wm, group_size, depth, bottle_ratio=1.0):
    """RegNet._get_stage_args: [(out_chs, depth, group_size)] per stage, all stride 2."""
    widths, num_stages, stage_gs = generate_regnet(wa, w0, wm, depth, group_size)
    stage_widths, stage_depths = torch.unique(torch.tensor(widths), return_counts=True)
    stage_widths, stage_depths = stage_widths.tolist(), stage_depths.tolist()
    stage_br = [bottle_ratio] * num_stages
    # adjust_widths_groups_comp with min_ratio 0
    bottleneck_widths = [int(w * b) for w, b in zip(stage_widths, stage_br, strict=True)]
    stage_gs = [min(g, w_bot) for g, w_bot in zip(stage_gs, bottleneck_widths, strict=True)]
    bottleneck_widths = [
        int(round(w_bot / g) * g) for w_bot, g in zip(bottleneck_widths, stage_gs, strict=True)
    ]
    stage_widths = [int(w_bot / b) for w_bot, b in zip(bottleneck_widths, stage_br, strict=True)]
    return list(zip(stage_widths, stage_depths, stage_gs, strict=True))


class RegNetSE(nn.Module):
    """timm/layers/squeeze_excite.py SEModule with rd_channels given: fc1 -> bn (identity) ->
    act (ReLU) -> fc2 -> sigmoid."""

    def __init__(self, channels, rd_channels):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, rd_channels, kernel_size=1, bias=True)
        self.bn = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd_channels, channels, kernel_size=1, bias=True)

    def forward(self, x):
        x_se = x.mean((2, 3), keepdim=True)
        x_se = self.fc1(x_se)
        x_se = self.act(self.bn(x_se))
        x_se = self.fc2(x_se)
        return x * torch.sigmoid(x_se)


class RegBottleneck(nn.Module):
    """regnet.py Bottleneck: conv1 (1x1) -> conv2 (3x3, stride, groups) -> se -> conv3 (1x1, no
    act) -> + downsample(x) -> act3; the SE width is round(in_chs * se_ratio) of the block's
    input channels."""

    def __init__(self, in_chs, out_chs, stride=1, bottle_ratio=1.0, group_size=1, se_ratio=0.25):
        super().__init__()
        bottleneck_chs = int(round(out_chs * bottle_ratio))
        groups = bottleneck_chs // group_size
        self.conv1 = ConvNormAct(in_chs, bottleneck_chs, kernel_size=1)
        self.conv2 = ConvNormAct(bottleneck_chs, bottleneck_chs, 3, stride, groups=groups)
        if se_ratio:
            self.se = RegNetSE(bottleneck_chs, int(round(in_chs * se_ratio)))
        else:
            self.se = nn.Identity()
        self.conv3 = ConvNormAct(bottleneck_chs, out_chs, kernel_size=1, act_layer=None)
        self.act3 = nn.ReLU()
        if in_chs != out_chs or stride != 1:
            self.downsample = ConvNormAct(in_chs, out_chs, 1, stride, act_layer=None)
        else:
            self.downsample = nn.Identity()
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv1(x)
        x = self.conv2(x)
        x = self.se(x)
        x = self.conv3(x)
        x = self.drop_path(x) + self.downsample(shortcut)
        return self.act3(x)


class RegStage(nn.Module):
    def __init__(self, depth, in_chs, out_chs, stride, group_size, se_ratio):
        super().__init__()
        for i in range(depth):
            block_stride = stride if i == 0 else 1
            block_in_chs = in_chs if i == 0 else out_chs
            self.add_module(
                f"b{i + 1}",
                RegBottleneck(block_in_chs, out_chs, block_stride, 1.0, group_size, se_ratio),
            )

    def forward(self, x):
        for block in self.children():
            x = block(x)
        return x


class RegNetHead(nn.Module):
    """ClassifierHead: global_pool (avg) -> drop -> fc -> flatten; state-dict keys head.fc.*."""

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


class RegNet(nn.Module):
    """stem (ConvNormAct 3x3 s2, 32) -> s1..s4 (first block stride 2) -> final_conv (identity)
    -> head."""

    def __init__(
        self, w0, wa, wm, group_size, depth, se_ratio=0.25, stem_width=32, num_classes=1000
    ):
        super().__init__()
        self.stem = ConvNormAct(3, stem_width, 3, stride=2)
        prev_width = stem_width
        self.stage_args = regnet_stages(w0, wa, wm, group_size, depth)
        assert len(self.stage_args) == 4
        for i, (out_chs, stage_depth, gs) in enumerate(self.stage_args):
            stage = RegStage(stage_depth, prev_width, out_chs, 2, gs, se_ratio)
            self.add_module(f"s{i + 1}", stage)
            prev_width = out_chs
        self.final_conv = nn.Identity()
        self.num_features = prev_width
        self.head = RegNetHead(prev_width, num_classes)

    def forward_features(self, x):
        x = self.stem(x)
        x = self.s1(x)
        x = self.s2(x)
        x = self.s3(x)
        x = self.s4(x)
        return self.final_conv(x)

    def forward(self, x):
        return self.head(self.forward_features(x))


def regnety(name, num_classes=1000):
    """timm's regnety_002/004/006/008/016/032 (name with or without 'regnety_')."""
    name = name if str(name).startswith("regnety_") else f"regnety_{name}"
    return RegNet(*REGNETY[name], se_ratio=0.25, num_classes=num_classes)


# --- timm/models/resnet.py: ResNeXt / SE-ResNeXt --------------------------------------------------


class ResNeXtBottleneck(nn.Module):
    """resnet.py Bottleneck: width = floor(planes * base_width / 64) * cardinality, the stride
    and the groups on conv2, the attention (SEModule(planes * 4), 1/16 rounded to 8) after bn3."""

    expansion = 4

    def __init__(
        self, inplanes, planes, stride=1, downsample=None, cardinality=1, base_width=64, attn=None
    ):
        super().__init__()
        width = int(math.floor(planes * (base_width / 64)) * cardinality)
        first_planes = width
        outplanes = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, first_planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(first_planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(first_planes, width, 3, stride, 1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.drop_block = nn.Identity()
        self.act2 = nn.ReLU(inplace=True)
        self.aa = nn.Identity()
        self.conv3 = nn.Conv2d(width, outplanes, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(outplanes)
        self.se = attn(outplanes) if attn else None
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.aa(self.act2(self.drop_block(self.bn2(self.conv2(x)))))
        x = self.bn3(self.conv3(x))
        if self.se is not None:
            x = self.se(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act3(x + shortcut)


RESNEXT = {
    # layers, cardinality, base_width, attn, stem_type, avg_down
    "resnext50_32x4d": ((3, 4, 6, 3), 32, 4, None, "", False),
    "resnext101_32x4d": ((3, 4, 23, 3), 32, 4, None, "", False),
    "seresnext26d_32x4d": ((2, 2, 2, 2), 32, 4, "se", "deep", True),
    "seresnext26t_32x4d": ((2, 2, 2, 2), 32, 4, "se", "deep_tiered", True),
    "seresnext50_32x4d": ((3, 4, 6, 3), 32, 4, "se", "", False),
    "seresnext101_32x4d": ((3, 4, 23, 3), 32, 4, "se", "", False),
}


class ResNeXt(nn.Module):
    """timm's ResNet with Bottleneck(cardinality, base_width): the stems and downsamples of
    torch_references.ResNet (stem_width 32 for the deep stems, 'D' avg_down)."""

    def __init__(
        self,
        layers,
        cardinality=32,
        base_width=4,
        attn=None,
        stem_type="",
        avg_down=False,
        num_classes=1000,
    ):
        super().__init__()
        attn = R.ATTENTION[attn]
        inplanes = 64
        if "deep" in stem_type:
            stem_width = 32
            stem_chs = (3 * (stem_width // 4), stem_width) if "tiered" in stem_type else (32, 32)
            self.conv1 = nn.Sequential(
                nn.Conv2d(3, stem_chs[0], 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(stem_chs[0]),
                nn.ReLU(inplace=True),
                nn.Conv2d(stem_chs[0], stem_chs[1], 3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(stem_chs[1]),
                nn.ReLU(inplace=True),
                nn.Conv2d(stem_chs[1], inplanes, 3, stride=1, padding=1, bias=False),
            )
        else:
            self.conv1 = nn.Conv2d(3, inplanes, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        expansion = ResNeXtBottleneck.expansion
        for stage, (planes, count) in enumerate(zip(R.WIDTHS, layers, strict=True), start=1):
            blocks = []
            stride = 1 if stage == 1 else 2
            for index in range(count):
                downsample = None
                if index == 0 and (stride != 1 or inplanes != planes * expansion):
                    make = R.downsample_avg if avg_down else R.downsample_conv
                    downsample = make(inplanes, planes * expansion, stride)
                blocks.append(
                    ResNeXtBottleneck(
                        inplanes,
                        planes,
                        stride if index == 0 else 1,
                        downsample,
                        cardinality,
                        base_width,
                        attn,
                    )
                )
                inplanes = planes * expansion
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.num_features = 512 * expansion
        self.fc = nn.Linear(512 * expansion, num_classes)

    def forward_features(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return x

    def forward(self, x):
        return self.fc(self.forward_features(x).mean((2, 3)))


def resnext(name, num_classes=1000):
    """timm's resnext50_32x4d / resnext101_32x4d / seresnext26d_32x4d / seresnext26t_32x4d /
    seresnext50_32x4d / seresnext101_32x4d."""
    layers, cardinality, base_width, attn, stem_type, avg_down = RESNEXT[name]
    return ResNeXt(layers, cardinality, base_width, attn, stem_type, avg_down, num_classes)


# --- timm/models/senet.py: the SE authors' (Caffe) SE-ResNeXts ------------------------------------


class SEResNeXtBottleneck(nn.Module):
    """senet.py SEResNeXtBottleneck: width = floor(planes * base_width / 64) * groups, the stride
    on the grouped 3x3 conv2, se_module(planes * 4, reduction 16: channels // 16) before the
    sum."""

    expansion = 4

    def __init__(
        self, inplanes, planes, groups, reduction, stride=1, downsample=None, base_width=4
    ):
        super().__init__()
        width = math.floor(planes * (base_width / 64)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, kernel_size=1, bias=False, stride=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = R.LegacySEModule(planes * 4, reduction=reduction)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            shortcut = self.downsample(x)
        return self.relu(self.se_module(out) + shortcut)


LEGACY_SERESNEXT = {26: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class LegacySEResNeXt(nn.Module):
    """senet.py SENet(SEResNeXtBottleneck, groups 32, reduction 16): layer0 (conv1 7x7 s2, bn1,
    relu1), pool0 (max 3x3 s2, ceil_mode), layer1..4 (1x1 downsample), mean, last_linear."""

    def __init__(self, layers, groups=32, reduction=16, num_classes=1000):
        super().__init__()
        self.layer0 = nn.Sequential()
        self.layer0.add_module("conv1", nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False))
        self.layer0.add_module("bn1", nn.BatchNorm2d(64))
        self.layer0.add_module("relu1", nn.ReLU(inplace=True))
        self.pool0 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        inplanes = 64
        block = SEResNeXtBottleneck
        for stage, (planes, count) in enumerate(zip(R.WIDTHS, layers, strict=True), start=1):
            stride = 1 if stage == 1 else 2
            downsample = None
            if stride != 1 or inplanes != planes * block.expansion:
                downsample = R.downsample_conv(inplanes, planes * block.expansion, stride)
            blocks = [block(inplanes, planes, groups, reduction, stride, downsample)]
            inplanes = planes * block.expansion
            blocks += [block(inplanes, planes, groups, reduction) for _ in range(1, count)]
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.num_features = 512 * block.expansion
        self.last_linear = nn.Linear(512 * block.expansion, num_classes)

    def forward_features(self, x):
        x = self.pool0(self.layer0(x))
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return x

    def forward(self, x):
        return self.last_linear(self.forward_features(x).mean((2, 3)))


def legacy_seresnext(depth, num_classes=1000):
    """timm's legacy_seresnext{26,50,101}_32x4d."""
    return LegacySEResNeXt(LEGACY_SERESNEXT[int(depth)], num_classes=num_classes)


# --- timm/models/byobnet.py: ResNe(X)ts with attention in the bottleneck --------------------------

# depths, group size (None: one group), stem_pool, act_layer, attn_layer of timm's ByoModelCfg; all
# have the 'tiered' stem of 64, 'bottle' blocks of c = 256..2048 (br 0.25, strides 1, 2, 2, 2) and
# conv1x1 shortcuts, and no attn_kwargs
BYOBNET = {
    "resnext26ts": ((2, 2, 2, 2), 32, "maxpool", nn.SiLU, None),
    "gcresnext26ts": ((2, 2, 2, 2), 32, "maxpool", nn.SiLU, "gca"),
    "seresnext26ts": ((2, 2, 2, 2), 32, "maxpool", nn.SiLU, "se"),
    "eca_resnext26ts": ((2, 2, 2, 2), 32, "maxpool", nn.SiLU, "eca"),
    "gcresnet50t": ((3, 4, 6, 3), None, "", nn.ReLU, "gca"),
    "gcresnext50ts": ((3, 4, 6, 3), 32, "maxpool", nn.SiLU, "gca"),
}


def byob_attn(name):
    """create_attn's module class: 'se' SEModule (1/16, divisor 8), 'eca' EcaModule, 'gca'
    GlobalContext(fuse_add=True, fuse_scale=False) (1/8, divisor 1)."""
    if name == "gca":
        import torch_blocks  # it imports this module, so not at the top

        return lambda chs: torch_blocks.GlobalContext(chs, fuse_add=True, fuse_scale=False)
    return R.ATTENTION[name]


class ByobBottleneck(nn.Module):
    """byobnet.py BottleneckBlock: shortcut (ConvNormAct 1x1, stride, no act, where the shape
    changes) | conv1_1x1 -> conv2_kxk (3x3, stride, groups mid // gs) -> attn(mid) -> conv3_1x1
    (no act), then act(x + shortcut); mid = make_divisible(out_chs / 4)."""

    def __init__(self, in_chs, out_chs, stride, group_size, act_layer, attn):
        super().__init__()
        mid = make_divisible(out_chs * 0.25)
        groups = mid // group_size if group_size else 1
        self.shortcut = nn.Identity()
        if in_chs != out_chs or stride != 1:
            self.shortcut = ConvNormAct(in_chs, out_chs, 1, stride, act_layer=None)
        self.conv1_1x1 = ConvNormAct(in_chs, mid, 1, act_layer=act_layer)
        self.conv2_kxk = ConvNormAct(mid, mid, 3, stride, groups, act_layer=act_layer)
        self.attn = attn(mid) if attn else nn.Identity()
        self.conv3_1x1 = ConvNormAct(mid, out_chs, 1, act_layer=None)
        self.act = act_layer(inplace=True)

    def forward(self, x):
        shortcut = self.shortcut(x)
        x = self.conv3_1x1(self.attn(self.conv2_kxk(self.conv1_1x1(x))))
        return self.act(x + shortcut)


class ByobResNet(nn.Module):
    """ByobNet: stem 'tiered' (ConvNormAct 3x3 24 s2, 32, 64 -- s2 where there is no pool --
    then pool, max 3x3 s2) -> stages.0..3 -> final_conv (identity) -> head (avg, fc)."""

    def __init__(
        self,
        depths,
        group_size=None,
        stem_pool="maxpool",
        act_layer=nn.ReLU,
        attn=None,
        num_classes=1000,
    ):
        super().__init__()
        self.stem = nn.Sequential()
        strides = (2, 1, 1 if stem_pool else 2)
        for i, (cin, cout, s) in enumerate(zip((3, 24, 32), (24, 32, 64), strides, strict=True)):
            self.stem.add_module(f"conv{i + 1}", ConvNormAct(cin, cout, 3, s, act_layer=act_layer))
        if stem_pool:
            self.stem.add_module("pool", nn.MaxPool2d(3, 2, padding=1))
        attn, in_chs = byob_attn(attn), 64
        self.stages = nn.Sequential()
        for stage, (out_chs, depth) in enumerate(zip(R.WIDTHS, depths, strict=True)):
            blocks = []
            for index in range(depth):
                stride = 2 if stage and not index else 1
                blocks.append(
                    ByobBottleneck(in_chs, out_chs * 4, stride, group_size, act_layer, attn)
                )
                in_chs = out_chs * 4
            self.stages.append(nn.Sequential(*blocks))
        self.final_conv = nn.Identity()
        self.num_features = in_chs
        self.head = RegNetHead(in_chs, num_classes)

    def forward_features(self, x):
        return self.final_conv(self.stages(self.stem(x)))

    def forward(self, x):
        return self.head(self.forward_features(x))


def byobnet(name, num_classes=1000):
    """timm's resnext26ts, gcresnext26ts, seresnext26ts, eca_resnext26ts, gcresnet50t and
    gcresnext50ts."""
    return ByobResNet(*BYOBNET[name], num_classes=num_classes)


# --- random weights that keep the signal ----------------------------------------------------------


def randomize(net, seed=0, size=128, batch=8):
    """Random weights with BatchNorm statistics measured on a random batch, then perturbed.

    torch_references.randomize (BN scales 0.2-0.6 on uncalibrated statistics) shrinks the signal
    through the deep MBConv stacks until EfficientNet's and MobileNet-V3's logits no longer
    depend on the input (the two images of a batch agree to ~1e-7). Here the convolutions are
    He-scaled, the BN scales 0.5-1.5, and in one eval-mode pass over a random (batch, 3, size,
    size) input each BatchNorm2d takes, just before it runs, the mean and variance of its own
    input as running statistics, moved by mean +- 0.1 std and var x 0.8-1.25. Activations stay
    of order one and the logits depend on the image, its borders and padding included. (Measured
    at a smaller size than the test inputs, the statistics of the deep, few-pixel layers drift
    and the residual stream grows; 128 keeps inputs of 64-128 pixels in range.)"""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
            elif isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                scale = math.sqrt((1.0 if isinstance(module, nn.Linear) else 2.0) / fan_in)
                module.weight.copy_(scale * torch.randn(module.weight.shape, generator=generator))
                if module.bias is not None:
                    module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))

        def measure(module, inputs):
            x = inputs[0]
            n = module.num_features
            var = x.var((0, 2, 3), unbiased=False) + 1e-3
            mean = x.mean((0, 2, 3)) + 0.1 * var.sqrt() * torch.randn(n, generator=generator)
            module.running_mean.copy_(mean)
            module.running_var.copy_(var * (0.8 + 0.45 * torch.rand(n, generator=generator)))

        hooks = [
            m.register_forward_pre_hook(measure)
            for m in net.modules()
            if isinstance(m, nn.BatchNorm2d)
        ]
        net.eval()
        try:
            net(torch.randn(batch, 3, size, size, generator=generator))
        finally:
            for hook in hooks:
                hook.remove()
    return net


# --- by timm's model name -------------------------------------------------------------------------


def build(name, num_classes=1000):
    """The reference network of a timm model name (those listed in the module docstring)."""
    m = re.fullmatch(r"(tf_)?efficientnet_b([0-7])", name)
    if m:
        return efficientnet(int(m.group(2)), tf=bool(m.group(1)), num_classes=num_classes)
    m = re.fullmatch(r"(tf_)?mobilenetv3_(large|small)(_minimal)?_(\d{3})", name)
    if m:
        return mobilenet_v3(
            m.group(2),
            tf=bool(m.group(1)),
            minimal=bool(m.group(3)),
            width=int(m.group(4)) / 100,
            num_classes=num_classes,
        )
    if name in REGNETY:
        return regnety(name, num_classes)
    if name in RESNEXT:
        return resnext(name, num_classes)
    if name in BYOBNET:
        return byobnet(name, num_classes)
    m = re.fullmatch(r"legacy_seresnext(\d+)_32x4d", name)
    if m:
        return legacy_seresnext(int(m.group(1)), num_classes)
    raise KeyError(name)


TIMM_NAMES = (
    [f"efficientnet_b{i}" for i in range(8)]
    + [f"tf_efficientnet_b{i}" for i in range(8)]
    + [f"mobilenetv3_{s}_100" for s in ("large", "small")]
    + [f"tf_mobilenetv3_{s}_100" for s in ("large", "small")]
    + [f"tf_mobilenetv3_{s}_minimal_100" for s in ("large", "small")]
    + ["mobilenetv3_large_075", "mobilenetv3_small_050", "mobilenetv3_small_075"]
    + list(REGNETY)
    + list(RESNEXT)
    + [f"legacy_seresnext{d}_32x4d" for d in LEGACY_SERESNEXT]
    + list(BYOBNET)
)
