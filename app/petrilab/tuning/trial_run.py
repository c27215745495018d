"""One trial: `petrilab train` into its run folder, in a child process, followed through its events.

A child process, like the window's trainings: the same trainer and the same run folder, and a trial
that runs out of memory or crashes ends as a failed trial while the search goes on. Each epoch's
validation value goes to `on_epoch` (the pruner); a trial to prune, a budget spent or a stop asked
for ends the run through its STOP file (the trainer finishes the batch, saves, and writes a complete
run folder with status "stopped").
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.events import EPOCH_END
from petrilab.run_state import RunReader, RunState
from petrilab.settings import Settings
from petrilab.tuning.records import RunResult, kept, read_result, score

POLL_S = 0.5
STOP_GRACE_S = 180.0  # after STOP: the batch, saving, and the run's own finishing (report); then SIGTERM
KILL_GRACE_S = 20.0
LOG = "engine.log"


def engine_command() -> list[str]:
    """This PetriLab, as a child process: the frozen app's executable, or this Python with -m petrilab."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "petrilab"]


@dataclass
class Outcome:
    state: str  # complete | pruned | stopped | failed
    result: RunResult
    note: str = ""


def run_trial(run_dir: Path, settings: Settings, *, deadline: float,
              on_epoch: Callable[[int, float | None], bool], should_stop: Callable[[], bool]) -> Outcome:
    """Train `settings` in `run_dir`; `on_epoch(epoch, score_so_far)` returns True to prune."""
    run_dir = Path(run_dir)
    settings_path = settings_io.save(settings, run_dir / runs.SETTINGS)
    reader, state = RunReader(run_dir), RunState(run_dir=run_dir)
    reason: str | None = None  # pruned | budget | asked
    stop_since = None
    with open(run_dir / LOG, "ab") as log:
        process = subprocess.Popen([*engine_command(), "train", str(settings_path), "--run-dir", str(run_dir),
                                    "--quiet"], stdout=log, stderr=subprocess.STDOUT, cwd=run_dir)
        try:
            while process.poll() is None:
                news = reader.look()
                state.take(news)
                if reason is None and any(e.get("event") == EPOCH_END for e in news.events):
                    metric = state.started.get("main_metric")
                    if on_epoch(max(state.metrics), score(*kept(state.metrics, metric), metric)):
                        reason = "pruned"
                if reason is None and time.monotonic() >= deadline:
                    reason = "budget"
                if reason is None and should_stop():
                    reason = "asked"
                if reason is not None:
                    stop_since = stop_since or time.monotonic()
                    _keep_stop_file(run_dir)  # the trainer clears an early one when it starts: ask again
                    waited = time.monotonic() - stop_since
                    if waited > STOP_GRACE_S + KILL_GRACE_S:
                        process.kill()
                    elif waited > STOP_GRACE_S:
                        process.terminate()
                time.sleep(POLL_S)
        except BaseException:
            process.kill()
            process.wait()
            raise
    _remove_stop_file(run_dir)
    return _outcome(run_dir, process.returncode, reason)


def _keep_stop_file(run_dir: Path) -> None:
    stop = run_dir / runs.STOP_REQUEST
    if not stop.exists():
        try:
            stop.touch()
        except OSError:
            pass


def _remove_stop_file(run_dir: Path) -> None:
    try:
        (run_dir / runs.STOP_REQUEST).unlink()
    except FileNotFoundError:
        pass


def _outcome(run_dir: Path, code: int, reason: str | None) -> Outcome:
    result = read_result(run_dir)
    if result.status == "failed" or (result.status == "unknown" and reason is None) or code not in (0, None):
        if reason is not None and result.status == "stopped":
            pass  # stopped politely, then the exit code of a terminated engine: still a stopped run
        else:
            return Outcome("failed", result, result.error or _log_words(run_dir / LOG) or
                           f"The training engine ended without finishing (exit code {code}).")
    if result.status == "completed" and reason in (None, "budget", "asked"):
        if result.value is None:
            return Outcome("failed", result, "No finite validation value: the training diverged.")
        return Outcome("complete", result)
    if reason == "pruned":
        return Outcome("pruned", result, "Stopped early: its validation value was below the median of the "
                                         "earlier trials at the same epoch.")
    if reason == "budget":
        return Outcome("stopped", result, "Stopped when the time budget ran out.")
    return Outcome("stopped", result, "Stopped on request.")


def _log_words(path: Path) -> str:
    """The engine's own plain message ('PetriLab: …') from the end of its log, if it wrote one."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    said = [line for line in lines if line.startswith("PetriLab")]
    return said[-1].removeprefix("PetriLab:").strip() if said else ""
