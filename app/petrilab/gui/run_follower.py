"""Follow a run folder and turn its events into Qt signals.

Works for any run folder: one the GUI started, one a `petrilab train` in a
terminal is writing, or one on a shared disk written by a cluster node. It
reads `events.jsonl` (never the engine's stdout: a windowed app has none) a
few times per second, so the window never waits on the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from petrilab import events as ev
from petrilab import runs


@dataclass
class RunState:
    """Everything the events of one run have said so far, in a form the pages can draw."""

    run_dir: Path | None = None
    started: dict = field(default_factory=dict)  # the latest `started` event (a resume sends another)
    metrics: dict[int, dict] = field(default_factory=dict)  # epoch (0-based) -> its metrics
    epoch_seconds: dict[int, float] = field(default_factory=dict)
    best_epoch: int | None = None
    batch: dict = field(default_factory=dict)  # the latest `batch` event
    diagnosis: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    warnings: list[dict] = field(default_factory=list)
    error: dict = field(default_factory=dict)
    finished: dict = field(default_factory=dict)

    # ------------------------------------------------------------ reading events

    def apply(self, event: dict) -> None:
        kind = event.get("event")
        if kind == ev.STARTED:
            self.started = event
            first = int(event.get("initial_epoch") or 0)
            # a resumed run goes on from its last checkpoint: epochs after it will be trained again
            self.metrics = {e: m for e, m in self.metrics.items() if e < first}
            self.epoch_seconds = {e: s for e, s in self.epoch_seconds.items() if e < first}
            self.batch = {}
            self.finished = {}  # a resumed run is running again
            self.error = {}
        elif kind == ev.BATCH:
            self.batch = event
        elif kind == ev.EPOCH_END:
            epoch = int(event.get("epoch", len(self.metrics)))
            self.metrics[epoch] = dict(event.get("metrics") or {})
            if event.get("seconds") is not None:
                self.epoch_seconds[epoch] = float(event["seconds"])
            if event.get("best"):
                self.best_epoch = epoch
            self.batch = {}
        elif kind == ev.DIAGNOSIS:
            self.diagnosis = event
        elif kind == ev.EVALUATION:
            self.evaluation = event
        elif kind == ev.WARNING:
            self.warnings.append(event)
        elif kind == ev.ERROR:
            self.error = event
        elif kind == ev.FINISHED:
            self.finished = event
            if event.get("best_epoch") is not None:
                self.best_epoch = int(event["best_epoch"])

    def load_history_file(self) -> None:
        """A run folder without epoch events (e.g. copied history only): read history.csv instead."""
        if self.metrics or self.run_dir is None:
            return
        path = self.run_dir / runs.HISTORY
        if not path.is_file():
            return
        try:
            rows = runs.read_history(path)
        except (OSError, ValueError):
            return
        for i, row in enumerate(rows):
            epoch = int(row.get("epoch", i))
            self.metrics[epoch] = {k: v for k, v in row.items() if k != "epoch"}

    # ------------------------------------------------------------ what the pages show

    @property
    def status(self) -> str:
        """queued | running | completed | stopped | failed"""
        if self.finished:
            return str(self.finished.get("status", "completed"))
        if self.error:
            return "failed"
        if self.started or self.metrics:
            return "running"
        return "queued"

    @property
    def main_metric(self) -> str:
        return str(self.started.get("main_metric") or "accuracy")

    @property
    def planned_epochs(self) -> int:
        planned = self.started.get("epochs")
        if planned:
            return int(planned)
        return len(self.metrics)

    @property
    def epochs_done(self) -> int:
        return max(self.metrics) + 1 if self.metrics else 0

    def series(self, key: str) -> tuple[list[float], list[float]]:
        """Epoch numbers (counted from 1, as the user counts) and values of one metric; gaps left out."""
        xs, ys = [], []
        for epoch in sorted(self.metrics):
            value = self.metrics[epoch].get(key)
            if value is None:
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(value):
                xs.append(epoch + 1)
                ys.append(value)
        return xs, ys

    def progress(self) -> float:
        """Fraction of the whole run done, 0 … 1, counting the batches of the current epoch."""
        total = self.planned_epochs
        if not total:
            return 0.0
        done = float(self.epochs_done)
        if self.batch and self.batch.get("batches"):
            done = float(self.batch.get("epoch", self.epochs_done)) + self.batch["batch"] / self.batch["batches"]
        return max(0.0, min(1.0, done / total))

    def seconds_left(self) -> float | None:
        """Estimated time to the end of the run, from this session's epoch durations and batch rate."""
        if self.status != "running" or not self.started:
            return None
        total = self.planned_epochs
        first = int(self.started.get("initial_epoch") or 0)
        timed = [s for e, s in self.epoch_seconds.items() if e >= first]
        per_epoch = sum(timed) / len(timed) if timed else None
        batch = self.batch
        in_epoch_left = 0.0
        current = self.epochs_done
        if batch and batch.get("batch") and batch.get("batches"):
            rate = float(batch.get("elapsed", 0.0)) / batch["batch"]  # seconds per batch
            in_epoch_left = rate * (batch["batches"] - batch["batch"])
            if per_epoch is None:
                per_epoch = rate * batch["batches"]
            current = int(batch.get("epoch", current)) + 1
        if per_epoch is None:
            return None
        return max(0.0, in_epoch_left + per_epoch * max(0, total - current))


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"about {max(seconds, 1)} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    hours, rest = divmod(seconds, 3600)
    return f"about {hours} h {round(rest / 60):02d} min left"


