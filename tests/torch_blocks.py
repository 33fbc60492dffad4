"""PyTorch references for the attention blocks timm's ResNets take by name, and timm's resnet26t.

timm does not load on these machines (see the README), so the blocks are written here from
timm 1.0.31's sources, as in torch_references.py: layers/create_attn.py (which module, with
which defaults, each `attn_layer` name builds), layers/squeeze_excite.py (SEModule,
EffectiveSEModule), layers/eca.py (EcaModule, its `use_mlp` variant `ecam`, CecaModule),
layers/global_context.py (GlobalContext; `gca` is fuse_add=True, fuse_scale=False),
layers/mlp.py (ConvMlp), layers/norm.py (LayerNorm2d, GroupNorm1), layers/cbam.py (CbamModule,
LightCbamModule), layers/conv_bn_act.py (ConvNormAct, here a convolution and a BatchNorm2d:
BatchNormAct2d without its activation is BatchNorm2d in eval mode), layers/coord_attn.py
(SimpleCoordAttn, EfficientLocalAttn, StripAttn) and models/resnet.py (resnet26t).

The names of modules, and so the state-dict keys (in timm's order), are timm's; the forward
passes follow timm's line by line in eval mode. Checked against timm 1.0.31 (torch 2.14.1):
for every name in BLOCKS, `resnet26t(name)` and `timm.create_model("resnet26t",
block_args=dict(attn_layer=name))` have equal state-dict keys, shapes and order, and with
timm's state dict loaded strictly, the same eval logits (float32, bit for bit).

    BLOCKS[name](channels)          the module `create_attn(name, channels)` builds
    resnet26t(attn, num_classes)    timm's resnet26t, BLOCKS[attn] at each bottleneck's `se`
    randomize(net, seed)            torch_families.randomize, the norms' affine parameters too
"""

import math

import torch
import torch_families
import torch_references as R
from torch import nn
from torch.nn import functional as F

# --- layers/squeeze_excite.py ---------------------------------------------------------------------


class EffectiveSEModule(nn.Module):
    """'ese': one 1x1 convolution with bias, hard sigmoid gate (add_maxpool=False)."""

    def __init__(self, channels, add_maxpool=False):
        super().__init__()
        self.add_maxpool = add_maxpool
        self.fc = nn.Conv2d(channels, channels, kernel_size=1, padding=0)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        x_se = x.mean((2, 3), keepdim=True)
        if self.add_maxpool:
            x_se = 0.5 * x_se + 0.5 * x.amax((2, 3), keepdim=True)
        x_se = self.fc(x_se)
        return x * self.gate(x_se)


# --- layers/eca.py --------------------------------------------------------------------------------


def _eca_kernel_size(channels, gamma=2, beta=1):
    t = int(abs(math.log(channels, 2) + beta) / gamma)
    return max(t if t % 2 else t + 1, 3)


