"""The run folder: the names of its files and the protocol that keeps them trustworthy.

A run's folder holds, in the order they are written:

- `.lock`: while a process works in the folder, who holds it (process, host, command);
- `run.json`: when training starts, the configuration and the data's fingerprint;
- after every epoch, its commit: `backup/epochN.keras` (the model and optimizer after epoch
  N) and `backup/latest.json` (the commit point: the epoch, the weights file's checksum, the
  history rows, the best model's epoch, score and checksum, the images and seconds trained),
  then `history.csv` (one row per finished epoch) and `best.keras` (the best model so far on
  the validation split); `logs/` (TensorBoard) meanwhile;
- when training ends: `model.keras`, `model.tflite` and `curves.png`, then `metrics.json`, the
  completion mark (results and the checksums of those files); then `backup/` is removed.

The rules:

- **One process per folder.** `lock()` takes an exclusive `flock` on `.lock`; a second process
  is refused at once with one line naming the holder. The kernel releases the lock when its
  process dies, however it dies, so a lock left by a dead process is simply taken over.
- **Every file is written under a temporary name and renamed** (`write_atomically`), so a file
  is either the old one or the new one, whole. A write that fails (a full disk) removes its
  temporary file and raises `RunError` naming the file.
- **Every file a resume or a report relies on is checked**: JSON that does not parse, a
  weights file whose checksum differs from the one recorded, a damaged `best.keras` are named
  in one line (`RunError`) with what to do, never trusted.
- **`clear()` removes the completion mark first**, so a kill while clearing leaves a folder
  that resumes or trains again, never one that claims to be complete.

This module imports neither Keras nor TensorFlow: the command line checks an output folder
before a backend is loaded, and the export and tuning use the same names.
"""

import contextlib
import csv
import errno
import hashlib
import io
import json
import math
import os
import shutil
import socket
import sys
import tempfile
import time

from keras_attention.errors import ConfigError, RunError

try:  # POSIX; elsewhere folders are not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK = ".lock"
RUN_RECORD = "run.json"
BACKUP = "backup"
POINTER = os.path.join(BACKUP, "latest.json")
HISTORY = "history.csv"
BEST = "best.keras"
BEST_STAGED = "best.staged.keras"  # a new best, renamed to best.keras once its epoch commits
LOGS = "logs"
MODEL = "model.keras"
TFLITE = "model.tflite"
CURVES = "curves.png"
METRICS = "metrics.json"
EXPORT = "export"
# Files whose checksums metrics.json records, checked when a complete run is reported.
CHECKED = (MODEL, BEST, TFLITE, HISTORY)
# Everything a run writes, in the order `clear` removes it: the completion mark first.
WRITTEN = (
    METRICS,
    POINTER,
    BACKUP,
    MODEL,
    TFLITE,
    BEST,
    BEST_STAGED,
    CURVES,
    HISTORY,
    LOGS,
    EXPORT,
    EXPORT + ".partial",
    EXPORT + ".previous",
    RUN_RECORD,
)

OVERWRITE = (
    "run the same command with --overwrite (overwrite=True) to train it again from the start"
)


# --- writing -------------------------------------------------------------------------------------


def temporary_name(path):
    """`best.keras` -> `best.partial.keras`: the extension stays last, for writers that choose
    the format by it (Keras, matplotlib)."""
    root, extension = os.path.splitext(path)
    return f"{root}.partial{extension}"


def remove(path):
    """Removes a file or a folder, if it is there."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.remove(path)


def _fsync(path):
    """Flushes a file (or, for a folder, its entries) to the disk, so a rename that follows is
    not visible before the data it names."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if os.path.isdir(path) else os.O_RDONLY
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync folders
    finally:
        os.close(descriptor)


