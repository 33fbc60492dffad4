"""PyTorch reference networks with the parameter names of torchvision's and timm's code.

torchvision and timm do not load on these machines (see the README), so the networks are
written here from their sources: torchvision/models/resnet.py and mobilenetv2.py (0.29.1);
timm 1.0.31's models/resnet.py (BasicBlock, Bottleneck, downsample_conv, downsample_avg, the
stems), layers/squeeze_excite.py (SEModule), layers/eca.py (EcaModule), layers/helpers.py
(make_divisible) and models/senet.py (the legacy SE-ResNets). The names of modules, and so the
state-dict keys, are theirs; the forward passes follow theirs line by line.
"""

import math

import torch
from torch import nn


def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    """timm/layers/helpers.py."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


class SEModule(nn.Module):
    """timm/layers/squeeze_excite.py: 1x1 convolutions with bias, ReLU, sigmoid."""

    def __init__(self, channels, rd_ratio=1.0 / 16, rd_divisor=8):
        super().__init__()
        rd_channels = make_divisible(channels * rd_ratio, rd_divisor, round_limit=0.0)
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


class EcaModule(nn.Module):
    """timm/layers/eca.py: k = max(odd(|log2 C + 1| / 2), 3), zero padding, no bias."""

    def __init__(self, channels, gamma=2, beta=1):
        super().__init__()
        t = int(abs(math.log(channels, 2) + beta) / gamma)
        kernel_size = max(t if t % 2 else t + 1, 3)
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)

    def forward(self, x):
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = self.conv(y)
        return x * torch.sigmoid(y).view(x.shape[0], -1, 1, 1)


ATTENTION = {None: None, "se": SEModule, "eca": EcaModule}
WIDTHS = (64, 128, 256, 512)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, attn=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = attn(planes) if attn else None
        self.act2 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        if self.se is not None:
            x = self.se(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act2(x + shortcut)


class Bottleneck(nn.Module):
    """torchvision's / timm's: the stride on the 3x3 convolution."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, attn=None):
        super().__init__()
        outplanes = planes * 4
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.act2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(planes, outplanes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(outplanes)
        self.se = attn(outplanes) if attn else None
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        if self.se is not None:
            x = self.se(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act3(x + shortcut)


def downsample_conv(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


def downsample_avg(cin, cout, stride):
    pool = (
        nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
        if stride != 1
        else nn.Identity()
    )
    return nn.Sequential(pool, nn.Conv2d(cin, cout, 1, 1, bias=False), nn.BatchNorm2d(cout))


LAYERS = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3))}
LAYERS.update({50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3))})


class ResNet(nn.Module):
    """timm's ResNet (torchvision's names for the plain one): `stem_type` '', 'deep' or
    'deep_tiered', `avg_down`, `attn` None, 'se' or 'eca'."""

    def __init__(self, depth, num_classes=1000, attn=None, stem_type="", avg_down=False):
        super().__init__()
        block, layers = LAYERS[depth]
        attn = ATTENTION[attn]
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
        for stage, (planes, count) in enumerate(zip(WIDTHS, layers, strict=True), start=1):
            blocks = []
            stride = 1 if stage == 1 else 2
            for index in range(count):
                downsample = None
                if index == 0 and (stride != 1 or inplanes != planes * block.expansion):
                    make = downsample_avg if avg_down else downsample_conv
                    downsample = make(inplanes, planes * block.expansion, stride)
                blocks.append(
                    block(inplanes, planes, stride if index == 0 else 1, downsample, attn)
                )
                inplanes = planes * block.expansion
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return self.fc(x.mean((2, 3)))


# --- timm/models/senet.py: the SE authors' (Caffe) SE-ResNets ----------------------------------


class LegacySEModule(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1)

    def forward(self, x):
        module_input = x
        x = x.mean((2, 3), keepdim=True)
        x = self.fc2(self.relu(self.fc1(x)))
        return module_input * torch.sigmoid(x)


