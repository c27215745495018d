"""The Keras callback that turns training into events, history, checkpoints and live diagnosis."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import keras

from petrilab import events as ev
from petrilab import runs
from petrilab.training import nonfinite
from petrilab.training.diagnosis import diagnose
from petrilab.training.resume import record_checkpoint
from petrilab.training.stop import StopRequest

BATCH_EVENT_INTERVAL = 0.25  # seconds between progress events: smooth bar, tiny file
CHECKPOINT_BUDGET = 0.05  # at most 5 % of training time spent writing checkpoints


def save_model_atomic(model: keras.Model, path: Path) -> None:
    """Save to a temporary .keras file beside `path`, then rename: never a half-written model.

    The temporary name is unique to this process and this save: two processes on one folder (which the
    run-folder lock refuses, but a manual copy may not) can never finish each other's half-written file."""
    from petrilab.file_modes import share_file

    tmp = runs.temporary_name(path, ".keras")
    try:
        model.save(tmp)
        share_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


class RunRecorder(keras.callbacks.Callback):
    """Writes what happens during `fit` into the run folder.

    - a `batch` event a few times per second and an `epoch_end` event per epoch;
    - history.csv after every epoch;
    - the best weights (by validation loss) kept in memory and written to
      model.keras, and the full model (with optimiser state) to last.keras,
      as often as CHECKPOINT_BUDGET allows — every epoch unless saving costs
      more than 5 % of the time — and always at the end;
    - a live diagnosis after each epoch;
    - a loss or weights that stop being numbers end the training (`diverged`, training/nonfinite.py);
    - a stop request is honoured after the current batch.
    """

    def __init__(self, run_dir: Path, writer: ev.EventWriter, stop: StopRequest, epochs: int,
                 steps_per_epoch: int, history: list[dict], settings=None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.writer = writer
        self.stop = stop
        self.epochs = epochs
        self.steps = steps_per_epoch
        self.history = history
        self.settings = settings
        self.best_val_loss = min((h["val_loss"] for h in history if _finite(h.get("val_loss"))), default=math.inf)
        self.best_epoch = next((h["epoch"] for h in history if h.get("val_loss") == self.best_val_loss), None)
        self.best_weights = None
        self.stopped = False
        self.diverged: tuple[int, str] | None = None  # (epoch, what) when the loss or weights stopped being numbers
        self._dirty_best = False
        self._last_save = time.monotonic()
        self._save_cost = 0.0
        self._epoch_start = 0.0
        self._last_batch_event = 0.0

    # -------------------------------------------------------------- batches

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.monotonic()
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now - self._last_batch_event >= BATCH_EVENT_INTERVAL or batch + 1 == self.steps:
            self._last_batch_event = now
            self.writer.emit(ev.BATCH, epoch=self._epoch, batch=batch + 1, batches=self.steps,
                             elapsed=round(now - self._epoch_start, 3))
        if self.stop.requested:
            self.stopped = True
            self.model.stop_training = True

    # -------------------------------------------------------------- epochs

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        seconds = time.monotonic() - self._epoch_start
        val_loss = logs.get("val_loss", math.nan)
        # the loss and every weight still numbers? If not, stop now and save nothing from this epoch on
        problem = None if self.diverged else nonfinite.problem(logs, self.model)
        if problem is not None:
            self.diverged = (epoch, problem)
            self.model.stop_training = True
        improved = _finite(val_loss) and val_loss < self.best_val_loss and not self.diverged
        if improved:
            self.best_val_loss, self.best_epoch = val_loss, epoch
            self.best_weights = self.model.get_weights()
            self._dirty_best = True
        self.history.append({"epoch": epoch, **logs, "seconds": round(seconds, 3)})
        runs.write_history(self.run_dir / runs.HISTORY, self.history)
        self.writer.emit(ev.EPOCH_END, epoch=epoch, epochs=self.epochs, metrics=logs,
                         seconds=round(seconds, 3), best=improved)

        if (self._checkpoint_due() or self.stopped or epoch + 1 == self.epochs) and not self.diverged:
            self.save_checkpoints()

        live = diagnose(self.history, final=False, settings=self.settings)
        self.writer.emit(ev.DIAGNOSIS, **live.to_dict())

    def _checkpoint_due(self) -> bool:
        # Save when the training time since the last save is large next to
        # what a save costs, so small fast models are not slowed by disk writes.
        since = time.monotonic() - self._last_save
        return self._save_cost <= CHECKPOINT_BUDGET * since

    def save_checkpoints(self) -> None:
        start = time.monotonic()
        save_model_atomic(self.model, self.run_dir / runs.LAST_MODEL)
        # which epoch last.keras holds, so a resume continues exactly from it (training/resume.py)
        record_checkpoint(self.run_dir, self.model, self.history[-1]["epoch"] + 1 if self.history else 0)
        self.save_best()
        self._last_save = time.monotonic()
        self._save_cost = self._last_save - start

    def save_best(self) -> None:
        """model.keras from the best weights, when they changed since it was written."""
        if self._dirty_best and self.best_weights is not None:
            current = self.model.get_weights()
            self.model.set_weights(self.best_weights)
            try:
                save_model_atomic(self.model, self.run_dir / runs.BEST_MODEL)
            finally:
                self.model.set_weights(current)
            self._dirty_best = False


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