class EcaMlpModule(nn.Module):
    """'ecam', EcaModule(use_mlp=True): Conv1d `conv` 1 -> rd (k=1, bias), ReLU, Conv1d `conv2`
    rd -> 1 (k, bias), rd = make_divisible(C / 8, 8)."""

    def __init__(self, channels, rd_ratio=1 / 8, rd_divisor=8):
        super().__init__()
        kernel_size = _eca_kernel_size(channels)
        padding = (kernel_size - 1) // 2
        rd_channels = R.make_divisible(channels * rd_ratio, divisor=rd_divisor)
        self.conv = nn.Conv1d(1, rd_channels, kernel_size=1, padding=0, bias=True)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv1d(rd_channels, 1, kernel_size=kernel_size, padding=padding, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = self.conv(y)
        y = self.act(y)
        y = self.conv2(y)
        y = self.gate(y).view(x.shape[0], -1, 1, 1)
        return x * y.expand_as(x)


class CecaModule(nn.Module):
    """'ceca': ECA with circular padding of the channel axis, no bias."""

    def __init__(self, channels):
        super().__init__()
        kernel_size = _eca_kernel_size(channels)
        self.padding = (kernel_size - 1) // 2
        self.conv = nn.Conv1d(1, 1, kernel_size=kernel_size, padding=0, bias=False)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = F.pad(y, (self.padding, self.padding), mode="circular")
        y = self.conv(y)
        y = self.gate(y).view(x.shape[0], -1, 1, 1)
        return x * y.expand_as(x)


# --- layers/norm.py, layers/mlp.py, layers/global_context.py --------------------------------------


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor, eps 1e-6."""

    def __init__(self, num_channels, eps=1e-6, affine=True):
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class GroupNorm1(nn.GroupNorm):
    """GroupNorm with one group, eps 1e-5."""

    def __init__(self, num_channels):
        super().__init__(1, num_channels)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class ConvMlp(nn.Module):
    """1x1 convolutions `fc1`, `fc2` (bias), `norm` between, ReLU after the norm."""

    def __init__(self, in_features, hidden_features, norm_layer=LayerNorm2d):
        super().__init__()
        self.fc1 = nn.Conv2d(in_features, hidden_features, kernel_size=1, bias=True)
        self.norm = norm_layer(hidden_features)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(0.0)
        self.fc2 = nn.Conv2d(hidden_features, in_features, kernel_size=1, bias=True)

    def forward(self, x):
        x = self.fc1(x)
        x = self.norm(x)
        x = self.act(x)
        x = self.drop(x)
        return self.fc2(x)


class GlobalContext(nn.Module):
    """'gc' (fuse_scale) and 'gca' (fuse_add): attention pooling by `conv_attn`, then ConvMlp
    branches of C / 8 hidden units (make_divisible(C / 8, 1, round_limit=0))."""

    def __init__(self, channels, use_attn=True, fuse_add=False, fuse_scale=True, rd_ratio=1 / 8):
        super().__init__()
        self.conv_attn = nn.Conv2d(channels, 1, kernel_size=1, bias=True) if use_attn else None
        rd_channels = R.make_divisible(channels * rd_ratio, 1, round_limit=0.0)
        self.mlp_add = ConvMlp(channels, rd_channels) if fuse_add else None
        self.mlp_scale = ConvMlp(channels, rd_channels) if fuse_scale else None
        self.gate = nn.Sigmoid()

    def forward(self, x):
        B, C, H, W = x.shape
        if self.conv_attn is not None:
            attn = self.conv_attn(x).reshape(B, 1, H * W)
            attn = F.softmax(attn, dim=-1).unsqueeze(3)
            context = x.reshape(B, C, H * W).unsqueeze(1) @ attn
            context = context.view(B, C, 1, 1)
        else:
            context = x.mean(dim=(2, 3), keepdim=True)
        if self.mlp_scale is not None:
            mlp_x = self.mlp_scale(context)
            x = x * self.gate(mlp_x)
        if self.mlp_add is not None:
            mlp_x = self.mlp_add(context)
            x = x + mlp_x
        return x


# --- layers/cbam.py -------------------------------------------------------------------------------


class ConvNormAct(nn.Module):
    """ConvNormAct(cin, 1, k, apply_act=False): `conv` (no bias, padding k // 2) and `bn`."""

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False
        )
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn(self.conv(x))


class ChannelAttn(nn.Module):
    """CBAM's channel gate: a shared MLP of 1x1 convolutions without bias on the average- and
    the max-pooled input, summed; rd = make_divisible(C / 16, 1, round_limit=0)."""

    def __init__(self, channels, rd_ratio=1 / 16, mlp_bias=False):
        super().__init__()
        rd_channels = R.make_divisible(channels * rd_ratio, 1, round_limit=0.0)
        self.fc1 = nn.Conv2d(channels, rd_channels, 1, bias=mlp_bias)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd_channels, channels, 1, bias=mlp_bias)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        x_avg = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        x_max = self.fc2(self.act(self.fc1(x.amax((2, 3), keepdim=True))))
        return x * self.gate(x_avg + x_max)