class SEResNetBottleneck(nn.Module):
    """The stride on the first 1x1 convolution."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False, stride=stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = LegacySEModule(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            shortcut = self.downsample(x)
        return self.relu(self.se_module(out) + shortcut)


class SEResNetBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, padding=1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = LegacySEModule(planes)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            shortcut = self.downsample(x)
        return self.relu(self.se_module(out) + shortcut)


class LegacySENet(nn.Module):
    def __init__(self, depth, num_classes=1000):
        super().__init__()
        block = SEResNetBottleneck if LAYERS[depth][0] is Bottleneck else SEResNetBlock
        layers = LAYERS[depth][1]
        self.layer0 = nn.Sequential()
        self.layer0.add_module("conv1", nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False))
        self.layer0.add_module("bn1", nn.BatchNorm2d(64))
        self.layer0.add_module("relu1", nn.ReLU(inplace=True))
        self.layer0.add_module("pool0", nn.MaxPool2d(3, stride=2, ceil_mode=True))
        inplanes = 64
        for stage, (planes, count) in enumerate(zip(WIDTHS, layers, strict=True), start=1):
            blocks = []
            stride = 1 if stage == 1 else 2
            for index in range(count):
                downsample = None
                if index == 0 and (stride != 1 or inplanes != planes * block.expansion):
                    downsample = downsample_conv(inplanes, planes * block.expansion, stride)
                blocks.append(block(inplanes, planes, stride if index == 0 else 1, downsample))
                inplanes = planes * block.expansion
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.last_linear = nn.Linear(512 * block.expansion, num_classes)

    def forward(self, x):
        x = self.layer0(x)
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return self.last_linear(x.mean((2, 3)))


# --- torchvision/models/mobilenetv2.py ------------------------------------------------------------


def _conv_bn_relu6(cin, cout, kernel=3, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(_conv_bn_relu6(inp, hidden_dim, kernel=1))
        layers += [
            _conv_bn_relu6(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        settings = [
            [1, 16, 1, 1],
            [6, 24, 2, 2],
            [6, 32, 3, 2],
            [6, 64, 4, 2],
            [6, 96, 3, 1],
            [6, 160, 3, 2],
            [6, 320, 1, 1],
        ]
        features = [_conv_bn_relu6(3, 32, stride=2)]
        inp = 32
        for t, c, n, s in settings:
            for i in range(n):
                features.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        features.append(_conv_bn_relu6(inp, 1280, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.mean((2, 3)))


def randomize(net, seed=0):
    """Random weights and BatchNorm statistics, so that a swapped tensor shows in the logits."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(0.2 + 0.4 * torch.rand(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
            elif isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                scale = math.sqrt(1.0 / fan_in)
                module.weight.copy_(scale * torch.randn(module.weight.shape, generator=generator))
                if module.bias is not None:
                    module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
    return net.eval()


# --- the seed papers' code ------------------------------------------------------------------------


class SPEMBottleneck(nn.Module):
    """The SPEM code's block (github.com/Qrange-group/SPEM models/spem.py, 6f94c30); it takes
    and returns (x, penalty) as there."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        for name in ("w1", "b1", "w2", "b2"):
            setattr(self, name, nn.Parameter(torch.zeros(1, planes * 4, 1, 1)))
        self.p = nn.Parameter(torch.full((2,), 0.5))

    def forward(self, x):
        x, pm_sum = x
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        original_out = out
        max_ = nn.functional.adaptive_max_pool2d(out, (1, 1))
        min_ = out.min(dim=-1, keepdim=True).values.min(dim=-2, keepdim=True).values
        max_ = max_ * self.w2 + self.b2
        min_ = min_ * self.w2 + self.b2
        p_pow = torch.pow(self.p, 2)
        p = p_pow / torch.sum(p_pow)
        mix = (p[0] * max_ + p[1] * min_) * self.w1 + self.b1
        out = torch.sigmoid(min_ + max_) * torch.sigmoid(mix) * original_out
        out = self.relu(out + residual)
        return out, torch.pow(self.p, 2).sum() + pm_sum


class SPEMNet(nn.Module):
    def __init__(self, depth, num_classes=10):
        super().__init__()
        n = (depth - 2) // 9
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, n)
        self.layer2 = self._make_layer(32, n, stride=2)
        self.layer3 = self._make_layer(64, n, stride=2)
        self.fc = nn.Linear(256, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = downsample_conv(self.inplanes, planes * 4, stride)
        layers = [SPEMBottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [SPEMBottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x, _ = self.layer3(self.layer2(self.layer1((x, 0))))
        return self.fc(x.mean((2, 3)))  # AvgPool2d(8) on 32x32 inputs


class SalientBlock(nn.Module):
    """The SSA code's block (github.com/AmigoCDT/Salient-Net models/official_SSANet.py): its
    `conv` is created and never used."""

    def __init__(self, in_planes):
        super().__init__()
        self.conv = nn.Conv2d(in_planes, 1, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x):
        size_n, _, size_h, size_w = list(x.size())
        w = nn.functional.adaptive_avg_pool2d(x, 1)
        w = torch.mean(w * x, 1).view((size_n, 1, size_h, size_w))
        return torch.sigmoid(self.bn(w)) * x


class SalientBottleneck(Bottleneck):
    """torchvision's bottleneck with `Salient` after bn3 (the attribute name of the code)."""

    def __init__(self, inplanes, planes, stride=1, downsample=None, attn=None):
        super().__init__(inplanes, planes, stride, downsample)
        self.Salient = SalientBlock(planes * 4)

    def forward(self, x):
        identity = x
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.act2(self.bn2(self.conv2(out)))
        out = self.Salient(self.bn3(self.conv3(out)))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.act3(out + identity)


