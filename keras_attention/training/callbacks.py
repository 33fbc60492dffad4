"""The callbacks of a training run: the per-epoch commit to the run folder, the training clock
and the stop on a non-finite loss.

`EpochCommit` is the only writer of a run's per-epoch state (`history.csv`, `best.keras`,
`backup/`); `keras_attention.run_folder` describes the protocol it follows.
"""

import math
import os
import time

import keras

from keras_attention.errors import RunError
from keras_attention.io import progress, run_folder
from keras_attention.io.run_folder import BACKUP, BEST, BEST_STAGED, HISTORY, POINTER


def images_trained(first_step, steps, pass_size, batch_size):
    """Images in optimizer steps `first_step .. first_step + steps - 1` of a pipeline that
    batches `pass_size` images (the last batch of a pass short) and repeats."""
    batches_per_pass = -(-pass_size // batch_size)
    last = pass_size - (batches_per_pass - 1) * batch_size
    full_passes, rest = divmod(steps, batches_per_pass)
    start = first_step % batches_per_pass
    images = full_passes * pass_size
    for index in range(start, start + rest):
        images += last if index % batches_per_pass == batches_per_pass - 1 else batch_size
    return images


class TrainingClock(keras.callbacks.Callback):
    """The images trained on and the seconds spent training (validation excluded), added to
    the totals of the epochs before a resume (`images`, `seconds`)."""

    def __init__(self, pass_size, batch_size, images=0, seconds=0.0):
        super().__init__()
        self.pass_size = pass_size
        self.batch_size = batch_size
        self.images = images
        self.seconds = seconds
        self._start = None
        self._first_step = 0
        self._steps = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._first_step = int(self.model.optimizer.iterations.numpy())
        self._steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self._steps = batch + 1

    def _stop(self):
        if self._start is not None:
            self.seconds += time.perf_counter() - self._start
            self.images += images_trained(
                self._first_step, self._steps, self.pass_size, self.batch_size
            )
            self._start = None

    def on_test_begin(self, logs=None):
        self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()

    def images_per_second(self):
        return self.images / self.seconds if self.seconds > 0 else None


class EpochLog(keras.callbacks.Callback):
    """One line per epoch, for commands that run many trainings (`compare`, `reproduce`):
    `[2/6] se seed 0: epoch 4/164, loss 1.2345, val_accuracy 0.8100; 1 min 05 s so far, about
    40 min left`."""

    SHOWN = ("loss", "accuracy", "main_accuracy", "val_loss", "val_accuracy", "val_main_accuracy")

    def __init__(self, log, prefix=""):
        super().__init__()
        self.log = log
        self.prefix = prefix
        self.counter = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.counter is None:
            self.counter = progress.Counter(self.params.get("epochs") or epoch + 1, done=epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.counter.step()
        shown = [
            f"{name} {float(value):.4f}"
            for name, value in (logs or {}).items()
            if name in EpochLog.SHOWN
        ]
        left = self.counter.left()
        tail = (
            f"; about {progress.duration(left)} left"
            if left and epoch + 1 < self.counter.total
            else ""
        )
        self.log(f"{self.prefix}epoch {epoch + 1}/{self.counter.total}, {', '.join(shown)}{tail}")


class NonFiniteLoss(keras.callbacks.Callback):
    """Stops training with a `RunError` naming the epoch and step as soon as the training loss
    is NaN or infinite (Keras' `TerminateOnNaN` only stops `fit`, which then returns as if the
    run had finished). The epoch in progress is not committed, so the run is not complete and
    its backup holds the last finished epoch."""

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._stop(f"step {batch + 1}: the training loss is {float(loss)}")

    def on_epoch_end(self, epoch, logs=None):
        """The validation losses too (before the epoch is committed): a network whose
        BatchNorm statistics overflowed can train on a finite loss and validate on NaN."""
        for name, value in (logs or {}).items():
            if "loss" in name and not math.isfinite(float(value)):
                self._stop(f"end: {name} is {float(value)}")

    def _stop(self, what):
        self.model.stop_training = True
        raise RunError(
            f"epoch {self._epoch + 1}, {what}; the run stopped and is not complete (its backup "
            f"holds epoch {self._epoch}). Lower the learning rate (--learning-rate) or check "
            "the data, then run again with --overwrite"
        )


def _makedirs(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise run_folder.write_error(path, error) from error


def _rename(source, target):
    try:
        os.replace(source, target)
    except OSError as error:
        raise run_folder.write_error(target, error) from error


def _row(epoch, logs):
    row = {"epoch": epoch}
    for key, value in (logs or {}).items():
        value = float(value)
        row[key] = value if math.isfinite(value) else None
    return row


class EpochCommit(keras.callbacks.Callback):
    """Commits every finished epoch to the run folder, and restores the last commit.

    At the end of an epoch, in this order: a new best model is written to `best.staged.keras`;
    the model and optimizer to `backup/epochN.keras`; then `backup/latest.json` is replaced
    (the commit point), recording the epoch, the weights file's checksum, the history rows, the
    best model's epoch, score and checksum, and the clock's totals; last, the staged best
    becomes `best.keras`, `history.csv` is rewritten and the older backup removed. Every file
    is written under a temporary name and renamed (`run_folder.write_atomically`).

    A kill at any moment therefore leaves either the previous commit or the new one, and
    `restore` checks what a commit records before trusting it.

    Written here rather than with `keras.callbacks.BackupAndRestore`, `ModelCheckpoint` and
    `CSVLogger` because those write their files in place (a kill leaves a file that does not
    load, or the weights of one epoch with the number of another), keep no checksums, and
    know nothing of each other: a resumed `ModelCheckpoint` compares with minus infinity and
    would replace a better model, and `CSVLogger` appends rows of epochs that are run again.
    """

    def __init__(self, folder, monitor=None, clock=None, started=None):
        super().__init__()
        self.folder = folder
        self.monitor = monitor
        self.clock = clock
        self.started = time.perf_counter() if started is None else started
        self.rows = []
        self.best = None  # {"epoch", "value", "sha256"}
        self.wall_seconds = 0.0  # of the processes before this one, up to the last commit

    # --- restore ---------------------------------------------------------------------------

    def restore(self, model, log=lambda line: None):
        """Loads the last commit into `model` (weights and optimizer state) and returns the
        number of finished epochs (0 when there is none).

        Raises `RunError` naming the file when the commit's pointer does not parse, its
        weights file is missing or differs from its checksum, or `best.keras` differs from the
        best model the commit records. `history.csv` is rewritten from the commit.
        """
        folder = self.folder
        pointer = folder.read_json(POINTER)
        if pointer is None:
            # Nothing committed: what an unfinished first epoch left is not a run's state.
            for name in (BEST, BEST_STAGED, HISTORY):
                folder.remove(name)
            return 0
        try:
            epoch = int(pointer["epoch"])
            weights = os.path.join(BACKUP, os.path.basename(pointer["weights"]))
            digest = pointer["sha256"]
            rows = list(pointer["history"])
            best = pointer.get("best")
        except (KeyError, TypeError, ValueError) as error:
            raise RunError(
                f"{folder.path(POINTER)} lacks {error} (damaged, or written by an older "
                f"version of keras-attention); {run_folder.OVERWRITE}"
            ) from error
        run_folder.check_file(folder.path(weights), digest, folder.path(POINTER))
        if best:
            staged = folder.path(BEST_STAGED)
            if os.path.exists(staged) and run_folder.sha256(staged) == best["sha256"]:
                _rename(staged, folder.path(BEST))  # the commit was cut before this rename
            run_folder.check_file(folder.path(BEST), best["sha256"], folder.path(POINTER))
        folder.remove(BEST_STAGED)
        expected = run_folder.history_text(rows)
        try:
            with open(folder.path(HISTORY), encoding="utf-8") as handle:
                found = handle.read()
        except (OSError, UnicodeDecodeError):
            found = None
        if found != expected:
            if found is None or not found.startswith(expected or "epoch"):
                log(
                    f"{folder.path(HISTORY)} did not match the backup of epoch {epoch}: "
                    f"rewritten from {folder.path(POINTER)}"
                )
            run_folder.write_text(folder.path(HISTORY), expected)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(folder.path(weights))
        except Exception as error:  # noqa: BLE001 - a file that passed its checksum but fits no model
            why = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
            raise RunError(
                f"{folder.path(weights)} does not fit this model ({why}); {run_folder.OVERWRITE}"
            ) from error
        self.rows, self.best = rows, best
        self.wall_seconds = float(pointer.get("wall_seconds", 0.0))
        if self.clock is not None:
            self.clock.images = int(pointer.get("trained_images", 0))
            self.clock.seconds = float(pointer.get("training_seconds", 0.0))
        return epoch

    # --- commit ----------------------------------------------------------------------------

    def _pointer(self, epoch, weights, rows, best):
        clock = self.clock
        return {
            "epoch": epoch,
            "weights": os.path.basename(weights),
            "sha256": run_folder.sha256(self.folder.path(weights)),
            "history": rows,
            "best": best,
            "trained_images": clock.images if clock else 0,
            "training_seconds": clock.seconds if clock else 0.0,
            "wall_seconds": self.wall_seconds + time.perf_counter() - self.started,
        }

    def _pointed(self):
        """The weights file the last commit names (None when there is none)."""
        try:
            pointer = run_folder.read_json(self.folder.path(POINTER))
        except RunError:
            return None
        return os.path.join(BACKUP, pointer["weights"]) if pointer else None

    def on_epoch_end(self, epoch, logs=None):
        folder = self.folder
        row = _row(epoch, logs)
        value = row.get(self.monitor) if self.monitor else None
        best = self.best
        weights = os.path.join(BACKUP, f"epoch{epoch + 1}.keras")
        rows = [*self.rows, row]
        try:
            if value is not None and (best is None or value > best["value"]):
                run_folder.save_model(self.model, folder.path(BEST_STAGED))
                best = {
                    "epoch": epoch + 1,
                    "value": value,
                    "sha256": run_folder.sha256(folder.path(BEST_STAGED)),
                }
            _makedirs(folder.path(BACKUP))
            run_folder.save_model(self.model, folder.path(weights))
            folder.write_json(POINTER, self._pointer(epoch + 1, weights, rows, best))
        except BaseException:
            # Not committed: nothing of this epoch stays (a later run would not use it).
            folder.remove(BEST_STAGED)
            if self._pointed() != weights:
                folder.remove(weights)
            raise
        # Committed. What follows only brings the other files in line with the commit, and is
        # redone by `restore` if a kill cuts it short.
        if best is not self.best:
            _rename(folder.path(BEST_STAGED), folder.path(BEST))
        self.rows, self.best = rows, best
        run_folder.write_text(folder.path(HISTORY), run_folder.history_text(rows))
        for name in os.listdir(folder.path(BACKUP)):
            if name.endswith(".keras") and name != os.path.basename(weights):
                folder.remove(os.path.join(BACKUP, name))