def write_error(path, error):
    """The `RunError` for a failed write of `path`."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        free = ""
        with contextlib.suppress(OSError):
            free = f", {shutil.disk_usage(os.path.dirname(path) or '.').free:,} bytes free"
        return RunError(
            f"{path}: no space left on the device{free}; nothing of it was kept. Free some "
            "space and run the same command again (a run resumes from its last finished epoch)"
        )
    return RunError(f"{path}: cannot be written ({error.strerror or error})")


def write_atomically(path, write):
    """Calls `write(temporary_path)` and renames the result onto `path`.

    `path` is never half written: it is the old file or the new one. When `write` fails with
    an `OSError` (a full disk), the temporary file is removed and a `RunError` naming `path` is
    raised; any other exception removes it too and propagates.
    """
    temporary = temporary_name(path)
    try:
        write(temporary)
        _fsync(temporary)
        os.replace(temporary, path)
    except OSError as error:
        remove(temporary)
        raise write_error(path, error) from error
    except BaseException:
        remove(temporary)
        raise
    _fsync(os.path.dirname(path) or ".")
    return path


def write_bytes(path, content):
    """Writes `content` to `path` atomically (`write_atomically`)."""

    def write(temporary):
        with open(temporary, "wb") as handle:
            handle.write(content)

    return write_atomically(path, write)


def write_text(path, text):
    """Writes `text` to `path` as UTF-8, atomically."""
    return write_bytes(path, text.encode("utf-8"))


def finite(value):
    """`value` with every non-finite float replaced by None, so it is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def jsonable(value):
    """`value` as JSON types (tuples as lists, other objects as text), non-finite as None."""
    return json.loads(json.dumps(finite(value), default=str))


def write_json(path, value):
    """Strict JSON (no NaN or Infinity: they are written as null), atomically."""
    return write_text(path, json.dumps(jsonable(value), indent=2, allow_nan=False) + "\n")


def save_model(model, path):
    """`model.save(path)`, atomically (Keras writes `.keras` files in place)."""
    return write_atomically(path, model.save)


# --- reading -------------------------------------------------------------------------------------


def sha256(path):
    """The SHA-256 hex digest of the file at `path`, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path, remedy=OVERWRITE):
    """The object in a JSON file, or None when there is no file.

    A file that cannot be read, is not UTF-8 JSON or holds no JSON object raises `RunError`
    naming it, why, and `remedy`.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RunError(f"{path}: cannot be read ({error.strerror}); {remedy}") from error
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        why = "empty" if not raw.strip() else f"not JSON: {error}"
        raise RunError(f"{path} is damaged ({why}); {remedy}") from error
    if not isinstance(value, dict):
        raise RunError(f"{path} is damaged (not a JSON object); {remedy}")
    return value


def check_file(path, digest, recorded_in, remedy=OVERWRITE):
    """Raises `RunError` unless `path` exists and has the checksum `recorded_in` recorded."""
    if not os.path.exists(path):
        raise RunError(f"{path} is missing ({recorded_in} records it); {remedy}")
    if sha256(path) != digest:
        raise RunError(
            f"{path} is damaged (its checksum differs from the one {recorded_in} records); {remedy}"
        )


# --- the history ---------------------------------------------------------------------------------


def _history_names(rows):
    """Epoch first, then the metrics in sorted order (as Keras' CSVLogger orders them)."""
    return ["epoch"] + sorted({key for row in rows for key in row} - {"epoch"})


def history_columns(rows):
    """History rows as `{column: [values]}` (NaN where an epoch has no value)."""
    return {
        key: [row.get(key) if row.get(key) is not None else float("nan") for row in rows]
        for key in _history_names(rows)
    }


def history_text(rows):
    """CSV text of history rows (`{"epoch": int, metric: float or None}`), as Keras'
    CSVLogger writes it: epoch first, then the metrics in sorted order, NA where an epoch has
    no value."""
    columns = _history_names(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [row["epoch"]]
            + ["NA" if row.get(key) is None else repr(float(row[key])) for key in columns[1:]]
        )
    return buffer.getvalue() if rows else ""


def _number(text):
    return float("nan") if text in ("NA", "") else float(text)


