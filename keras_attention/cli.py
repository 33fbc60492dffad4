"""The `keras-attention` command line: train (the default), tune, export, list and profile.

Reachable as the console script `keras-attention`, as `python -m keras_attention` and through
the repository's `train_keras.py`. Names and values are checked before TensorFlow is imported;
a bad one ends the command with one line on standard error and exit status 2.
"""

import argparse
import errno
import math
import os
import sys

from keras_attention.catalog import EXPORT_KINDS, TFLITE_MODES  # names only: no backend

PROG = "keras-attention"
COMMANDS = {
    "train": "train a model with a recipe on a data set (the default command)",
    "tune": "search hyperparameters with Keras Tuner (aux loss weights, reduction, block, ...)",
    "export": "export a finished run to .keras, SavedModel, TFLite and ONNX, checked and scored",
    "predict": "classify image files with a finished run or its export (top-k classes)",
    "evaluate": "accuracy and loss of a finished run on a split of its or another data set",
    "compare": "train one backbone with several blocks over seeds; table and plot",
    "reproduce": "build or train the rows of a paper's table beside the paper's figures",
    "convert": "convert a PyTorch checkpoint (torchvision, timm, the papers' code) to .keras",
    "list": "list the blocks, models, data sets, recipes, paper tables, archs and presets",
    "profile": "print a model's parameters and multiply-accumulates, layer by layer",
}
DESCRIPTION = (
    "CNN attention blocks (SE, SSA, SPEM, SE-R, CBAM, ECA, SRM, SGE, coordinate attention) in "
    "Keras 3: train the papers' backbones with their recipes, search, export and profile. "
    "With no command, trains an SE-ResNet-20 on the bundled handwritten digits."
)


class UsageError(Exception):
    """A bad name or value given on the command line: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (`prog: error: ...`) and exit status 2, and a value
    outside an option's choices gets a "did you mean"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # an option is spelt out, or suggested
        super().__init__(*args, **kwargs)

    def error(self, message):
        if message.startswith("unrecognized arguments: "):
            from keras_attention.catalog import suggest

            unknown = message.split(": ", 1)[1].split()[0].split("=")[0]
            options = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
            message += suggest(unknown, options)
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")

    def _check_value(self, action, value):
        if action.choices is not None and value not in action.choices:
            from keras_attention.catalog import suggest

            name = "/".join(action.option_strings) or action.dest
            choices = ", ".join(map(str, action.choices))
            raise argparse.ArgumentError(
                None,
                f"{name}: invalid choice {value!r}{suggest(value, list(map(str, action.choices)))}"
                f"; expected one of {choices}",
            )
        return super()._check_value(action, value)


# --- argument types ------------------------------------------------------------------------------


def _integer(minimum, what):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = _integer(1, "a positive integer")
non_negative_int = _integer(0, "an integer >= 0")


def positive_float(text):
    """An argparse type: `text` as a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def non_negative_float(text):
    """An argparse type: `text` as a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def fraction(text):
    """An argparse type: `text` as a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _number_list(kind, what):
    def parse(text):
        try:
            values = tuple(kind(v) for v in text.split(",") if v.strip())
        except ValueError:
            values = ()
        if not values:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}")
        return values

    return parse


def choice_list(choices, what):
    """An option type: a comma-separated list of some of `choices` (at least one), in the
    order given; an unknown one is an error naming it, the closest choice and all of them."""

    def parse(text):
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        unknown = [v for v in values if v not in choices]
        if unknown or not values:
            from keras_attention.catalog import suggest

            hint = suggest(unknown[0], choices) if unknown else ""
            raise argparse.ArgumentTypeError(
                f"unknown {what} {unknown or text!r}{hint}; expected some of {', '.join(choices)}"
            )
        return values

    return parse


