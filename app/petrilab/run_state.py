"""A run's state: the one reader of a run folder, and the one function from its events to what the run is.

`RunReader` reads what a run folder says (the events it appended since the last look, its cluster job
record, its tuning trial record, history.csv when it has no events); `RunState.take` turns that into the
run's state: status, epochs, best epoch, metrics, diagnosis, error. `read_run(folder)` does both at once.
Everything that tells what a run is uses them: the command line (`train --resume`, `tune`'s trials,
`diagnose`, `report`), the window's Train page (gui/run_follower.py, a few looks a second) and Runs page
(gui/widgets/runs_watch.py, looks in a worker thread, the state kept in the window's thread), and the
tests. No Qt here; the file names are runs.py's.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from petrilab import events as ev
from petrilab import runs
from petrilab.liveness import engine_gone

STATUSES = ("queued", "script written", "running", "crashed", "completed", "stopped", "failed")


def looks_like_run(names: set[str]) -> bool:
    """A run folder, from the names of the files in it (a queued cluster run has only its job files)."""
    return runs.EVENTS in names or runs.SLURM_RECORD in names or (runs.SETTINGS in names and runs.HISTORY in names)


def is_run_folder(path: Path) -> bool:
    try:
        return looks_like_run(set(os.listdir(path)))
    except OSError:
        return False


@dataclass
class RunNews:
    """What one or more looks at a run folder found since the state last took it."""

    events: list[dict] = field(default_factory=list)
    reset: bool = False  # events.jsonl was replaced or shortened: forget what was read before
    slurm: dict | None = None  # slurm.json, read when it appeared or changed
    history: list[dict] | None = None  # history.csv of a run without events (copied history only)
    job_ended: str | None = None  # SLURM's last state of the run's job, when it ended (only where squeue runs)
    trial: dict | None = None  # tuning_trial.json of a tuning's trial (its number and what it changed)

    def __bool__(self) -> bool:
        return bool(self.events or self.reset or self.slurm is not None or self.history is not None
                    or self.job_ended or self.trial)

    def add(self, later: RunNews) -> None:
        """Two looks' news as one (the state has not taken the first yet)."""
        if later.reset:
            self.events.clear()
        self.events.extend(later.events)
        self.reset |= later.reset
        for name in ("slurm", "history", "job_ended", "trial"):
            if getattr(later, name):
                setattr(self, name, getattr(later, name))