def read_history(path):
    """The history CSV as `{column: [values]}` (epoch as int, the rest as float; NaN where
    there was no value). A damaged file raises `RunError` naming it."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return (
            {
                key: [int(r[key]) if key == "epoch" else _number(r[key]) for r in rows]
                for key in rows[0]
            }
            if rows
            else {}
        )
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as error:
        raise RunError(f"{path} is damaged ({error}); {OVERWRITE}") from error


# --- the lock ------------------------------------------------------------------------------------


class FolderLock:
    """An exclusive lock on a folder, held by one process at a time (`flock` on a lock file).

    The kernel releases the lock when its process ends, however it ends, so a lock left by a
    dead process is taken over by the next one; the lock file stays, holding the last
    holder's description.
    """

    def __init__(self, directory, name=LOCK):
        self.directory = directory
        self.path = os.path.join(directory, name)
        self._descriptor = None

    def acquire(self):
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise write_error(self.path, error) from error
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                holder = os.read(descriptor, 4096).decode("utf-8", "replace")
                os.close(descriptor)
                if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise write_error(self.path, error) from error
                raise RunError(
                    f"{self.directory}: in use by {describe_holder(holder)}; wait for it to "
                    "end (or stop it), or give another output folder"
                ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv)[:300],
        }
        try:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, json.dumps(holder).encode(), 0)
        except OSError as error:
            os.close(descriptor)
            raise write_error(self.path, error) from error
        self._descriptor = descriptor
        return self

    def release(self):
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the descriptor releases the flock
            self._descriptor = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def describe_holder(text):
    """Who holds a lock, from the lock file's JSON text: `process PID on HOST since TIME
    (COMMAND)`, or `another process` when the text cannot be read."""
    try:
        holder = json.loads(text)
        return (
            f"process {holder['pid']} on {holder['host']} since {holder['since']} "
            f"({holder['command']})"
        )
    except (ValueError, KeyError, TypeError):
        return "another process"


# --- the folder ----------------------------------------------------------------------------------


def check_writable(directory, option="output_dir"):
    """Raises `ConfigError` naming `option` unless `directory` is a folder, or can be made
    one, in which files can be created (not a file, not a read-only or virtual file system).
    Creates nothing that stays."""
    target = os.path.abspath(directory)
    if os.path.exists(target) and not os.path.isdir(target):
        raise ConfigError(f"{option}: {directory!r} is a file, not a folder")
    existing = target
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"{option}: {directory!r} is under {existing!r}, which is a file")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".probe-", dir=existing))
    except OSError as error:
        raise _folder_error(directory, option, error) from error
    return directory


def _folder_error(directory, option, error):
    """A full disk is a fault (`RunError`); any other refusal, the option's (`ConfigError`)."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return write_error(directory, error)
    return ConfigError(f"{option}: cannot write in {directory!r} ({error.strerror or error})")


def prepare(directory, option="output_dir"):
    """Checks `directory` (`check_writable`) and creates it."""
    check_writable(directory, option)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise _folder_error(directory, option, error) from error
    return directory


@contextlib.contextmanager
def claimed(directory, lock=LOCK, option="output_dir"):
    """`directory` created if needed (`prepare`) and locked (`FolderLock`) for one command.

    A command refused before it writes anything (a bad value found once the data or the
    model is built: the folder holds only the lock) leaves nothing behind: its lock file is
    removed while still held, and the folder too when this command created it.
    """
    created = not os.path.isdir(directory)
    prepare(directory, option)
    had_lock = os.path.exists(os.path.join(directory, lock))
    holder = FolderLock(directory, lock).acquire()
    try:
        yield directory
    except BaseException:
        if not had_lock and os.listdir(directory) == [lock]:
            remove(holder.path)  # while held: no other process can be inside
            holder.release()
            if created:
                with contextlib.suppress(OSError):  # another process's lock appeared
                    os.rmdir(directory)
        raise
    finally:
        holder.release()


def remove_temporaries(directory):
    """Removes the temporary files (`*.partial.*`) that a kill in the middle of a write left
    in `directory` and its sub-folders: never read, and in the way of nothing but the disk."""
    if not os.path.isdir(directory):
        return
    for root, folders, names in os.walk(directory):
        for name in [*names, *folders]:
            if ".partial." in name or name.endswith(".partial"):
                remove(os.path.join(root, name))


class RunFolder:
    """A run's folder: `folder.path(name)` for its files, `lock()`, `clear()`, and reading the
    records with checks. See the module docstring for the protocol."""

    def __init__(self, directory):
        self.directory = directory

    def path(self, name):
        return os.path.join(self.directory, name)

    def exists(self, name):
        return os.path.exists(self.path(name))

    def lock(self):
        return FolderLock(self.directory)

    def claimed(self):
        """`claimed(directory)`: created, locked, and left as it was if the command fails
        before writing anything."""
        return claimed(self.directory)

    def read_json(self, name, remedy=OVERWRITE):
        return read_json(self.path(name), remedy)

    def write_json(self, name, value):
        return write_json(self.path(name), value)

    def clear(self):
        """Removes what a run writes (for `overwrite`), the completion mark first, then the
        backup's pointer; other files stay."""
        for name in WRITTEN:
            remove(self.path(name))
        remove_temporaries(self.directory)

    def remove_backup(self):
        remove(self.path(BACKUP))

    def remove(self, name):
        remove(self.path(name))

    def checksums(self):
        """`{name: sha256}` of the checked files that exist (recorded in metrics.json)."""
        return {name: sha256(self.path(name)) for name in CHECKED if self.exists(name)}

    def verify(self, record, recorded_in=METRICS):
        """Checks every file whose checksum `record["files"]` holds."""
        for name, digest in (record.get("files") or {}).items():
            check_file(self.path(name), digest, recorded_in)