def scalar(text):
    """`'8'` -> 8, `'0.5'` -> 0.5, `'true'` -> True, anything else stays a string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def keyword_arguments(text):
    """`groups=8,reduction=4` -> `{"groups": 8, "reduction": 4}`."""
    result = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"expected NAME=VALUE[,NAME=VALUE...], got {text!r}")
        result[name.strip()] = scalar(value.strip())
    return result


def assignment(text):
    """An argparse type: `NAME=VALUE` as the pair `(name, value)` (both strings)."""
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


# --- TensorFlow, quietly -------------------------------------------------------------------------


def load_tensorflow(command, verbose=False):
    """Imports TensorFlow for a command that needs it, with its start-up logs off unless
    `verbose`; a missing TensorFlow or another Keras backend is a usage error."""
    backend = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise UsageError(
            f"{PROG} {command}: error: needs the TensorFlow backend (training, search and "
            f"export use tf.data and TFLite), but KERAS_BACKEND={backend!r}"
        )
    from keras_attention import quiet

    if verbose:
        os.environ["KERAS_ATTENTION_VERBOSE"] = "1"
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with quiet.silenced_stderr():
            import tensorflow as tf

            tf.config.list_physical_devices()  # looks for GPUs, logging when there are none
    except ImportError as error:
        raise UsageError(
            f"{PROG} {command}: error: needs TensorFlow ({error}); install it with "
            "pip install 'keras-cnn-attention[train]'"
        ) from error
    import keras_attention

    keras_attention.register()
    return tf


def progress_mode(value):
    """Keras' fit verbosity: as given, else a progress bar on a terminal and one line per epoch
    in a file or a pipe (a bar there is a carriage-return update per step)."""
    if value is not None:
        return value
    return 1 if sys.stdout.isatty() else 2


def _as_option(message):
    """`"epochs: expected ..."` -> `"--epochs: expected ..."`: name the command-line option."""
    field, sep, rest = str(message).partition(": ")
    if sep and field.isidentifier():
        return f"--{field.replace('_', '-')}: {rest}"
    return str(message)


def _validated(config):
    try:
        return config.validate()
    except ValueError as error:
        raise UsageError(f"{PROG} train: error: {_as_option(error)}") from error


# --- train ---------------------------------------------------------------------------------------


def _common_training_options(p):
    from keras_attention import catalog, recipes

    p.add_argument(
        "--model",
        default="cifar_resnet20",
        help="a model name (see 'list models'): e.g. cifar_resnet20, cifar_resnet164, "
        "preact_resnet164, cifar_se_resnet50, resnet50, mobilenet_v2 (default %(default)s)",
    )
    p.add_argument(
        "--dataset",
        default="digits",
        help=f"{', '.join(n for n in catalog.DATASETS if n != 'dir:PATH')} or dir:PATH "
        "(default %(default)s)",
    )
    p.add_argument(
        "--recipe",
        default="digits",
        help=f"{', '.join(recipes.names())} (default %(default)s)",
    )
    p.add_argument("--epochs", type=positive_int, help="default: the recipe's")
    p.add_argument(
        "--batch-size",
        type=positive_int,
        help="default: the recipe's (the learning rate scales with it)",
    )
    p.add_argument("--image-size", type=positive_int, help="default: the data set's (digits: 32)")
    p.add_argument("--steps-per-epoch", type=positive_int, help="default: the whole training set")
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seeds the initial weights, the validation split (digits and dir: folders; a "
        "tensorflow-datasets set holds out its first N%%), the shuffling and the augmentation: "
        "the same command and seed give the same run (default %(default)s; the test split does "
        "not depend on it)",
    )
    p.add_argument(
        "--attention-kwargs",
        type=keyword_arguments,
        default={},
        metavar="NAME=VALUE,...",
        help="arguments for every attention block, e.g. groups=8 or reduction=4,pooling=max",
    )
    p.add_argument(
        "--model-kwargs",
        type=keyword_arguments,
        default={},
        metavar="NAME=VALUE,...",
        help="arguments for the model factory, e.g. stride_on=3x3, batchnorm=keras or "
        "aux_dropout=0.5 (default batchnorm: the recipe's)",
    )
    p.add_argument(
        "--validation-split",
        type=fraction,
        default=0.1,
        help="fraction of the training data held out to choose best.keras and score trials "
        "(default %(default)s; 0: none); the test split is only used for the final figures",
    )
    p.add_argument("--data-dir", help="tensorflow-datasets data directory")
    p.add_argument("--manual-dir", help="manual download directory (imagenet2012)")
    p.add_argument("--verbose", action="store_true", help="TensorFlow's start-up logs too")


def train_parser(prog=f"{PROG} train"):
    """The argument parser of `keras-attention train`: train a model with a recipe on a data set
    (the default command)."""
    from keras_attention import catalog

    p = Parser(
        prog=prog,
        description="Train a model with a named recipe; with no options, an SE-ResNet-20 on the "
        "bundled digits. Running the same command again resumes an interrupted run.",
    )
    _common_training_options(p)
    p.add_argument(
        "--attention",
        help=f"{', '.join(catalog.BLOCKS)} or none (default se; with --preset: none, and a "
        "block given replaces the pretrained network's own blocks, or is attached to every "
        "residual branch of a network without any)",
    )
    p.add_argument(
        "--preset",
        help="fine-tune a pretrained network: a name of 'list presets' or a local folder "
        "with config.json and model.safetensors; its preprocessing (size, interpolation, "
        "mean, std) is the run's, --model is not used",
    )
    p.add_argument(
        "--learning-rate",
        type=positive_float,
        help="the learning rate at the batch size used (default: the recipe's, scaled "
        "linearly with the batch size)",
    )
    p.add_argument("--reduction", type=positive_int, help="reduction ratio of SE-style blocks")
    p.add_argument(
        "--aux-positions",
        type=_number_list(int, "stages"),
        default=(),
        help="cifar_se_resnet: stages followed by an auxiliary classifier, e.g. 2,3 (SE-R)",
    )
    p.add_argument(
        "--no-feed-attention",
        action="store_true",
        help="SE-A: the auxiliary heads do not feed the SE blocks",
    )
    p.add_argument(
        "--aux-loss-weights",
        type=_number_list(float, "numbers"),
        help="e.g. 0.3,0.3 (default: the paper's for the depth)",
    )
    p.add_argument(
        "--output-dir",
        help="the run's folder (default runs/DATASET-MODEL-ATTENTION, e.g. "
        "runs/digits-cifar_resnet20-se)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="train again even if --output-dir holds this run, finished or interrupted",
    )
    p.add_argument(
        "--from-search",
        metavar="SEARCH_DIR",
        help="train the best trial of a search (the --output-dir of 'tune'): its configuration "
        "and hyperparameters, with the options given here in place of the search's",
    )
    p.add_argument("--mixed-precision", action="store_true", help="mixed_float16 policy")
    p.add_argument("--xla", action="store_true", help="compile train steps with XLA")
    p.add_argument(
        "--strategy",
        default="none",
        choices=["none", "mirrored", "multiworker"],
        help="tf.distribute strategy; multiworker reads TF_CONFIG",
    )
    p.add_argument(
        "--logical-cpus",
        type=non_negative_int,
        default=0,
        help="split the CPU into N logical devices (to try --strategy mirrored on one machine)",
    )
    p.add_argument(
        "--progress",
        type=int,
        choices=[0, 1, 2],
        help="Keras fit verbosity: 0 silent, 1 a progress bar, 2 one line per epoch (default: 1 "
        "on a terminal, 2 in a file or a pipe)",
    )
    return p


def config_from_options(args):
    """The `TrainConfig` of parsed train options: every option named like a field is that
    field (`--no-feed-attention` and `--progress` are `feed_attention` and `verbose`)."""
    import dataclasses

    from keras_attention.config import TrainConfig

    options = vars(args)
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    values = {name: value for name, value in options.items() if name in fields}
    values["feed_attention"] = not options["no_feed_attention"]
    values["verbose"] = progress_mode(options["progress"])
    return TrainConfig(**values)


def train_command(argv):
    """Runs `keras-attention train` with `argv`, the arguments after the command's name; returns
    the exit status."""
    from keras_attention import run_folder
    from keras_attention.errors import ConfigError

    args = train_parser().parse_args(argv)
    if args.attention is None:
        args.attention = "none" if args.preset else "se"
    config = config_from_options(args)
    if args.from_search:
        config = _from_search(args.from_search, config, argv)
    config = _validated(config)
    from keras_attention.config import check_configuration

    try:
        _check_folders(config)
        run_folder.check_writable(config.run_dir())  # refused before TensorFlow loads
        if not config.overwrite:
            check_configuration(config.run_dir(), config)
    except ConfigError as error:
        raise UsageError(f"{PROG} train: error: {_as_option(error)}") from error
    tf = load_tensorflow("train", args.verbose)
    if args.logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        )
    from keras_attention.training import train

    try:
        metrics = train(config, log=print)
    except ConfigError as error:
        raise UsageError(f"{PROG} train: error: {_as_option(error)}") from error
    if metrics.get("already_complete"):
        return 0
    print(
        f"TFLite float32: {metrics['tflite']['size_bytes'] / 1e6:.2f} MB, max |diff| "
        f"{_number(metrics['tflite']['max_abs_diff'], '.2g')} against Keras"
    )
    rate = metrics["images_per_second"]
    print(
        f"test accuracy {metrics['accuracy']:.4f}, loss {_number(metrics['loss'], '.4f')}; "
        f"{metrics['parameters']:,} parameters, {metrics['macs'] / 1e6:.1f} M MACs; "
        f"{_number(rate, '.0f')} images/s; {metrics['wall_time_seconds']:.0f} s; "
        f"results in {config.run_dir()}"
    )
    return 0


def _number(value, spec):
    """A recorded number as text; `-` for one that was not finite (recorded as null)."""
    return "-" if value is None else format(value, spec)


def _check_folders(config):
    """The folders a configuration names exist (a `dir:` data set, the manual downloads)."""
    from keras_attention.errors import ConfigError

    if config.dataset.startswith("dir:") and not os.path.isdir(config.dataset[4:]):
        raise ConfigError(f"dataset: folder {config.dataset[4:]!r} does not exist")
    if config.manual_dir and not os.path.isdir(config.manual_dir):
        raise ConfigError(f"manual_dir: folder {config.manual_dir!r} does not exist")


def _from_search(directory, config, argv):
    """The configuration of a search's best trial (`tune`'s folder), with the options given
    on this command line in place of the search's."""
    import dataclasses

    from keras_attention.config import TrainConfig, from_search

    try:
        best = from_search(directory)
    except (ValueError, RuntimeError) as error:
        raise UsageError(f"{PROG} train: error: --from-search: {error}") from error
    given = {
        field.name
        for field in dataclasses.fields(TrainConfig)
        if any(a.split("=")[0] == "--" + field.name.replace("_", "-") for a in argv)
    }
    if any(a in ("--no-feed-attention",) for a in argv):
        given.add("feed_attention")
    changes = {name: getattr(config, name) for name in given}
    changes["verbose"] = config.verbose
    return dataclasses.replace(best, **changes)


