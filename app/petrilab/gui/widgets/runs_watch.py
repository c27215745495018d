"""Watching folders of runs cheaply, also on a slow network disk (a mounted cluster disk).

A look at the folders costs one directory listing per runs folder and one
`stat` of events.jsonl per run that may still change; only the bytes a run
appended since the last look are read (each run by the engine's own reader,
run_state.RunReader). A finished run is looked at again only now and then (it
may be continued), and a folder is inspected once to tell whether it is a run.
No Qt here: the page calls `scan()` from a worker thread and `take()` from the
window's thread, where each run's RunState takes the news.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from petrilab.run_state import RunNews, RunReader, is_run_folder

FINISHED_RECHECK_S = 30.0  # a finished run is continued rarely: look at it twice a minute
NOT_A_RUN_RECHECK_S = 5.0  # a folder that is no run (yet): the engine may be about to write into it


class _Watched:
    def __init__(self, path: Path, parent: Path | None):
        self.reader = RunReader(path)
        self.parent = parent  # the runs folder it was found in (None: added on its own)
        self.looked_at = 0.0


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
        if watched.reader.finished and now - watched.looked_at < FINISHED_RECHECK_S:
            return
        watched.looked_at = now
        self.stats["stats"] += 1
        reads = watched.reader.reads
        # a job that ended without a last event (cancelled, out of time, the node lost) never will: SLURM is asked
        news = watched.reader.look(ask_cluster=True)
        self.stats["reads"] += watched.reader.reads - reads
        self._news.setdefault(watched.reader.run_dir, RunNews()).add(news)

    # ------------------------------------------------------------ taking the news (the window's thread)

    def take(self) -> tuple[list[Path], dict[Path, RunNews], list[Path]]:
        """The runs watched now, what changed in each since the last call, and the folders not reachable."""
        with self._lock:
            news = {path: n for path, n in self._news.items() if n}
            self._news = {}
            return list(self._runs), news, list(self._unreachable)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir() and not entry.name.startswith(".")
    except OSError:
        return False