class LightChannelAttn(ChannelAttn):
    """The MLP on the mean of the average and the max pool."""

    def forward(self, x):
        x_pool = 0.5 * x.mean((2, 3), keepdim=True) + 0.5 * x.amax((2, 3), keepdim=True)
        x_attn = self.fc2(self.act(self.fc1(x_pool)))
        return x * F.sigmoid(x_attn)


class SpatialAttn(nn.Module):
    """A 7x7 convolution and BN on the channel mean and max, stacked."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = ConvNormAct(2, 1, kernel_size)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        x_attn = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        x_attn = self.conv(x_attn)
        return x * self.gate(x_attn)


class LightSpatialAttn(nn.Module):
    """A 7x7 convolution and BN on the mean of the channel mean and max."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = ConvNormAct(1, 1, kernel_size)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        x_attn = 0.5 * x.mean(dim=1, keepdim=True) + 0.5 * x.amax(dim=1, keepdim=True)
        x_attn = self.conv(x_attn)
        return x * self.gate(x_attn)


class CbamModule(nn.Module):
    def __init__(self, channels, spatial_kernel_size=7):
        super().__init__()
        self.channel = ChannelAttn(channels)
        self.spatial = SpatialAttn(spatial_kernel_size)

    def forward(self, x):
        x = self.channel(x)
        return self.spatial(x)


class LightCbamModule(nn.Module):
    def __init__(self, channels, spatial_kernel_size=7):
        super().__init__()
        self.channel = LightChannelAttn(channels)
        self.spatial = LightSpatialAttn(spatial_kernel_size)

    def forward(self, x):
        x = self.channel(x)
        return self.spatial(x)


# --- layers/coord_attn.py -------------------------------------------------------------------------