# --- tune ----------------------------------------------------------------------------------------

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
    _common_training_options(p)
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
    from keras_attention import catalog, recipes, run_folder

    args = tune_parser().parse_args(argv)
    args.output_dir = args.output_dir or _default_folder("tune", args.dataset, args.model)
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
        _check_folders(config)
        run_folder.check_writable(args.output_dir)
    except ValueError as error:
        raise UsageError(f"{PROG} tune: error: {_as_option(error)}") from error
    load_tensorflow("tune", args.verbose)
    from keras_attention import tuning
    from keras_attention.errors import ConfigError

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
        raise UsageError(f"{PROG} tune: error: {_as_option(error)}") from error
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


# --- export --------------------------------------------------------------------------------------


def export_parser():
    """The argument parser of `keras-attention export`: the deployable export of a finished run."""
    p = Parser(
        prog=f"{PROG} export",
        description="Export a finished run to RUN_DIR/export: model.keras, a SavedModel, "
        "TFLite models and model.onnx that take raw images (the run's resizing and "
        "normalisation inside), labels.txt and export.json; each format is checked against "
        "the Keras model and scored on the run's test set.",
    )
    p.add_argument("run_dir", help="the --output-dir of a finished training run")
    p.add_argument(
        "--formats",
        type=choice_list(EXPORT_KINDS, "format(s)"),
        default=EXPORT_KINDS,
        help=f"formats, comma separated (default: {','.join(EXPORT_KINDS)}; model.keras is "
        "always written)",
    )
    p.add_argument(
        "--modes",
        type=choice_list(TFLITE_MODES, "TFLite mode(s)"),
        default=TFLITE_MODES,
        help=f"TFLite modes, comma separated (default: {','.join(TFLITE_MODES)})",
    )
    p.add_argument(
        "--tolerance",
        type=non_negative_float,
        default=2.0,
        metavar="POINTS",
        help="fail when a format's test accuracy is more than this many points below the "
        "Keras model's (default: %(default)s)",
    )
    p.add_argument(
        "--allow-degraded",
        action="store_true",
        help="write a format beyond the tolerance anyway (recorded in export.json)",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="with full_int8: each layer's and each attention block's int8 error against the "
        "float model (RMSE over the quantization scale), printed and in export.json",
    )
    p.add_argument(
        "--calibration-samples",
        type=positive_int,
        default=200,
        help="training images that calibrate full_int8 (default: %(default)s)",
    )
    p.add_argument("--verbose", action="store_true", help="TensorFlow's start-up logs too")
    return p


