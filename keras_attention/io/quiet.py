"""Keeps TensorFlow's and LiteRT's C++ start-up and converter logs off the terminal.

They are written by C++ code straight to file descriptor 2 (before, or regardless of,
`TF_CPP_MIN_LOG_LEVEL`), so the only way to silence them is to point that descriptor elsewhere
while the noisy call runs. Python errors are raised after the descriptor is restored, so they
still show. `KERAS_ATTENTION_VERBOSE=1` (the command line's `--verbose`) keeps the logs.
"""

import contextlib
import logging
import os
import sys


def verbose():
    """Whether `KERAS_ATTENTION_VERBOSE` is set (to anything but `0`): the logs are then shown."""
    return os.environ.get("KERAS_ATTENTION_VERBOSE", "") not in ("", "0")


@contextlib.contextmanager
def silenced_stderr():
    """Sends file descriptor 2 to /dev/null for the duration, unless `verbose()`; TensorFlow's
    Python INFO and WARNING lines (such as "Assets written to", which reach a notebook through
    `sys.stderr`, not the descriptor) are held back too."""
    if verbose():
        yield
        return
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        logger.setLevel(level)
