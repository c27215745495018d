"""Watching folders of runs cheaply, also on a slow network disk (a mounted cluster disk).

A look at the folders costs one directory listing per runs folder and one
`stat` of events.jsonl per run that may still change; only the bytes a run
appended since the last look are read. A finished run is looked at again
only now and then (it may be continued), and a folder is inspected once to
tell whether it is a run. No Qt here: the page calls `scan()` from a worker
thread and `take()` from the window's thread.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from petrilab import events as ev
from petrilab import runs
from petrilab.cluster import slurm

SLURM_RECORD = runs.SLURM_RECORD  # written by `petrilab submit` in each run folder it prepares
TRIAL_RECORD = "tuning_trial.json"  # written by `petrilab tune` in each trial's run folder (tuning/records.py)
FINISHED_RECHECK_S = 30.0  # a finished run is continued rarely: look at it twice a minute
NOT_A_RUN_RECHECK_S = 5.0  # a folder that is no run (yet): the engine may be about to write into it


def looks_like_run(names: set[str]) -> bool:
    """A run folder, from the names of the files in it (a queued cluster run has only its job files)."""
    return (runs.EVENTS in names or SLURM_RECORD in names
            or (runs.SETTINGS in names and runs.HISTORY in names))


def is_run_folder(path: Path) -> bool:
    try:
        return looks_like_run(set(os.listdir(path)))
    except OSError:
        return False


@dataclass
class RunNews:
    """What one or more looks found out about one run since the window last took the news."""

    events: list[dict] = field(default_factory=list)
    reset: bool = False  # events.jsonl was replaced or shortened: forget what was read before
    slurm: dict | None = None  # slurm.json, read when it appeared or changed
    history: list[dict] | None = None  # history.csv of a run without events (copied history only)
    job_ended: str | None = None  # SLURM's last state of the run's job, when it ended (only where squeue runs)
    trial: dict | None = None  # tuning_trial.json of a tuning's trial (its number and what it changed)


class _Watched:
    def __init__(self, path: Path, parent: Path | None):
        self.path = path
        self.parent = parent  # the runs folder it was found in (None: added on its own)
        self.follower = ev.EventFollower(path / runs.EVENTS)
        self.finished = False
        self.looked_at = 0.0
        self.slurm_mtime: float | None = None
        self.slurm_checked = False
        self.slurm: dict = {}
        self.history_read = False
        self.trial_read = False


class RunsWatch:
    """The runs under some folders and what each appended; safe to `scan` in one thread and `take` in another."""

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self._parents: list[Path] = []
        self._singles: list[Path] = []
        self._runs: dict[Path, _Watched] = {}
        self._not_runs: dict[Path, float] = {}  # folder -> when it was last found not to be a run
        self._news: dict[Path, RunNews] = {}
        self._unreachable: list[Path] = []
        self.stats = {"listings": 0, "stats": 0, "reads": 0}  # what the looks cost (tests and benchmarks)

    def set_sources(self, parents: list[Path], singles: list[Path]) -> None:
        """The folders of runs and the single run folders to watch (a scan lists them next)."""
        with self._lock:
            self._parents = [Path(p) for p in dict.fromkeys(parents)]
            self._singles = [Path(p) for p in dict.fromkeys(singles)]

    # ------------------------------------------------------------ looking (any thread)

    def scan(self) -> None:
        """Look at every folder once: new and vanished runs, and the bytes each run appended."""
        with self._lock:
            now = self._clock()
            found: dict[Path, Path | None] = {}
            unreachable = []
            for parent in self._parents:
                try:
                    self.stats["listings"] += 1
                    with os.scandir(parent) as entries:
                        folders = [Path(e.path) for e in entries if _is_dir(e)]
                except OSError:  # not there (yet), or a disk that went away: keep what we knew
                    unreachable.append(parent)
                    found.update({p: parent for p, w in self._runs.items() if w.parent == parent})
                    continue
                for folder in folders:
                    if folder in self._runs or self._is_run(folder, now):
                        found.setdefault(folder, parent)
            for single in self._singles:
                if single in self._runs or self._is_run(single, now):
                    found.setdefault(single, None)
            for path in list(self._runs):
                if path not in found:
                    del self._runs[path]
                    self._news.pop(path, None)
            for path, parent in found.items():
                watched = self._runs.get(path)
                if watched is None:
                    watched = self._runs[path] = _Watched(path, parent)
                    self._news[path] = RunNews(reset=True)
                self._look(watched, now)
            self._unreachable = unreachable

    def _is_run(self, folder: Path, now: float) -> bool:
        checked = self._not_runs.get(folder)
        if checked is not None and now - checked < NOT_A_RUN_RECHECK_S:
            return False
        if is_run_folder(folder):
            self._not_runs.pop(folder, None)
            return True
        self._not_runs[folder] = now
        return False

    def _look(self, watched: _Watched, now: float) -> None:
        if watched.finished and now - watched.looked_at < FINISHED_RECHECK_S:
            return
        watched.looked_at = now
        news = self._news.setdefault(watched.path, RunNews())
        self.stats["stats"] += 1
        try:
            size = (watched.path / runs.EVENTS).stat().st_size
        except OSError:
            size = None
        if size is None or size == watched.follower.bytes_read:
            pass
        elif size < watched.follower.bytes_read:  # rewritten from scratch (a copy, a new run in the same folder)
            watched.follower = ev.EventFollower(watched.path / runs.EVENTS)
            watched.finished = False
            news.events.clear()
            news.reset = True
            self._read(watched, news)
        else:
            self._read(watched, news)
        if size is None and not watched.history_read:
            self._read_history(watched, news)
        if not watched.trial_read:  # written once, before the trial's training starts
            watched.trial_read = True
            news.trial = _read_json(watched.path / TRIAL_RECORD)
        if not watched.finished or not watched.slurm_checked:  # a live run's job record may still change
            self._read_slurm(watched, news)
        if not watched.finished and watched.slurm.get("job_id") and not watched.slurm.get("dry_run"):
            # a job that ended without a last event (cancelled, out of time, the node lost) never will
            ended = slurm.job_ended(watched.slurm["job_id"], watched.slurm.get("array_task"))
            if ended:
                news.job_ended = ended

    def _read(self, watched: _Watched, news: RunNews) -> None:
        self.stats["reads"] += 1
        new = watched.follower.poll()
        for event in new:
            kind = event.get("event")
            if kind == ev.FINISHED:
                watched.finished = True
            elif kind == ev.STARTED:
                watched.finished = False  # continued
        news.events.extend(new)

    def _read_slurm(self, watched: _Watched, news: RunNews) -> None:
        watched.slurm_checked = True
        path = watched.path / SLURM_RECORD
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        if mtime == watched.slurm_mtime:
            return
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # being written: read it at the next look
        watched.slurm_mtime = mtime
        if isinstance(record, dict):
            news.slurm = watched.slurm = record

    def _read_history(self, watched: _Watched, news: RunNews) -> None:
        path = watched.path / runs.HISTORY
        watched.history_read = True
        try:
            news.history = runs.read_history(path)
        except (OSError, ValueError):
            news.history = None

    # ------------------------------------------------------------ taking the news (the window's thread)

    def take(self) -> tuple[list[Path], dict[Path, RunNews], list[Path]]:
        """The runs watched now, what changed in each since the last call, and the folders not reachable."""
        with self._lock:
            news = {path: n for path, n in self._news.items()
                    if n.events or n.reset or n.slurm is not None or n.history is not None or n.job_ended
                    or n.trial}
            self._news = {}
            return list(self._runs), news, list(self._unreachable)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir() and not entry.name.startswith(".")
    except OSError:
        return False


def _read_json(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