def export_command(argv):
    """Runs `keras-attention export` with `argv`, the arguments after the command's name; returns
    the exit status."""
    args = export_parser().parse_args(argv)
    formats, modes = tuple(args.formats), tuple(args.modes)
    if not os.path.isfile(os.path.join(args.run_dir, "model.keras")) or not os.path.isfile(
        os.path.join(args.run_dir, "metrics.json")
    ):
        raise UsageError(
            f"{PROG} export: error: {args.run_dir!r} holds no finished run (model.keras and "
            "metrics.json); give the --output-dir of a completed training run"
        )
    load_tensorflow("export", args.verbose)
    from keras_attention.export import export_run

    result = export_run(
        args.run_dir,
        modes,
        args.calibration_samples,
        log=print,
        formats=formats,
        tolerance=args.tolerance,
        allow_degraded=args.allow_degraded,
        report=args.report,
    )
    for report in result["reports"]:
        accuracy = result["test_accuracy"].get(report["format"])
        accuracy = f"  test accuracy {accuracy:.4f}" if accuracy is not None else ""
        print(
            f"{report['format']:<20} {report['size_bytes'] / 1e6:7.2f} MB  max |diff| "
            f"{report['max_abs_diff']:.3g}{accuracy}  {report['path']}"
        )
    print(f"Keras model test accuracy {result['test_accuracy']['keras']:.4f}")
    quantization = result.get("quantization")
    if quantization:
        print(
            "full_int8 error per attention block (RMSE over the quantization scale, worst op, "
            f"{quantization['images']} calibration images):"
        )
        for name, value in sorted(quantization["blocks"].items(), key=lambda item: -item[1]):
            print(f"  {name:<32} {value:8.3f}")
        print("worst layers:")
        for row in quantization["layers"][:5]:
            print(f"  {str(row['layer']):<32} {row['op']:<16} {row['rmse_over_scale']:8.3f}")
    elif args.report:
        print("--report: no full_int8 model in this export (--modes ...,full_int8)")
    for name, found in result["degraded"].items():
        print(
            f"written with --allow-degraded: {name} {found['points']:+.1f} points below the "
            f"Keras model (tolerance {result['tolerance_points']:g})"
        )
    print(f"labels: {result['labels_path']}; report: {result['report_path']}")
    return 0