class RunFollower(QObject):
    """Polls one run folder's events.jsonl on a timer and emits a signal per event.

    Bursts are collapsed: of many `batch` events read in one poll, only the
    last is emitted, so a fast engine cannot flood the window.
    """

    event = Signal(dict)  # every event, as read
    started = Signal(dict)
    batch = Signal(dict)
    epoch_end = Signal(dict)
    diagnosis = Signal(dict)
    evaluation = Signal(dict)
    warning = Signal(dict)
    error = Signal(dict)
    finished = Signal(dict)
    changed = Signal()  # once per poll that read anything: redraw from `state`

    def __init__(self, parent: QObject | None = None, interval_ms: int = 200):
        super().__init__(parent)
        self.state = RunState()
        self._follower: ev.EventFollower | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    @property
    def run_dir(self) -> Path | None:
        return self.state.run_dir

    def follow(self, run_dir: str | Path) -> None:
        """Start following `run_dir` from its first event (a finished run is read whole at once)."""
        run_dir = Path(run_dir)
        self.state = RunState(run_dir=run_dir)
        self._follower = ev.EventFollower(run_dir / runs.EVENTS)
        self.poll()
        if not self.state.metrics:
            self.state.load_history_file()
            if self.state.metrics:
                self.changed.emit()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def clear(self) -> None:
        self.stop()
        self._follower = None
        self.state = RunState()
        self.changed.emit()

    @property
    def following(self) -> bool:
        return self._timer.isActive()

    def poll(self) -> list[dict]:
        """Read what was appended since the last poll, update `state`, emit the signals."""
        if self._follower is None:
            return []
        new = self._follower.poll()
        if not new:
            return []
        last_batch = max((i for i, e in enumerate(new) if e.get("event") == ev.BATCH), default=None)
        for i, event in enumerate(new):
            self.state.apply(event)
            kind = event.get("event")
            if kind == ev.BATCH and i != last_batch:
                continue
            self.event.emit(event)
            signal = self._signals().get(kind)
            if signal is not None:
                signal.emit(event)
        self.changed.emit()
        return new

    def _signals(self) -> dict:
        return {
            ev.STARTED: self.started, ev.BATCH: self.batch, ev.EPOCH_END: self.epoch_end,
            ev.DIAGNOSIS: self.diagnosis, ev.EVALUATION: self.evaluation, ev.WARNING: self.warning,
            ev.ERROR: self.error, ev.FINISHED: self.finished,
        }
