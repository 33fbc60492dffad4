"""The attention blocks by name (`BLOCKS`: the class in `keras_attention.layers` and a one-line
description) and each block's constructor arguments, so that a bad block or argument is refused
before a backend loads.
"""

from keras_attention.catalog.choices import suggest

# name: (class in keras_attention.layers, one-line description)
BLOCKS = {
    "se": (
        "SqueezeExcitation",
        "Squeeze-and-Excitation: pooled channels -> FC -> ReLU -> FC -> sigmoid channel gate; "
        "with a context input it is SE-R",
    ),
    "ssa": (
        "SquashSpatialAttention",
        "Squash and Spatial Attention: one saliency map from pooled-channel-weighted features, "
        "2 parameters",
    ),
    "spem": (
        "SPEM",
        "self-adaptive mix pooling (learnable max/min mix) with reweight and excitation, 4C+2 "
        "parameters",
    ),
    "cbam": ("CBAM", "channel gate on avg and max pools, then a 7x7 spatial gate"),
    "eca": ("ECA", "1-D convolution over the pooled channel vector, kernel size from C"),
    "srm": ("SRM", "style pooling (mean, std), channel-wise FC, BatchNorm, sigmoid"),
    "sge": ("SGE", "spatial group-wise enhance: one normalised similarity map per group"),
    "coord": (
        "CoordinateAttention",
        "coordinate attention: pooling along height and along width, one gate per direction",
    ),
    "ese": ("EffectiveSE", "effective SE: one C->C layer and a hard-sigmoid gate (timm)"),
    "ecam": ("ECAMLP", "ECA with a 1->rd->1 channel MLP along the pooled channels (timm)"),
    "ceca": ("CircularECA", "ECA with the channel sequence wrapped around (timm)"),
    "ge": ("GatherExcite", "Gather-Excite: global or local gather, MLP excite (timm)"),
    "gc": ("GlobalContext", "Global Context: attention pooling, LayerNorm MLP, scale fusion"),
    "gca": ("GlobalContextAdd", "Global Context with add fusion (timm's gca)"),
    "lcbam": ("LightCBAM", "light CBAM: averaged avg+max channel gate, 1-channel spatial gate"),
    "scoord": ("SimpleCoordinateAttention", "timm's simplified coordinate attention"),
    "ela": ("EfficientLocalAttention", "efficient local attention: strip convs, GroupNorm"),
    "strip": ("StripAttention", "strip attention: depthwise (k,1) and (1,k) strips (timm)"),
    "simam": ("SimAM", "SimAM: parameter-free energy-based attention"),
    "triplet": (
        "TripletAttention",
        "triplet attention: three rotated Z-pool 7x7 gates, 300 parameters",
    ),
    "bam": ("BAM", "Bottleneck Attention Module: channel and dilated spatial branches"),
    "fca": ("FcaNet", "FcaNet: SE on multi-spectral DCT pooling"),
}


# Each block's constructor arguments (besides Keras' name, dtype and trainable), so that the
# command line checks --attention-kwargs before a backend loads; tests/test_command_line.py
# checks them against the classes' signatures.
BLOCK_ARGUMENTS = {
    "se": (
        "reduction",
        "use_bias",
        "pooling",
        "hidden_units",
        "rd_divisor",
        "activation",
        "gate",
        "data_format",
    ),
    "ssa": ("squash", "groups", "epsilon", "momentum", "batchnorm", "data_format"),
    "spem": ("alpha", "data_format"),
    "cbam": (
        "reduction",
        "kernel_size",
        "pooling",
        "hidden_units",
        "use_bias",
        "batchnorm",
        "data_format",
    ),
    "eca": (
        "kernel_size",
        "gamma",
        "b",
        "min_kernel_size",
        "use_mlp",
        "padding",
        "pooling",
        "data_format",
    ),
    "srm": ("epsilon", "batchnorm", "data_format"),
    "sge": ("groups", "epsilon", "data_format"),
    "coord": ("reduction", "min_units", "use_bias", "batchnorm", "data_format"),
    "ese": ("pooling", "data_format"),
    "ecam": (
        "use_mlp",
        "kernel_size",
        "gamma",
        "b",
        "min_kernel_size",
        "padding",
        "pooling",
        "data_format",
    ),
    "ceca": (
        "padding",
        "kernel_size",
        "gamma",
        "b",
        "min_kernel_size",
        "use_mlp",
        "pooling",
        "data_format",
    ),
    "ge": (
        "extent",
        "extra_params",
        "feat_size",
        "use_mlp",
        "rd_ratio",
        "rd_divisor",
        "batchnorm",
        "data_format",
    ),
    "gc": ("fuse_scale", "fuse_add", "use_attn", "rd_ratio", "rd_divisor", "data_format"),
    "gca": ("fuse_scale", "fuse_add", "use_attn", "rd_ratio", "rd_divisor", "data_format"),
    "lcbam": ("rd_ratio", "rd_divisor", "kernel_size", "batchnorm", "data_format"),
    "scoord": ("rd_ratio", "rd_divisor", "has_skip", "data_format"),
    "ela": ("kernel_size", "has_skip", "data_format"),
    "strip": ("kernel_size", "has_skip", "data_format"),
    "simam": ("e_lambda", "data_format"),
    "triplet": ("kernel_size", "no_spatial", "batchnorm", "data_format"),
    "bam": ("reduction", "dilation", "batchnorm", "data_format"),
    "fca": (
        "reduction",
        "dct_size",
        "use_bias",
        "pooling",
        "hidden_units",
        "rd_divisor",
        "activation",
        "gate",
        "data_format",
    ),
}


LAYER_ARGUMENTS = ("name", "dtype", "trainable")


def check_block(name):
    """Returns `name` if it names a registered block or "none", else raises ValueError."""
    if name in BLOCKS or name == "none":
        return name
    raise ValueError(
        f"attention: unknown block {name!r}{suggest(name, [*BLOCKS, 'none'])}; expected one of "
        f"{', '.join(BLOCKS)} or none"
    )