# --- predict and evaluate ----------------------------------------------------------------------


def predict_parser():
    """The argument parser of `keras-attention predict`: the top classes of image files, from a run
    or its export."""
    from keras_attention.runs import FORMATS

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


def _run_folder_of(path, command, format="keras"):
    """A finished run's folder or its export, checked before TensorFlow loads: the folder,
    its record, and the file of `format`."""
    from keras_attention import catalog

    if not os.path.isdir(path):
        raise UsageError(f"{PROG} {command}: error: run: folder {path!r} does not exist")
    export_dir = path if os.path.isfile(os.path.join(path, "export.json")) else None
    if export_dir is None and not os.path.isfile(os.path.join(path, "metrics.json")):
        raise UsageError(
            f"{PROG} {command}: error: run: {path!r} holds no finished run (metrics.json) nor "
            "an export (export.json); give the --output-dir of a finished training run"
        )
    export_dir = export_dir or os.path.join(path, "export")
    if format != "keras":
        if not os.path.exists(os.path.join(export_dir, catalog.export_file(format))):
            raise UsageError(
                f"{PROG} {command}: error: --format: {format} was not exported in "
                f"{export_dir!r} (keras-attention export {path} --modes ...)"
            )


def predict_command(argv, out=print):
    """Runs `keras-attention predict` with `argv`, the arguments after the command's name (its
    report through `out`); returns the exit status."""
    args = predict_parser().parse_args(argv)
    _run_folder_of(args.run, "predict", args.format)
    missing = [image for image in args.images if not os.path.isfile(image)]
    if missing:
        raise UsageError(f"{PROG} predict: error: images: {missing[0]!r} does not exist")
    load_tensorflow("predict", args.verbose)
    from keras_attention.errors import ConfigError
    from keras_attention.runs import load_run

    try:
        run = load_run(args.run)
        results = run.predict(args.images, args.top_k, args.format)
    except ConfigError as error:
        raise UsageError(f"{PROG} predict: error: {_as_option(error)}") from error
    for path, classes in zip(args.images, results, strict=True):
        out(f"{path}: " + ", ".join(f"{label} ({p:.3f})" for label, p in classes))
    return 0


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
    _run_folder_of(args.run, "evaluate")
    try:
        if args.dataset:
            catalog.check_dataset(args.dataset)
    except ValueError as error:
        raise UsageError(f"{PROG} evaluate: error: {_as_option(error)}") from error
    load_tensorflow("evaluate", args.verbose)
    from keras_attention import runs
    from keras_attention.errors import ConfigError

    try:
        run = runs.load_run(args.run)
        result = runs.evaluate(run, args.dataset, args.split, log=out)
    except ConfigError as error:
        raise UsageError(f"{PROG} evaluate: error: {_as_option(error)}") from error
    out(
        f"{result['split']} accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f} on "
        f"{result['images']:,} images of {result['dataset']}"
    )
    return 0


