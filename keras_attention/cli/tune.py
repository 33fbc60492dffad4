"""`keras-attention tune`: a Keras Tuner search over a run's hyperparameters."""

from keras_attention.cli.options import (
    PROG,
    Parser,
    UsageError,
    as_option,
    assignment,
    default_folder,
    load_tensorflow,
    positive_int,
    progress_mode,
    scalar,
)
from keras_attention.cli.train import check_folders, config_from_options, training_options

TUNERS = ("random", "bayesian", "hyperband", "grid")


def tune_parser():
    """The argument parser of `keras-attention tune`: a Keras Tuner search."""
    p = Parser(
        prog=f"{PROG} tune",
        description="Search hyperparameters with Keras Tuner on the pipelines and recipes of "
        "training. Hyperparameters: attention, reduction, aux_positions, aux1_weight, "
        "aux2_weight, aux_dropout, spem_alpha, learning_rate. Running the same command again "
        "continues an interrupted search.",
    )
    training_options(p)
    p.set_defaults(model="cifar_se_resnet18")
    p._option_string_actions["--epochs"].help = "epochs of each trial (default 5)"
    p.add_argument("--tuner", default="random", choices=TUNERS)
    p.add_argument("--max-trials", type=positive_int, default=10)
    p.add_argument(
        "--objective", help="default: val_main_accuracy with aux heads, else val_accuracy"
    )
    p.add_argument("--output-dir", help="default runs/tune-DATASET-MODEL")
    p.add_argument(
        "--fix",
        type=assignment,
        action="append",
        default=[],
        help="NAME=VALUE: hold a hyperparameter fixed, e.g. attention=se",
    )
    p.add_argument(
        "--choices",
        type=assignment,
        action="append",
        default=[],
        help="NAME=A/B/C: search these values, e.g. aux_positions=2/2,3",
    )
    p.add_argument(
        "--range",
        type=assignment,
        action="append",
        default=[],
        help="NAME=MIN:MAX[:STEP]: narrow a numeric range, e.g. aux1_weight=0.2:0.5:0.1",
    )
    p.add_argument(
        "--no-feed-attention",
        action="store_true",
        help="cifar_se_resnet: the auxiliary heads do not feed the blocks (SE-A), so every "
        "block can be searched",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="start the search in --output-dir again"
    )
    p.add_argument(
        "--progress",
        type=int,
        choices=[0, 1, 2],
        help="Keras fit verbosity per trial (default: 1 on a terminal, 2 in a file or a pipe)",
    )
    return p


def tune_command(argv):
    """Runs `keras-attention tune` with `argv`, the arguments after the command's name; returns the
    exit status."""
    from keras_attention import catalog
    from keras_attention.io import run_folder
    from keras_attention.training import recipes

    args = tune_parser().parse_args(argv)
    args.output_dir = args.output_dir or default_folder("tune", args.dataset, args.model)
    try:
        catalog.parse_model(args.model)
        catalog.check_dataset(args.dataset)
        recipes.check(args.recipe)
        ranges = {
            name: ("choice", {"values": [scalar(v) for v in value.split("/")]})
            for name, value in args.choices
        }
        for name, value in args.range:
            if name in catalog.HYPERPARAMETERS and name not in catalog.NUMERIC_HYPERPARAMETERS:
                raise ValueError(
                    f"--range {name}: {name} is a choice, not a number; give "
                    f"--choices {name}=A/B/..."
                )
            try:
                bounds = [float(v) for v in value.split(":")]
            except ValueError:
                bounds = []
            if len(bounds) not in (2, 3) or bounds[0] > bounds[1]:
                raise ValueError(f"--range {name}: expected MIN:MAX[:STEP], got {value!r}")
            spec = {"min_value": bounds[0], "max_value": bounds[1]}
            if len(bounds) > 2:
                spec["step"] = bounds[2]
            ranges[name] = ("float", spec)
        fixed = {name: scalar(value) for name, value in args.fix}
        # Every name and value is checked here, before TensorFlow loads.
        catalog.check_hyperparameters(args.model, list(fixed), "--fix", fixed)
        catalog.check_hyperparameters(args.model, list(ranges), "--choices/--range", fixed)
        if args.objective and args.objective not in catalog.objectives(args.model):
            known = catalog.objectives(args.model)
            raise ValueError(
                f"objective: {args.objective!r} is not a metric of this search"
                f"{catalog.suggest(args.objective, known)}; expected one of {', '.join(known)}"
            )
        for name, value in fixed.items():
            catalog.check_hyperparameter_value(name, value, "--fix")
        for name, (_, spec) in ranges.items():
            for value in spec.get("values", []):
                catalog.check_hyperparameter_value(name, value, "--choices")
        args.epochs = args.epochs or 5  # per trial
        config = config_from_options(args).validate()
        check_folders(config)
        run_folder.check_writable(args.output_dir)
    except ValueError as error:
        raise UsageError(f"{PROG} tune: error: {as_option(error)}") from error
    load_tensorflow("tune", args.verbose)
    from keras_attention.errors import ConfigError
    from keras_attention.training import tuning

    try:
        hypermodel = tuning.AttentionHyperModel(
            config=config, fixed=fixed, ranges=ranges, log=print
        )
        tuner, rows, best = tuning.search(
            hypermodel,
            args.output_dir,
            args.tuner,
            args.objective,
            args.max_trials,
            progress_mode(args.progress),
            overwrite=args.overwrite,
        )
    except ConfigError as error:
        raise UsageError(f"{PROG} tune: error: {as_option(error)}") from error
    if tuner._is_worker():
        print(f"{tuner.tuner_id}: no trials left; the chief writes the results")
        return 0
    finished = [r for r in rows if r["score"] is not None]
    print(
        f"{len(finished)} trials; best {tuner.oracle.objective.name} "
        f"{max((r['score'] for r in finished), default=float('nan')):.4f} with {best}"
    )
    print(
        f"results in {args.output_dir}: best_hyperparameters.json, trials.csv, trials.md, "
        "scores.png"
    )
    return 0
