"""`keras-attention predict`: the top classes of image files, from a run or its export."""

import os

from keras_attention.cli.options import (
    PROG,
    Parser,
    UsageError,
    as_option,
    load_tensorflow,
    positive_int,
    run_folder_of,
)


def predict_parser():
    """The argument parser of `keras-attention predict`: the top classes of image files, from a run
    or its export."""
    from keras_attention.catalog import EXPORT_FORMATS as FORMATS

    p = Parser(
        prog=f"{PROG} predict",
        description="Classify image files with a finished run (its model.keras, with the "
        "run's preprocessing in front) or one of its exported formats: top-k classes and "
        "probabilities per image. Images are read as the data set stores them (grey or RGB; "
        "resized to the stored size where the data set has one, e.g. 8x8 for digits).",
    )
    p.add_argument("run", help="the --output-dir of a finished run, or its export/ folder")
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG, BMP, GIF)")
    p.add_argument("--top-k", type=positive_int, default=3, help="default %(default)s")
    p.add_argument(
        "--format",
        default="keras",
        choices=FORMATS,
        help="which model answers (default keras; the others need 'export' first)",
    )
    p.add_argument("--verbose", action="store_true", help="TensorFlow's start-up logs too")
    return p


def predict_command(argv, out=print):
    """Runs `keras-attention predict` with `argv`, the arguments after the command's name (its
    report through `out`); returns the exit status."""
    args = predict_parser().parse_args(argv)
    run_folder_of(args.run, "predict", args.format)
    missing = [image for image in args.images if not os.path.isfile(image)]
    if missing:
        raise UsageError(f"{PROG} predict: error: images: {missing[0]!r} does not exist")
    load_tensorflow("predict", args.verbose)
    from keras_attention.errors import ConfigError
    from keras_attention.export.runs import load_run

    try:
        run = load_run(args.run)
        results = run.predict(args.images, args.top_k, args.format)
    except ConfigError as error:
        raise UsageError(f"{PROG} predict: error: {as_option(error)}") from error
    for path, classes in zip(args.images, results, strict=True):
        out(f"{path}: " + ", ".join(f"{label} ({p:.3f})" for label, p in classes))
    return 0