# --- compare and reproduce ---------------------------------------------------------------------


def _quick_run_options(p):
    """Options that shorten the runs of compare and reproduce."""
    p.add_argument("--epochs", type=positive_int, help="default: the recipe's")
    p.add_argument("--batch-size", type=positive_int, help="default: the recipe's")
    p.add_argument("--image-size", type=positive_int, help="default: the data set's")
    p.add_argument("--steps-per-epoch", type=positive_int, help="default: the whole training set")
    p.add_argument("--validation-split", type=fraction, help="default 0.1 of the training data")
    p.add_argument("--seeds", type=positive_int, default=1, help="runs per network (seeds 0..N-1)")
    p.add_argument(
        "--progress",
        type=int,
        default=0,
        choices=[0, 1, 2],
        help="Keras fit verbosity (default 0: one line per epoch of its own)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="train every run again, finished or not"
    )
    p.add_argument("--verbose", action="store_true", help="TensorFlow's start-up logs too")


def _overrides(args):
    return {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "steps_per_epoch": args.steps_per_epoch,
        "validation_split": args.validation_split,
        "overwrite": args.overwrite or None,
    }


def _default_folder(kind, *names):
    """`runs/compare-digits-cifar_resnet20`: the command and what it runs on, so that other
    models or data sets do not share a folder."""
    parts = [
        os.path.basename(os.path.normpath(n[4:])) if n.startswith("dir:") else n for n in names
    ]
    return os.path.join("runs", "-".join([kind, *parts]))


def compare_parser():
    """The argument parser of `keras-attention compare`: one backbone trained with each block (and
    none), tabulated."""
    from keras_attention import catalog, recipes

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
        type=_number_list(str, "block names"),
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
    _quick_run_options(p)
    return p


def compare_command(argv):
    """Runs `keras-attention compare` with `argv`, the arguments after the command's name; returns
    the exit status."""
    from keras_attention import catalog, recipes
    from keras_attention.config import TrainConfig

    args = compare_parser().parse_args(argv)
    args.output_dir = args.output_dir or _default_folder("compare", args.dataset, args.model)
    overrides = {k: v for k, v in _overrides(args).items() if v is not None}
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
        raise UsageError(f"{PROG} compare: error: {_as_option(error)}") from error
    load_tensorflow("compare", args.verbose)
    from keras_attention import comparison
    from keras_attention.errors import ConfigError

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
        raise UsageError(f"{PROG} compare: error: {_as_option(error)}") from error
    print(comparison.markdown(comparison.table_rows(results)))
    print(f"results in {args.output_dir}: results.md, results.csv, results.json, results.png")
    return 0


def reproduce_parser():
    """The argument parser of `keras-attention reproduce`: the rows of a paper's table, trained or
    counted beside the paper's figures."""
    from keras_attention import papers

    p = Parser(
        prog=f"{PROG} reproduce",
        description="Train every row of one of the papers' tables with its recipe and print our "
        "parameters, MACs and accuracy beside the paper's; --dry-run only builds and counts "
        "the rows. Running the same command again keeps finished runs.",
    )
    p.add_argument("table", nargs="?", help=f"one of {', '.join(papers.names())}")
    p.add_argument("--list", action="store_true", help="list the tables and their rows")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="build every row and print parameters and MACs against the paper's; no training",
    )
    p.add_argument(
        "--rows", type=_number_list(str, "row names"), help="only these rows (see --list)"
    )
    p.add_argument(
        "--dataset", help="train on this data set instead of the rows' (e.g. digits, offline)"
    )
    p.add_argument(
        "--output-dir", help="default runs/reproduce/TABLE, or runs/reproduce/TABLE-DATASET"
    )
    _quick_run_options(p)
    return p