class RunReader:
    """Reads one run folder; each look reads only what changed: one `stat` of events.jsonl, the bytes appended."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.follower = ev.EventFollower(self.run_dir / runs.EVENTS)
        self.finished = False  # the last event read ended the run (it may still be continued)
        self.reads = 0  # how often events were read (the Runs page's cost, for tests and benchmarks)
        self.slurm: dict = {}
        self._slurm_mtime: float | None = None
        self._slurm_checked = False
        self._history_read = False
        self._trial_read = False

    def look(self, ask_cluster: bool = False) -> RunNews:
        """What the folder says that was not read before. `ask_cluster`: whether a SLURM job that ended
        without a last event is asked about (squeue, at most every 10 s per job; never where SLURM is not)."""
        news = RunNews()
        try:
            size = (self.run_dir / runs.EVENTS).stat().st_size
        except OSError:
            size = None
        if size is not None and size != self.follower.bytes_read:
            if size < self.follower.bytes_read:  # rewritten from scratch (a copy, a new run in the same folder)
                self.follower = ev.EventFollower(self.run_dir / runs.EVENTS)
                self.finished = False
                news.reset = True
            self._read_events(news)
        if size is None and not self._history_read:
            self._history_read = True
            try:
                news.history = runs.read_history(self.run_dir / runs.HISTORY)
            except (OSError, ValueError):
                pass
        if not self._trial_read:  # written once, before the trial's training starts
            self._trial_read = True
            news.trial = _read_json(self.run_dir / runs.TRIAL_RECORD)
        if not self.finished or not self._slurm_checked:  # a live run's job record may still change
            self._read_slurm(news)
        if ask_cluster and not self.finished and self.slurm.get("job_id") and not self.slurm.get("dry_run"):
            from petrilab.cluster.slurm import job_ended

            news.job_ended = job_ended(self.slurm["job_id"], self.slurm.get("array_task"))
        return news

    def _read_events(self, news: RunNews) -> None:
        self.reads += 1
        news.events = self.follower.poll()
        for event in news.events:
            if event.get("event") == ev.FINISHED:
                self.finished = True
            elif event.get("event") == ev.STARTED:
                self.finished = False  # continued

    def _read_slurm(self, news: RunNews) -> None:
        self._slurm_checked = True
        path = self.run_dir / runs.SLURM_RECORD
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        if mtime == self._slurm_mtime:
            return
        record = _read_json(path)
        if record is not None:  # (None: being written; read at the next look)
            self._slurm_mtime = mtime
            news.slurm = self.slurm = record


@dataclass
class RunState:
    """Everything a run folder has said so far, in the form the command line, the pages and the tests use."""

    run_dir: Path | None = None
    started: dict = field(default_factory=dict)  # the latest `started` event (a resume sends another)
    first_started: float | None = None  # when the run first started (a resume keeps it)
    metrics: dict[int, dict] = field(default_factory=dict)  # epoch (0-based) -> its metrics
    epoch_seconds: dict[int, float] = field(default_factory=dict)
    best_epoch: int | None = None
    batch: dict = field(default_factory=dict)  # the latest `batch` event
    diagnosis: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    warnings: list[dict] = field(default_factory=list)
    error: dict = field(default_factory=dict)
    finished: dict = field(default_factory=dict)
    slurm: dict = field(default_factory=dict)  # slurm.json: a run submitted to a cluster
    job_ended: str | None = None  # SLURM says the job ended (without a last event, it failed)
    trial: dict = field(default_factory=dict)  # tuning_trial.json: a tuning's trial, what it changed

    # ------------------------------------------------------------ reading

    def apply(self, event: dict) -> None:
        kind = event.get("event")
        if kind == ev.STARTED:
            self.started = event
            if self.first_started is None:
                self.first_started = event.get("time")
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

    def take(self, news: RunNews) -> None:
        """What a reader's looks found (`news.reset`: the events start again; the job records stay)."""
        if news.reset:
            records = (self.slurm, self.job_ended, self.trial)
            self.__init__(run_dir=self.run_dir)
            self.slurm, self.job_ended, self.trial = records
        for event in news.events:
            self.apply(event)
        if news.history and not self.metrics:
            for i, row in enumerate(news.history):
                self.metrics[int(row.get("epoch", i))] = {k: v for k, v in row.items() if k != "epoch"}
        if news.slurm is not None:
            self.slurm = news.slurm
        if news.job_ended:
            self.job_ended = news.job_ended
        if news.trial:
            self.trial = news.trial

    # ------------------------------------------------------------ what it is

    @property
    def status(self) -> str:
        """queued | script written | running | crashed | completed | stopped | failed (see STATUSES)."""
        if self.finished:
            return str(self.finished.get("status", "completed"))
        if self.error or self.job_ended:
            return "failed"
        if self.started or self.metrics:
            # its engine died without a last event (killed, out of memory): it can be continued
            return "crashed" if engine_gone(self.started) else "running"
        return "script written" if self.slurm.get("dry_run") else "queued"

    @property
    def error_message(self) -> str:
        """Why the run failed, in plain words ('' when it did not)."""
        if self.error:
            return str(self.error.get("message") or "")
        if self.job_ended and self.status == "failed":
            return (f"The cluster job ended before the training finished (SLURM: {self.job_ended.lower()}); "
                    f"its output is in {runs.SLURM_LOG} in the run folder.")
        return ""

    @property
    def verdict(self) -> str | None:
        """The diagnosis verdict's key (e.g. not_finished), live or final."""
        return self.diagnosis.get("verdict")

    @property
    def verdict_title(self) -> str:
        """The verdict as a person reads it (its title)."""
        diagnosis = self.diagnosis
        return str(diagnosis.get("title") or diagnosis.get("verdict", "")).replace("_", " ") if diagnosis else ""

    @property
    def main_metric(self) -> str:
        return str(self.started.get("main_metric") or "accuracy")

    @property
    def main_value(self) -> float | None:
        """The validation value of the model the run keeps (its best epoch by validation loss), else of its
        last epoch; None before the first epoch ends."""
        if not self.metrics:
            return None
        epoch = self.best_epoch if self.best_epoch in self.metrics else max(self.metrics)
        return _finite(self.metrics[epoch].get(f"val_{self.main_metric}"))

    @property
    def planned_epochs(self) -> int:
        planned = self.started.get("epochs")
        return int(planned) if planned else len(self.metrics)

    @property
    def epochs_done(self) -> int:
        return max(self.metrics) + 1 if self.metrics else 0

    @property
    def job_id(self) -> str | None:
        return self.slurm.get("job_id")

    @property
    def sweep_values(self) -> dict:
        values = self.slurm.get("sweep_values") or self.trial.get("changes")
        return values if isinstance(values, dict) else {}

    @property
    def group(self) -> str | None:
        """The sweep, or the tuning, the run belongs to (its runs are compared together)."""
        return self.slurm.get("sweep") or self.trial.get("tuning") or None

    def series(self, key: str) -> tuple[list[float], list[float]]:
        """Epoch numbers (counted from 1, as the user counts) and values of one metric; gaps left out."""
        xs, ys = [], []
        for epoch in sorted(self.metrics):
            value = _finite(self.metrics[epoch].get(key))
            if value is not None:
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
        return max(0.0, in_epoch_left + per_epoch * max(0, self.planned_epochs - current))


def read_run(run_dir: str | Path, ask_cluster: bool = True) -> RunState:
    """A run folder's state now, read whole."""
    state = RunState(run_dir=Path(run_dir))
    state.take(RunReader(run_dir).look(ask_cluster=ask_cluster))
    return state


def list_runs(runs_dir: str | Path) -> list[RunState]:
    """The runs in a folder of runs, by name."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    return [read_run(p) for p in sorted(runs_dir.iterdir()) if p.is_dir() and is_run_folder(p)]


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _read_json(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
