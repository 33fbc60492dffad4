"""timm's attention blocks in this package's layers: state-dict keys and constructor arguments.

`TIMM_ATTENTION` gives, for each block that timm's `create_attn` (timm/layers/create_attn.py)
and this package share, timm's `attn_layer` name and the arguments that make our block compute
the module `create_attn(name, C)` builds with its defaults, as timm's ResNet `Bottleneck` does
(`self.se = create_attn(attn_layer, outplanes)` after bn3, timm/models/resnet.py:246).
`block_tensors(layer, prefix)` lists the `Tensor`s of one block under its PyTorch module name.

Line numbers are timm 1.0.31's (`timm/layers/`). Checked: timm's `resnet26t` with each
`attn_layer` below, every parameter and BatchNorm statistic random, gives our network's logits.
Not here: `coord` (timm's CoordAttn rounds its hidden width to a multiple of 8 of C * 2/3 / 16:
8, 24, 40, 88 for C = 256..2048; ours is `max(min_units, C // reduction)`, which no single
setting makes equal; its keys are still listed, those of the authors' CoordAtt, whose widths
ours has) and `ge` (timm's GatherExcite fails to build from `create_attn`: its `ConvMlp` gets
`act_layer` twice).
"""

from keras_attention.layers.cbam import CBAM
from keras_attention.layers.coordinate_attention import CoordinateAttention
from keras_attention.layers.eca import ECA
from keras_attention.layers.effective_se import EffectiveSE
from keras_attention.layers.efficient_local_attention import EfficientLocalAttention
from keras_attention.layers.global_context import GlobalContext
from keras_attention.layers.simple_coordinate_attention import SimpleCoordinateAttention
from keras_attention.layers.squeeze_excitation import SqueezeExcitation
from keras_attention.layers.strip_attention import StripAttention
from keras_attention.pretrained.tensors import SE_POINTWISE, Tensor

# Our name: (timm's `attn_layer`, our block's arguments).
TIMM_ATTENTION = {
    "se": ("se", {"rd_divisor": 8}),  # SEModule: rd = make_divisible(C / 16, 8)
    "ese": ("ese", {}),
    "eca": ("eca", {"min_kernel_size": 3}),  # EcaModule: k >= 3
    "ecam": ("ecam", {"min_kernel_size": 3}),
    "ceca": ("ceca", {"min_kernel_size": 3}),
    "gc": ("gc", {}),
    "gca": ("gca", {}),
    # ChannelAttn: mlp_bias=False; its rd = round(C / 16) is our C // 16 where 16 divides C
    # (every ResNet width).
    "cbam": ("cbam", {"use_bias": False}),
    "lcbam": ("lcbam", {}),
    "scoord": ("scoord", {}),
    "ela": ("ela", {}),
    "strip": ("strip", {}),
}


def _weights(layer, prefix, layout="conv"):
    """A convolution's or Dense layer's `weight` and, if it has one, `bias`."""
    found = [Tensor(f"{prefix}.weight", layer.kernel, layout)]
    if layer.use_bias:
        found.append(Tensor(f"{prefix}.bias", layer.bias, "vector"))
    return found


def _norm(layer, prefix):
    """BatchNorm's `weight`, `bias`, `running_mean`, `running_var`; a LayerNorm's or
    GroupNorm's `weight`, `bias`."""
    names = ("weight", "bias", "running_mean", "running_var")
    pairs = zip(names, layer.weights, strict=False)  # a LayerNorm or GroupNorm has two
    return [Tensor(f"{prefix}.{n}", v, "vector") for n, v in pairs]


def _se(layer, prefix, se=SE_POINTWISE):
    """SEModule (squeeze_excite.py:21-66) and CBAM's ChannelAttn (cbam.py:21-45): 1x1
    convolutions `fc1`, `fc2`; `se` names the two layers and their kind in other codes
    (timm's MBConv SqueezeExcite: `conv_reduce`, `conv_expand`; pytorch-cifar100: Linears)."""
    squeeze, excite, kind = se
    return _weights(layer.squeeze, f"{prefix}.{squeeze}", kind) + _weights(
        layer.excite, f"{prefix}.{excite}", kind
    )


def _ese(layer, prefix):
    """EffectiveSEModule (squeeze_excite.py:69-94): one 1x1 convolution `fc`."""
    return _weights(layer.fc, f"{prefix}.fc", "pointwise")


