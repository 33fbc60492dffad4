"""What every command shares: the parser whose errors are one line (`Parser`, `UsageError`), the
option types (numbers, fractions, comma lists, `key=value` pairs), loading TensorFlow quietly
when a command needs it, and the options of the commands that train briefly (compare,
reproduce).
"""

import argparse
import os
import sys

PROG = "keras-attention"


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


def integer_type(minimum, what):
    """An argparse type: an integer of at least `minimum`, else a usage error naming `what`."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = integer_type(1, "a positive integer")
non_negative_int = integer_type(0, "an integer >= 0")


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


def number_list_type(kind, what):
    """An argparse type: comma-separated numbers of `kind`, else a usage error naming `what`."""

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


def load_tensorflow(command, verbose=False):
    """Imports TensorFlow for a command that needs it, with its start-up logs off unless
    `verbose`; a missing TensorFlow or another Keras backend is a usage error."""
    backend = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise UsageError(
            f"{PROG} {command}: error: needs the TensorFlow backend (training, search and "
            f"export use tf.data and TFLite), but KERAS_BACKEND={backend!r}"
        )
    from keras_attention.io import quiet

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


def as_option(message):
    """`"epochs: expected ..."` -> `"--epochs: expected ..."`: name the command-line option."""
    field, sep, rest = str(message).partition(": ")
    if sep and field.isidentifier():
        return f"--{field.replace('_', '-')}: {rest}"
    return str(message)


def validated(config):
    """`config`, checked (`TrainConfig.validate`); a bad setting is a usage error naming the
    option."""
    try:
        return config.validate()
    except ValueError as error:
        raise UsageError(f"{PROG} train: error: {as_option(error)}") from error


def run_folder_of(path, command, format="keras"):
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


def quick_run_options(p):
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


def overrides_of(args):
    """The quick-run options given on the command line (epochs, batch size, ...) as
    configuration overrides."""
    return {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "steps_per_epoch": args.steps_per_epoch,
        "validation_split": args.validation_split,
        "overwrite": args.overwrite or None,
    }


def default_folder(kind, *names):
    """`runs/compare-digits-cifar_resnet20`: the command and what it runs on, so that other
    models or data sets do not share a folder."""
    parts = [
        os.path.basename(os.path.normpath(n[4:])) if n.startswith("dir:") else n for n in names
    ]
    return os.path.join("runs", "-".join([kind, *parts]))