class SimpleCoordAttn(nn.Module):
    """'scoord': Linears `fc1` (shared by the rows and the columns), `fc_h`, `fc_w` with bias,
    SiLU; rd = make_divisible(C / 4 * 2/3, 8, round_limit=0); the gate on a_h + a_w."""

    def __init__(self, channels, rd_ratio=0.25, rd_divisor=8, se_factor=2 / 3):
        super().__init__()
        rd_channels = R.make_divisible(channels * rd_ratio * se_factor, rd_divisor, round_limit=0.0)
        self.fc1 = nn.Linear(channels, rd_channels, bias=True)
        self.act = nn.SiLU()
        self.fc_h = nn.Linear(rd_channels, channels, bias=True)
        self.fc_w = nn.Linear(rd_channels, channels, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        identity = x
        x_h = x.mean(dim=3)  # (N, C, H)
        x_w = x.mean(dim=2)  # (N, C, W)
        x_h = self.act(self.fc1(x_h.transpose(1, 2)))  # (N, H, rd)
        x_w = self.act(self.fc1(x_w.transpose(1, 2)))  # (N, W, rd)
        a_h = self.fc_h(x_h).transpose(1, 2).unsqueeze(-1)  # (N, C, H, 1)
        a_w = self.fc_w(x_w).transpose(1, 2).unsqueeze(-2)  # (N, C, 1, W)
        return identity * self.gate(a_h + a_w)


class EfficientLocalAttn(nn.Module):
    """'ela': depthwise (7, 1) and (1, 7) convolutions without bias on the strip poolings,
    GroupNorm1, SiLU, a sigmoid gate each."""

    def __init__(self, channels, kernel_size=7):
        super().__init__()
        self.conv_h = nn.Conv2d(
            channels,
            channels,
            kernel_size=(kernel_size, 1),
            stride=1,
            padding=(kernel_size // 2, 0),
            groups=channels,
            bias=False,
        )
        self.conv_w = nn.Conv2d(
            channels,
            channels,
            kernel_size=(1, kernel_size),
            stride=1,
            padding=(0, kernel_size // 2),
            groups=channels,
            bias=False,
        )
        self.norm_h = GroupNorm1(channels)
        self.norm_w = GroupNorm1(channels)
        self.act = nn.SiLU()
        self.gate = nn.Sigmoid()

    def forward(self, x):
        identity = x
        x_h = x.mean(dim=3, keepdim=True)
        x_w = x.mean(dim=2, keepdim=True)
        x_h = self.act(self.norm_h(self.conv_h(x_h)))
        x_w = self.act(self.norm_w(self.conv_w(x_w)))
        a_h = self.gate(x_h)
        a_w = self.gate(x_w)
        return identity * a_h * a_w


class StripAttn(nn.Module):
    """'strip': depthwise (3, 1) and (1, 3) convolutions without bias on the strip poolings,
    one sigmoid gate on their (broadcast) sum."""

    def __init__(self, channels, kernel_size=3):
        super().__init__()
        self.conv_h = nn.Conv2d(
            channels,
            channels,
            kernel_size=(kernel_size, 1),
            stride=1,
            padding=(kernel_size // 2, 0),
            groups=channels,
            bias=False,
        )
        self.conv_w = nn.Conv2d(
            channels,
            channels,
            kernel_size=(1, kernel_size),
            stride=1,
            padding=(0, kernel_size // 2),
            groups=channels,
            bias=False,
        )
        self.gate = nn.Sigmoid()

    def forward(self, x):
        identity = x
        x_h = x.mean(dim=3, keepdim=True)
        x_w = x.mean(dim=2, keepdim=True)
        x_h = self.conv_h(x_h)
        x_w = self.conv_w(x_w)
        return identity * self.gate(x_h + x_w)


# timm's `attn_layer` name: the module create_attn(name, channels) builds (create_attn.py).
BLOCKS = {
    "se": R.SEModule,
    "ese": EffectiveSEModule,
    "eca": R.EcaModule,
    "ecam": EcaMlpModule,
    "ceca": CecaModule,
    "gc": GlobalContext,
    "gca": lambda channels: GlobalContext(channels, fuse_add=True, fuse_scale=False),
    "cbam": CbamModule,
    "lcbam": LightCbamModule,
    "scoord": SimpleCoordAttn,
    "ela": EfficientLocalAttn,
    "strip": StripAttn,
}


# --- models/resnet.py: resnet26t ------------------------------------------------------------------


class ResNet26t(R.ResNet):
    """timm's resnet26t (Bottleneck, layers (2, 2, 2, 2), stem 'deep_tiered' of width 32,
    avg_down=True) with BLOCKS[attn] at each bottleneck's `se`. torch_references.ResNet has no
    depth 26 and takes only 'se' and 'eca': its stem (the same as resnet18's, with these
    options) is kept, and the stages and the classifier rebuilt in its places, so the modules
    keep timm's order; the forward pass is ResNet's."""

    def __init__(self, attn=None, num_classes=1000):
        super().__init__(18, num_classes, None, stem_type="deep_tiered", avg_down=True)
        block = BLOCKS[attn] if attn else None
        inplanes = 64
        for stage, planes in enumerate(R.WIDTHS, start=1):
            stride = 1 if stage == 1 else 2
            blocks = []
            for index in range(2):
                downsample = None
                if index == 0 and (stride != 1 or inplanes != planes * 4):
                    downsample = R.downsample_avg(inplanes, planes * 4, stride)
                blocks.append(
                    R.Bottleneck(inplanes, planes, stride if index == 0 else 1, downsample, block)
                )
                inplanes = planes * 4
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.fc = nn.Linear(512 * 4, num_classes)


def resnet26t(attn=None, num_classes=1000):
    """timm.create_model("resnet26t", block_args=dict(attn_layer=attn), num_classes=...)."""
    return ResNet26t(attn, num_classes)


def randomize(net, seed=0, size=128):
    """torch_families.randomize (random convolutions and Linears, zero-initialised ones too,
    BN statistics measured on a random batch), after random affine parameters of the
    LayerNorms (GC's) and GroupNorms (ELA's), which it leaves at ones and zeros."""
    generator = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
                n = module.weight.numel()
                module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
    return torch_families.randomize(net, seed, size=size)
