"""The entry point: `main` reads the command's name, hands the rest of the arguments to it, and
turns the package's errors into one line and an exit status (2 for usage, 1 for a failed run,
130 when interrupted).
"""

import argparse
import errno
import importlib
import sys

from keras_attention.cli.options import (
    PROG,
    Parser,
    UsageError,
    as_option,
)

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


# Each command is `keras_attention.cli.<module>.<command>_command`, its module named as the
# command but where listed here, and imported when the command runs: a command's start-up reads
# its own module, not the other nine.
MODULES = {"list": "listing"}


def handler(command):
    """The function that runs `command` (one of COMMANDS) with the rest of the arguments."""
    module = importlib.import_module(f"keras_attention.cli.{MODULES.get(command, command)}")
    return getattr(module, f"{command}_command")


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
        if argv and argv[0] in COMMANDS:
            return handler(argv[0])(argv[1:]) or 0
        if argv and argv[0] in ("-h", "--help", "--version"):
            main_parser().parse_args(argv)
            return 0
        if argv and argv[0] == "--help-train":
            from keras_attention.cli.train import train_parser

            train_parser().print_help()
            return 0
        if argv and not argv[0].startswith("-"):
            from keras_attention.catalog import suggest

            raise UsageError(
                f"{PROG}: error: unknown command {argv[0]!r}{suggest(argv[0], COMMANDS)}; "
                f"expected one of {', '.join(COMMANDS)} (see {PROG} --help)"
            )
        return handler("train")(argv) or 0
    except UsageError as error:
        print(str(error).splitlines()[0], file=sys.stderr)
        return 2
    except Exception as error:  # the package's own errors: a fault named, not a traceback
        from keras_attention.errors import ConfigError, DataError, RunError

        if isinstance(error, ConfigError):
            print(f"{PROG}: error: {as_option(error)}".splitlines()[0], file=sys.stderr)
            return 2
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            from keras_attention.io.run_folder import write_error

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
