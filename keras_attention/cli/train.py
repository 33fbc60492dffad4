"""`keras-attention train` (the default command): a model trained with a recipe on a data set, into
a run folder.
"""

import os

from keras_attention.cli.options import (
    PROG,
    Parser,
    UsageError,
    as_option,
    fraction,
    keyword_arguments,
    load_tensorflow,
    non_negative_int,
    number_list_type,
    positive_float,
    positive_int,
    progress_mode,
    validated,
)


def training_options(p):
    """Adds the options that describe a run (model, block, data, recipe, ...) to `p`: train's
    and tune's."""
    from keras_attention import catalog
    from keras_attention.training import recipes

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
    training_options(p)
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
        type=number_list_type(int, "stages"),
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
        type=number_list_type(float, "numbers"),
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

    from keras_attention.training.config import TrainConfig

    options = vars(args)
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    values = {name: value for name, value in options.items() if name in fields}
    values["feed_attention"] = not options["no_feed_attention"]
    values["verbose"] = progress_mode(options["progress"])
    return TrainConfig(**values)


def train_command(argv):
    """Runs `keras-attention train` with `argv`, the arguments after the command's name; returns
    the exit status."""
    from keras_attention.errors import ConfigError
    from keras_attention.io import run_folder

    args = train_parser().parse_args(argv)
    if args.attention is None:
        args.attention = "none" if args.preset else "se"
    config = config_from_options(args)
    if args.from_search:
        config = _from_search(args.from_search, config, argv)
    config = validated(config)
    from keras_attention.training.config import check_configuration, resolve

    try:
        check_folders(config)
        run_folder.check_writable(config.run_dir())  # refused before TensorFlow loads
        plan = resolve(config)  # once: the folder's check and the run use the same plan
        if not config.overwrite:
            check_configuration(config.run_dir(), plan)
    except ConfigError as error:
        raise UsageError(f"{PROG} train: error: {as_option(error)}") from error
    tf = load_tensorflow("train", args.verbose)
    if args.logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        )
    from keras_attention.training.loop import train

    try:
        metrics = train(plan, log=print)
    except ConfigError as error:
        raise UsageError(f"{PROG} train: error: {as_option(error)}") from error
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


def check_folders(config):
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

    from keras_attention.training.config import TrainConfig, from_search

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