def reproduce_command(argv, out=print):
    """Runs `keras-attention reproduce` with `argv`, the arguments after the command's name (its
    report through `out`); returns the exit status."""
    from keras_attention import catalog, papers

    args = reproduce_parser().parse_args(argv)
    if args.list:
        for table in papers.TABLES.values():
            out(f"{table.name:<13} {table.title}")
            out(f"{'':<13} rows: {', '.join(row.name for row in table.rows)}")
        return 0
    if not args.table:
        raise UsageError(
            f"{PROG} reproduce: error: name a table ({', '.join(papers.names())}) or give --list"
        )
    try:
        table = papers.table(args.table)
        papers.select_rows(table, args.rows)
        if args.dataset:
            catalog.check_dataset(args.dataset)
    except ValueError as error:
        raise UsageError(f"{PROG} reproduce: error: {_as_option(error)}") from error
    if not args.output_dir:
        name = table.name  # runs/reproduce/spem_table1, or .../spem_table1-digits
        if args.dataset:
            name += "-" + os.path.basename(os.path.normpath(args.dataset.removeprefix("dir:")))
        args.output_dir = os.path.join("runs", "reproduce", name)
    if args.dry_run:
        if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
            load_tensorflow("reproduce", args.verbose)
        return _print_dry_run(table, papers.dry_run_rows(table.name, args.rows), out)
    load_tensorflow("reproduce", args.verbose)
    from keras_attention import comparison
    from keras_attention.errors import ConfigError

    try:
        results = comparison.reproduce_table(
            table.name,
            rows=args.rows,
            seeds=tuple(range(args.seeds)),
            output_dir=args.output_dir,
            progress=args.progress,
            dataset=args.dataset,
            **_overrides(args),
        )
    except ConfigError as error:
        raise UsageError(f"{PROG} reproduce: error: {_as_option(error)}") from error
    out(f"{table.title}")
    out(comparison.markdown(comparison.table_rows(results)))
    out(f"results in {args.output_dir}: results.md, results.csv, results.json, results.png")
    return 0


def _print_dry_run(table, results, out):
    out(f"{table.title} (built, not trained)")
    header = ("row", "parameters", "paper (M)", "exact target", "MACs (G)", "paper (G)", "acc. %")
    out("{:<32} {:>12} {:>9} {:>16} {:>9} {:>9} {:>7}".format(*header))
    done = []
    for result in results:  # printed as each row is built
        done.append(result)
        row = result["row"]
        exact = "" if row.exact_params is None else f"{row.exact_params:,}"
        if result["exact_match"] is not None:
            exact += " ok" if result["exact_match"] else " DIFFERS"
        out(
            "{:<32} {:>12,} {:>9} {:>16} {:>9.3f} {:>9} {:>7}".format(
                row.name,
                result["parameters"],
                "" if row.paper_params is None else f"{row.paper_params:g}",
                exact,
                result["macs"] / 1e9,
                "" if row.paper_macs is None else f"{row.paper_macs:g}",
                "" if row.paper_accuracy is None else f"{row.paper_accuracy:.2f}",
            )
        )
    notes = sorted({r["row"].note for r in done if r["row"].note})
    for note in notes:
        out(f"note: {note}")
    differs = [r["row"].name for r in done if r["exact_match"] is False]
    return 1 if differs else 0


# --- list ----------------------------------------------------------------------------------------

LISTS = ("blocks", "models", "datasets", "recipes", "tables", "archs", "presets")


def list_parser():
    """The argument parser of `keras-attention list`: what exists (blocks, models, data sets,
    recipes, tables, architectures, presets), one line each."""
    p = Parser(
        prog=f"{PROG} list",
        description="List what exists: attention blocks, model families, data sets, recipes "
        "and the papers' tables (keras-attention reproduce).",
    )
    p.add_argument("what", nargs="?", choices=LISTS, help="one list only (default: all)")
    return p


