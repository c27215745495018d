"""Runs page: one listed run: its events as read so far, its cluster job record, and what the table shows of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from petrilab import runs
from petrilab.gui.run_follower import RunState
from petrilab.gui.widgets.run_comparison import Compared, kept_value, sweep_label
from petrilab.gui.widgets.runs_watch import RunNews
from petrilab.liveness import engine_gone


@dataclass(frozen=True)
class RunRow:
    """What the table shows about one run (compared to know when to redraw)."""

    path: Path
    name: str
    started: float | None
    status: str
    epochs: int
    metric: str
    value: float | None
    verdict: str
    error: str
    sweep: str | None
    sweep_values: tuple


class ListedRun:
    """One run: its events as read so far, and its cluster job record."""

    def __init__(self, path: Path):
        self.state = RunState(run_dir=path)
        self.first_started: float | None = None
        self.slurm: dict = {}
        self.job_ended: str | None = None  # SLURM says the job ended (without a last event, it failed)
        self.trial: dict = {}  # a tuning's trial: its number and what it changed (tuning_trial.json)

    def apply(self, news: RunNews) -> None:
        if news.reset:
            self.state = RunState(run_dir=self.state.run_dir)
            self.first_started = None
        for event in news.events:
            if event.get("event") == "started" and self.first_started is None:
                self.first_started = event.get("time")
            self.state.apply(event)
        if news.history and not self.state.metrics:
            for i, row in enumerate(news.history):
                self.state.metrics[int(row.get("epoch", i))] = {k: v for k, v in row.items() if k != "epoch"}
        if news.slurm is not None:
            self.slurm = news.slurm
        if news.job_ended:
            self.job_ended = news.job_ended
        if news.trial:
            self.trial = news.trial

    @property
    def sweep_values(self) -> dict:
        values = self.slurm.get("sweep_values") or self.trial.get("changes")
        return values if isinstance(values, dict) else {}

    @property
    def group(self) -> str | None:
        """The sweep, or the tuning, the run belongs to (its runs are compared together)."""
        return self.slurm.get("sweep") or self.trial.get("tuning") or None

    def label(self) -> str:
        if self.trial and "trial" in self.trial:
            return f"trial {self.trial['trial']}: " + (sweep_label(self.sweep_values) or "your settings")
        return sweep_label(self.sweep_values) or self.state.run_dir.name

    def status(self) -> str:
        state = self.state
        status = state.status
        if status == "queued" and self.slurm.get("dry_run"):
            return "script written"  # prepared for the cluster, never sent
        if status == "running" and engine_gone(state.started):
            status = "crashed"  # its engine died without a last event (killed, out of memory): resumable
        if status in ("queued", "running") and self.job_ended:
            status = "failed"
        return status

    def error(self) -> str:
        if self.state.error:
            return str(self.state.error.get("message") or "")
        if self.job_ended and self.status() == "failed":
            return (f"The cluster job ended before the training finished (SLURM: {self.job_ended.lower()}); "
                    f"its output is in {runs.SLURM_LOG} in the run folder.")
        return ""

    def row(self) -> RunRow:
        state = self.state
        diagnosis = state.diagnosis
        verdict = str(diagnosis.get("title") or diagnosis.get("verdict", "")).replace("_", " ") if diagnosis else ""
        started = self.first_started
        if started is None and isinstance(self.slurm.get("submitted"), (int, float)):
            started = float(self.slurm["submitted"])
        return RunRow(path=state.run_dir, name=state.run_dir.name, started=started, status=self.status(),
                      epochs=state.epochs_done, metric=state.main_metric if state.started else "",
                      value=kept_value(state), verdict=verdict,
                      error=self.error(),
                      sweep=self.group, sweep_values=tuple(self.sweep_values.items()))

    def compared(self, colour: str) -> Compared:
        """The run as one column of the comparison, drawn in `colour`."""
        return Compared(label=self.label(), colour=colour, metric=self.state.main_metric,
                        value=kept_value(self.state), epochs=self.state.epochs_done, status=self.status(),
                        sweep_values=tuple(self.sweep_values.items()))