def _eca(layer, prefix):
    """EcaModule and CecaModule (eca.py:46-167): Conv1d `conv`; with the MLP (`ecam`),
    `conv` 1 -> rd and `conv2` rd -> 1 (eca.py:83-91)."""
    if layer.use_mlp:
        return _weights(layer.expand, f"{prefix}.conv", "conv1d") + _weights(
            layer.conv, f"{prefix}.conv2", "conv1d"
        )
    return _weights(layer.conv, f"{prefix}.conv", "conv1d")


def _gc(layer, prefix):
    """GlobalContext (global_context.py:21-84): `conv_attn`, then per branch a ConvMlp
    (mlp.py) `mlp_scale` / `mlp_add` of `fc1`, LayerNorm2d `norm`, `fc2`."""
    found = _weights(layer.conv_attn, f"{prefix}.conv_attn") if layer.use_attn else []
    for name in ("mlp_add", "mlp_scale"):  # timm's order
        mlp = getattr(layer, name)
        if mlp is not None:
            found += _weights(mlp.fc1, f"{prefix}.{name}.fc1", "pointwise")
            found += _norm(mlp.norm, f"{prefix}.{name}.norm")
            found += _weights(mlp.fc2, f"{prefix}.{name}.fc2", "pointwise")
    return found


def _cbam(layer, prefix):
    """CbamModule and LightCbamModule (cbam.py:115-180): `channel.fc1/fc2`, and the spatial
    gate's ConvNormAct `spatial.conv.conv`, `spatial.conv.bn`."""
    return (
        _se(layer.channel_attention, f"{prefix}.channel")
        + _weights(layer.spatial_conv, f"{prefix}.spatial.conv.conv")
        + _norm(layer.spatial_norm, f"{prefix}.spatial.conv.bn")
    )


def _coord(layer, prefix):
    """CoordAttn (coord_attn.py:23-98; the authors' CoordAtt has the same names): `conv1`,
    `bn1`, `conv_h`, `conv_w`."""
    return (
        _weights(layer.transform, f"{prefix}.conv1")
        + _norm(layer.norm, f"{prefix}.bn1")
        + _weights(layer.attend_rows, f"{prefix}.conv_h")
        + _weights(layer.attend_columns, f"{prefix}.conv_w")
    )


def _scoord(layer, prefix):
    """SimpleCoordAttn (coord_attn.py:101-173): Linears `fc1`, `fc_h`, `fc_w` (ours are 1x1
    convolutions)."""
    names = ("fc1", "fc_h", "fc_w")
    return [t for n in names for t in _weights(getattr(layer, n), f"{prefix}.{n}", "linear_1x1")]


def _strip(layer, prefix):
    """StripAttn (coord_attn.py:263-340): depthwise `conv_h` (k, 1) and `conv_w` (1, k)."""
    return _weights(layer.conv_h, f"{prefix}.conv_h", "depthwise") + _weights(
        layer.conv_w, f"{prefix}.conv_w", "depthwise"
    )


def _ela(layer, prefix):
    """EfficientLocalAttn (coord_attn.py:176-260): strip attention's convolutions, and
    GroupNorm1 `norm_h`, `norm_w`."""
    return (
        _strip(layer, prefix)
        + _norm(layer.norm_h, f"{prefix}.norm_h")
        + _norm(layer.norm_w, f"{prefix}.norm_w")
    )


# Our block class: its tensors. A subclass takes its nearest listed base's (ECAMLP, LightCBAM).
_BLOCKS = {
    SqueezeExcitation: _se,
    EffectiveSE: _ese,
    ECA: _eca,
    GlobalContext: _gc,
    CBAM: _cbam,
    CoordinateAttention: _coord,
    SimpleCoordinateAttention: _scoord,
    StripAttention: _strip,
    EfficientLocalAttention: _ela,
}


def block_tensors(layer, prefix, se=SE_POINTWISE):
    """The `Tensor`s of one of our attention blocks under timm's module name `prefix` (such as
    `"layer1.0.se"`), in state-dict order; None for a class with no timm layout here. `se`
    names an SE block's layers where the code is not timm's ResNet (see `_se`)."""
    for cls in type(layer).__mro__:
        if cls is SqueezeExcitation:
            return _se(layer, prefix, se)
        if cls in _BLOCKS:
            return _BLOCKS[cls](layer, prefix)
    return None
