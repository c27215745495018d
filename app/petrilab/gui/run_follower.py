"""Follow a run folder and turn its events into Qt signals.

Works for any run folder: one the GUI started, one a `petrilab train` in a
terminal is writing, or one on a shared disk written by a cluster node. It
reads the folder with the engine's own reader (run_state.RunReader: what
events.jsonl appended, never the engine's stdout: a windowed app has none) a
few times per second, and keeps the run's state with the engine's own
function from events to state (run_state.RunState), so the window never
waits on the engine and tells a run's state as the command line does.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from petrilab import events as ev
from petrilab.run_state import RunReader, RunState


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
    """Polls one run folder on a timer and emits a signal per event.

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
        self._reader: RunReader | None = None
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
        self._reader = RunReader(run_dir)
        self.poll()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def clear(self) -> None:
        self.stop()
        self._reader = None
        self.state = RunState()
        self.changed.emit()

    @property
    def following(self) -> bool:
        return self._timer.isActive()

    def poll(self) -> list[dict]:
        """Read what was appended since the last poll, update `state`, emit the signals."""
        if self._reader is None:
            return []
        news = self._reader.look()
        if not news:
            return []
        new, news.events = news.events, []
        self.state.take(news)  # a rewritten events file, the job records, history.csv; then event by event:
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