def list_command(argv, out=print):
    """Runs `keras-attention list` with `argv`, the arguments after the command's name (its report
    through `out`); returns the exit status."""
    from keras_attention import catalog, papers, presets, recipes

    args = list_parser().parse_args(argv)
    sections = {
        "blocks": [(name, text) for name, (_, text) in catalog.BLOCKS.items()],
        "models": [
            (catalog.MODEL_NAME_RULES[family], f"{text} (e.g. {examples})")
            for family, (_, examples, text) in catalog.MODEL_FAMILIES.items()
        ],
        "datasets": [(name, text) for name, (text, _) in catalog.DATASETS.items()],
        "recipes": [
            (name, recipe.description.split(": ")[0]) for name, recipe in recipes.RECIPES.items()
        ],
        "tables": [(name, table.title) for name, table in papers.TABLES.items()],
        "archs": [(examples, text) for _, (_, examples, text) in catalog.ARCHITECTURES.items()]
        + [
            (
                "keras:efficientnet_b0 ... keras:efficientnet_b7, keras:mobilenet_v3_large, "
                "keras:mobilenet_v3_small",
                "keras.applications' EfficientNet and MobileNetV3 (.keras or .h5 file), "
                "weights copied exactly",
            )
        ],
        "presets": [(name, f"{p.arch} from {p.source}") for name, p in presets.table().items()],
    }
    for what in [args.what] if args.what else LISTS:
        out(f"{what}:")
        if what == "models":
            out("  (a family and its depth or width; the block is --attention, not in the name)")
        width = max(len(name) for name, _ in sections[what])
        for name, text in sections[what]:
            out(f"  {name:<{width}}  {text}")
    return 0


# --- convert -------------------------------------------------------------------------------------


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
    from keras_attention import catalog, run_folder

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
    from keras_attention import convert

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


# --- profile -------------------------------------------------------------------------------------


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
        type=_number_list(int, "stages"),
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
        raise UsageError(f"{PROG} profile: error: {_as_option(error)}") from error
    cifar = family in ("cifar_resnet", "preact_resnet", "cifar_se_resnet")
    size = args.image_size or (32 if cifar else 224)
    classes = args.num_classes or (10 if cifar else 1000)
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        load_tensorflow("profile")
    import keras_attention as ka

    ka.register()
    from keras_attention.config import TrainConfig, resolve

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
        raise UsageError(f"{PROG} profile: error: {_as_option(error)}") from error
    report = ka.profile(model)
    if args.totals:
        out(
            f"{model.name}: {report.trainable_params:,} trainable parameters, "
            f"{report.macs:,} MACs ({report.macs / 1e9:.3f} G) at {size}x{size}"
        )
    else:
        out(str(report))
    return 0


# --- entry point ---------------------------------------------------------------------------------

HANDLERS = {
    "train": train_command,
    "tune": tune_command,
    "export": export_command,
    "predict": predict_command,
    "evaluate": evaluate_command,
    "compare": compare_command,
    "reproduce": reproduce_command,
    "convert": convert_command,
    "list": list_command,
    "profile": profile_command,
}


def main_parser():
    """The parser of `keras-attention` itself: the command, `--help` and `--version`."""
    p = Parser(
        prog=PROG,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n"
        + "\n".join(f"  {name:<9} {text}" for name, text in COMMANDS.items())
        + f"\n\n'{PROG} COMMAND --help' describes a command's options; '{PROG} --help-train' "
        "those of train, the default.",
    )
    p.add_argument("command", nargs="?", choices=list(COMMANDS), help="default: train")
    from keras_attention import __version__

    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    p.add_argument(
        "--help-train", action="store_true", help="describe the options of train (the default)"
    )
    return p


def main(argv=None):
    """Runs the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in HANDLERS:
            return HANDLERS[argv[0]](argv[1:]) or 0
        if argv and argv[0] in ("-h", "--help", "--version"):
            main_parser().parse_args(argv)
            return 0
        if argv and argv[0] == "--help-train":
            train_parser().print_help()
            return 0
        if argv and not argv[0].startswith("-"):
            from keras_attention.catalog import suggest

            raise UsageError(
                f"{PROG}: error: unknown command {argv[0]!r}{suggest(argv[0], COMMANDS)}; "
                f"expected one of {', '.join(COMMANDS)} (see {PROG} --help)"
            )
        return train_command(argv) or 0
    except UsageError as error:
        print(str(error).splitlines()[0], file=sys.stderr)
        return 2
    except Exception as error:  # the package's own errors: a fault named, not a traceback
        from keras_attention.errors import ConfigError, DataError, RunError

        if isinstance(error, ConfigError):
            print(f"{PROG}: error: {_as_option(error)}".splitlines()[0], file=sys.stderr)
            return 2
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            from keras_attention.run_folder import write_error

            error = write_error(error.filename or ".", error)
        elif not isinstance(error, (DataError, RunError)):
            raise
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except SystemExit as done:  # --help and --version
        return done.code or 0
    except KeyboardInterrupt:
        sys.stdout.flush()  # the message goes on a line of its own, after a progress bar
        print(f"\n{PROG}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
