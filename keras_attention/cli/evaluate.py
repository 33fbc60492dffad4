"""`keras-attention evaluate`: a finished run's accuracy and loss on a split of its or another data
set.
"""

from keras_attention.cli.options import (
    PROG,
    Parser,
    UsageError,
    as_option,
    load_tensorflow,
    run_folder_of,
)


def evaluate_parser():
    """The argument parser of `keras-attention evaluate`: a finished run's accuracy and loss on a
    split of a data set."""
    p = Parser(
        prog=f"{PROG} evaluate",
        description="Accuracy and loss of a finished run's model on a split of its data set "
        "(the same split as training: same seed and validation fraction), or on another data "
        "set with the same classes, through the run's own preprocessing.",
    )
    p.add_argument("run", help="the --output-dir of a finished run, or its export/ folder")
    p.add_argument("--dataset", help="default: the run's")
    p.add_argument(
        "--split", default="test", choices=["test", "validation", "train"], help="default test"
    )
    p.add_argument("--verbose", action="store_true", help="TensorFlow's start-up logs too")
    return p


def evaluate_command(argv, out=print):
    """Runs `keras-attention evaluate` with `argv`, the arguments after the command's name (its
    report through `out`); returns the exit status."""
    from keras_attention import catalog

    args = evaluate_parser().parse_args(argv)
    run_folder_of(args.run, "evaluate")
    try:
        if args.dataset:
            catalog.check_dataset(args.dataset)
    except ValueError as error:
        raise UsageError(f"{PROG} evaluate: error: {as_option(error)}") from error
    load_tensorflow("evaluate", args.verbose)
    from keras_attention.errors import ConfigError
    from keras_attention.export import runs

    try:
        run = runs.load_run(args.run)
        result = runs.evaluate(run, args.dataset, args.split, log=out)
    except ConfigError as error:
        raise UsageError(f"{PROG} evaluate: error: {as_option(error)}") from error
    out(
        f"{result['split']} accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f} on "
        f"{result['images']:,} images of {result['dataset']}"
    )
    return 0
