"""Runs page: one listed run: its state (the engine's run_state.RunState, fed by the watch's news), and what
the table and the comparison show of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from petrilab.gui.widgets.run_comparison import Compared, sweep_label
from petrilab.run_state import RunNews, RunState


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
    """One run, as the Runs page lists it."""

    def __init__(self, path: Path):
        self.state = RunState(run_dir=path)

    def apply(self, news: RunNews) -> None:
        self.state.take(news)

    @property
    def group(self) -> str | None:
        return self.state.group

    def label(self) -> str:
        trial = self.state.trial
        if trial and "trial" in trial:
            return f"trial {trial['trial']}: " + (sweep_label(self.state.sweep_values) or "your settings")
        return sweep_label(self.state.sweep_values) or self.state.run_dir.name

    def row(self) -> RunRow:
        state = self.state
        started = state.first_started
        if started is None and isinstance(state.slurm.get("submitted"), (int, float)):
            started = float(state.slurm["submitted"])
        return RunRow(path=state.run_dir, name=state.run_dir.name, started=started, status=state.status,
                      epochs=state.epochs_done, metric=state.main_metric if state.started else "",
                      value=state.main_value, verdict=state.verdict_title, error=state.error_message,
                      sweep=state.group, sweep_values=tuple(state.sweep_values.items()))

    def compared(self, colour: str) -> Compared:
        """The run as one column of the comparison, drawn in `colour`."""
        return Compared(label=self.label(), colour=colour, metric=self.state.main_metric,
                        value=self.state.main_value, epochs=self.state.epochs_done, status=self.state.status,
                        sweep_values=tuple(self.state.sweep_values.items()))
