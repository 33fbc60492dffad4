"""`keras-attention compare`: one backbone trained with several blocks over seeds; a table and a
plot.
"""

from keras_attention.cli.options import (
    PROG,
    Parser,
    UsageError,
    as_option,
    default_folder,
    keyword_arguments,
    load_tensorflow,
    number_list_type,
    overrides_of,
    quick_run_options,
)


def compare_parser():
    """The argument parser of `keras-attention compare`: one backbone trained with each block (and
    none), tabulated."""
    from keras_attention import catalog
    from keras_attention.training import recipes

    p = Parser(
        prog=f"{PROG} compare",
        description="Train one backbone with each chosen attention block, and without one, "
        "for N seeds with one recipe; write results.md, results.csv (parameters, MACs, "
        "accuracy mean ± std, images per second) and results.png (accuracy against "
        "parameters and throughput). Running the same command again keeps finished runs.",
    )
    p.add_argument("--model", default="cifar_resnet20", help="a model name (default %(default)s)")
    p.add_argument(
        "--blocks",
        type=number_list_type(str, "block names"),
        default=("se", "ssa", "spem", "eca"),
        help=f"comma-separated, from {', '.join(catalog.BLOCKS)} (default se,ssa,spem,eca)",
    )
    p.add_argument("--no-plain", action="store_true", help="leave out the network without a block")
    p.add_argument("--dataset", default="digits", help="default %(default)s")
    p.add_argument(
        "--recipe", default="digits", help=f"{', '.join(recipes.names())} (default %(default)s)"
    )
    p.add_argument(
        "--attention-kwargs", type=keyword_arguments, default={}, metavar="NAME=VALUE,..."
    )
    p.add_argument(
        "--output-dir",
        help="default runs/compare-DATASET-MODEL, e.g. runs/compare-digits-cifar_resnet20",
    )
    quick_run_options(p)
    return p


def compare_command(argv):
    """Runs `keras-attention compare` with `argv`, the arguments after the command's name; returns
    the exit status."""
    from keras_attention import catalog
    from keras_attention.training import recipes
    from keras_attention.training.config import TrainConfig

    args = compare_parser().parse_args(argv)
    args.output_dir = args.output_dir or default_folder("compare", args.dataset, args.model)
    overrides = {k: v for k, v in overrides_of(args).items() if v is not None}
    try:
        catalog.parse_model(args.model)
        for block in args.blocks:
            try:
                catalog.check_block(block)
            except ValueError as error:
                raise ValueError(f"blocks: {str(error).partition(': ')[2]}") from error
        recipes.check(args.recipe)
        TrainConfig(
            model=args.model,
            attention=args.blocks[0],
            dataset=args.dataset,
            recipe=args.recipe,
            attention_kwargs=args.attention_kwargs,
            **overrides,
        ).validate()
    except ValueError as error:
        raise UsageError(f"{PROG} compare: error: {as_option(error)}") from error
    load_tensorflow("compare", args.verbose)
    from keras_attention.errors import ConfigError
    from keras_attention.training import comparison

    try:
        results = comparison.compare_blocks(
            args.model,
            args.blocks,
            include_plain=not args.no_plain,
            seeds=tuple(range(args.seeds)),
            output_dir=args.output_dir,
            progress=args.progress,
            dataset=args.dataset,
            recipe=args.recipe,
            attention_kwargs=args.attention_kwargs,
            **overrides,
        )
    except ConfigError as error:
        raise UsageError(f"{PROG} compare: error: {as_option(error)}") from error
    print(comparison.markdown(comparison.table_rows(results)))
    print(f"results in {args.output_dir}: results.md, results.csv, results.json, results.png")
    return 0
