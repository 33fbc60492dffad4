"""`keras-attention convert`: a PyTorch checkpoint (or a Keras applications model) converted to a
`.keras` file of this package's network.
"""

import math
import os

from keras_attention.cli.options import PROG, Parser, UsageError, load_tensorflow, positive_int


def convert_parser():
    """The argument parser of `keras-attention convert`: a PyTorch checkpoint as this package's
    network, saved as `.keras`."""
    p = Parser(
        prog=f"{PROG} convert",
        description="Convert a PyTorch checkpoint (.pth/.pt/.bin with torch, .safetensors "
        "without) or a keras.applications model (.keras, .h5) into this package's network of "
        "the same layout, every tensor checked, and save it as .keras (keras-attention list "
        "archs).",
    )
    p.add_argument(
        "checkpoint",
        help="a .pth, .pt, .bin or .safetensors state dict, or a .keras/.h5 Keras model or "
        "weights file (with --arch keras:NAME)",
    )
    p.add_argument(
        "--arch",
        required=True,
        help="the checkpoint's layout, e.g. timm:seresnet50, timm:efficientnet_b0, or "
        "keras:efficientnet_b0 for a keras.applications model",
    )
    p.add_argument(
        "--num-classes",
        type=positive_int,
        help="default: the checkpoint's; another number gives a new classifier (fine-tuning)",
    )
    p.add_argument("--image-size", type=positive_int, help="default: 32 for CIFAR codes, else 224")
    p.add_argument(
        "--attention",
        help="the block of a timm ResNet or ResNeXt built with block_args=dict(attn_layer=NAME)"
        " (timm:resnet26t --attention cbam)",
    )
    p.add_argument("--output", required=True, help="the .keras file to write")
    p.add_argument("--verbose", action="store_true", help="TensorFlow's start-up logs too")
    return p


def convert_command(argv, out=print):
    """Runs `keras-attention convert` with `argv`, the arguments after the command's name (its
    report through `out`); returns the exit status."""
    from keras_attention import catalog
    from keras_attention.io import run_folder

    args = convert_parser().parse_args(argv)
    from_keras = args.arch.startswith("keras:")
    try:
        if from_keras:
            catalog.parse_keras_architecture(args.arch)
        else:
            catalog.parse_architecture(args.arch)
    except ValueError as error:
        raise UsageError(f"{PROG} convert: error: {error}") from None
    if args.attention is not None:
        family, groups = catalog.parse_architecture(args.arch) if not from_keras else ("", ("",))
        if family not in ("timm:resnet", "timm:resnext") or groups[0]:
            raise UsageError(
                f"{PROG} convert: error: --attention: only timm's plain ResNets and ResNeXts "
                f"(timm:resnet26t, timm:resnext50_32x4d) take a block by name; {args.arch} "
                "has its own"
            )
    if from_keras and not args.checkpoint.endswith((".keras", ".h5")):
        raise UsageError(
            f"{PROG} convert: error: checkpoint: --arch {args.arch} reads a .keras or .h5 file, "
            f"got {args.checkpoint!r}"
        )
    if not os.path.isfile(args.checkpoint):
        raise UsageError(f"{PROG} convert: error: checkpoint: no file {args.checkpoint!r}")
    if not args.output.endswith(".keras"):
        raise UsageError(
            f"{PROG} convert: error: --output: expected a .keras file, got {args.output!r}"
        )
    run_folder.check_writable(os.path.dirname(os.path.abspath(args.output)), "--output")
    load_tensorflow("convert", args.verbose)
    from keras_attention.pretrained import convert

    shape = None
    if args.image_size:
        shape = (args.image_size, args.image_size, 3)
    if from_keras:
        model = convert.from_keras_file(args.checkpoint, args.arch, log=out)
    else:
        model = convert.from_torch(
            args.arch, args.checkpoint, args.num_classes, shape, log=out, attention=args.attention
        )
    run_folder.save_model(model, args.output)
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    out(f"{model.name}: {trainable:,} trainable parameters, saved to {args.output}")
    return 0
