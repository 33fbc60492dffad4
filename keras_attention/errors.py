"""The package's errors, by what the user should do about them.

The command line turns each kind into one exit status, so that exit 2 means a usage error and
nothing else:

- `ConfigError` (a `ValueError`): a name or value the user gave cannot work (an unknown block,
  a negative epoch count, an output folder that is a file, another configuration in a run's
  folder). Exit status 2.
- `DataError` (a `ValueError`): the data set cannot be used as it is (unreadable images, too
  few images per class). Exit status 1, with the whole message (it lists the files).
- `RunError` (a `RuntimeError`): a run or search cannot go on (a damaged file in its folder,
  a folder in use by another process, a full disk, a loss that is no longer finite, data that
  changed since the run started). Exit status 1; the message names the file or the fault and
  what to do.

This module imports nothing, so the command line can use it before a backend is loaded.
"""


class ConfigError(ValueError):
    """A name or value given by the user cannot work: a usage error."""


class DataError(ValueError):
    """The data set cannot be used as it is."""


class RunError(RuntimeError):
    """A run or a search cannot go on; the message names the fault and what to do."""