def salientnet50(num_classes=1000):
    net = ResNet(50, num_classes)
    inplanes = 64
    for stage, (planes, count) in enumerate(zip(WIDTHS, (3, 4, 6, 3), strict=True), start=1):
        old = getattr(net, f"layer{stage}")
        blocks = []
        for index in range(count):
            stride = 2 if stage > 1 and index == 0 else 1
            blocks.append(SalientBottleneck(inplanes, planes, stride, old[index].downsample))
            inplanes = planes * 4
        setattr(net, f"layer{stage}", nn.Sequential(*blocks))
    return net


class ResidualSEBlock(nn.Module):
    """pytorch-cifar100 models/senet.py (f162930): BasicResidualSEBlock (expansion 1) and
    BottleneckResidualSEBlock (expansion 4), convolutions with bias, the residual branch
    ending in BN -> ReLU."""

    def __init__(self, in_channels, out_channels, stride, r, bottleneck):
        super().__init__()
        self.expansion = 4 if bottleneck else 1
        out = out_channels * self.expansion
        if bottleneck:
            specs = [(in_channels, out_channels, 1, 1), (out_channels, out_channels, 3, stride)]
            specs.append((out_channels, out, 1, 1))
        else:
            specs = [(in_channels, out_channels, 3, stride), (out_channels, out, 3, 1)]
        layers = []
        for cin, cout, k, s in specs:
            layers += [nn.Conv2d(cin, cout, k, stride=s, padding=k // 2), nn.BatchNorm2d(cout)]
            layers.append(nn.ReLU(inplace=True))
        self.residual = nn.Sequential(*layers)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out, 1, stride=stride), nn.BatchNorm2d(out)
            )
        self.excitation = nn.Sequential(
            nn.Linear(out, out // r), nn.ReLU(inplace=True), nn.Linear(out // r, out), nn.Sigmoid()
        )

    def forward(self, x):
        shortcut = self.shortcut(x)
        residual = self.residual(x)
        excitation = self.excitation(residual.mean((2, 3)))
        x = residual * excitation.view(residual.size(0), residual.size(1), 1, 1) + shortcut
        return nn.functional.relu(x)


class CifarSEResNet(nn.Module):
    def __init__(self, depth, num_classes=100, r=16):
        super().__init__()
        block, counts = LAYERS[depth]
        bottleneck = block is Bottleneck
        self.pre = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        )
        channels = 64
        for stage, (planes, count) in enumerate(zip(WIDTHS, counts, strict=True), start=1):
            blocks = []
            for index in range(count):
                stride = 2 if stage > 1 and index == 0 else 1
                blocks.append(ResidualSEBlock(channels, planes, stride, r, bottleneck))
                channels = planes * (4 if bottleneck else 1)
            setattr(self, f"stage{stage}", nn.Sequential(*blocks))
        self.linear = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.pre(x)
        for stage in range(1, 5):
            x = getattr(self, f"stage{stage}")(x)
        return self.linear(x.mean((2, 3)))


def randomize_parameters(net, seed=1):
    """Random values for the bare parameters (SPEM's w1, b1, w2, b2, p) too."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if name.rsplit(".", 1)[-1] in ("w1", "b1", "w2", "b2", "p"):
                parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator))
    return net
