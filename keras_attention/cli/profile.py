"""`keras-attention profile`: a model's parameters and multiply-accumulates, layer by layer."""

import os

from keras_attention.cli.options import (
    PROG,
    Parser,
    UsageError,
    as_option,
    keyword_arguments,
    load_tensorflow,
    number_list_type,
    positive_int,
)


def profile_parser():
    """The argument parser of `keras-attention profile`: a model's parameters and MACs, per
    layer."""
    from keras_attention import catalog

    p = Parser(
        prog=f"{PROG} profile",
        description="Print a model's trainable parameters and multiply-accumulates (MACs), "
        "per layer and in total. Runs on any Keras backend.",
    )
    p.add_argument("model", help="a model name, e.g. resnet50 or cifar_resnet164")
    p.add_argument(
        "--attention",
        help=f"{', '.join(catalog.BLOCKS)} or none (default: the model's own, se for "
        "cifar_se_resnet models, else none)",
    )
    p.add_argument(
        "--attention-kwargs", type=keyword_arguments, default={}, metavar="NAME=VALUE,..."
    )
    p.add_argument(
        "--num-classes", type=positive_int, help="default: 10 for CIFAR models, else 1000"
    )
    p.add_argument("--image-size", type=positive_int, help="default: 32 for CIFAR models, else 224")
    p.add_argument("--channels", type=positive_int, default=3)
    p.add_argument(
        "--aux-positions",
        type=number_list_type(int, "stages"),
        default=(),
        help="cifar_se_resnet: auxiliary classifiers after these stages (SE-R)",
    )
    p.add_argument("--totals", action="store_true", help="print the totals only")
    return p


def profile_command(argv, out=print):
    """Runs `keras-attention profile` with `argv`, the arguments after the command's name (its
    report through `out`); returns the exit status."""
    from keras_attention import catalog

    args = profile_parser().parse_args(argv)
    try:
        family, _ = catalog.parse_model(args.model)
        if args.attention is None:
            args.attention = "se" if family == "cifar_se_resnet" else "none"
        catalog.check_block(args.attention)
        if args.aux_positions and family != "cifar_se_resnet":
            raise ValueError(
                f"--aux-positions: auxiliary classifiers are an option of cifar_se_resnet "
                f"models, not of {args.model!r}"
            )
    except ValueError as error:
        raise UsageError(f"{PROG} profile: error: {as_option(error)}") from error
    cifar = family in ("cifar_resnet", "preact_resnet", "cifar_se_resnet")
    size = args.image_size or (32 if cifar else 224)
    classes = args.num_classes or (10 if cifar else 1000)
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        load_tensorflow("profile")
    import keras_attention as ka

    ka.register()
    from keras_attention.training.config import TrainConfig, resolve

    config = TrainConfig(
        model=args.model,
        attention=args.attention,
        attention_kwargs=args.attention_kwargs,
        aux_positions=tuple(args.aux_positions),
    )
    try:
        model = resolve(config).build_model(classes, (size, size, args.channels))
        if len(model.outputs) > 1:
            model = ka.models.inference_model(model)
    except ValueError as error:
        raise UsageError(f"{PROG} profile: error: {as_option(error)}") from error
    report = ka.profile(model)
    if args.totals:
        out(
            f"{model.name}: {report.trainable_params:,} trainable parameters, "
            f"{report.macs:,} MACs ({report.macs / 1e9:.3f} G) at {size}x{size}"
        )
    else:
        out(str(report))
    return 0
