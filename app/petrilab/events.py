"""The event protocol between the engine and whoever watches a run.

The engine appends one JSON object per line to `events.jsonl` in the run
folder (and echoes it to stdout when there is one). Whoever watches a run
reads that file with `EventFollower` (run_state.py turns what it reads into
the run's state, for the command line and the window alike), so a run started
from a terminal or on a cluster node can be watched the same way.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

from petrilab.file_names import shown

STARTED = "started"  # device, parameter count, dataset sizes
BATCH = "batch"  # progress inside an epoch
EPOCH_END = "epoch_end"  # metrics of one epoch
DIAGNOSIS = "diagnosis"  # the fit verdict, live and final
TUNED = "tuned"  # choices made on the validation images after training (e.g. a threshold)
DECIDED = "decided"  # a setting that said "auto", chosen before training: key, value, message, details
EVALUATION = "evaluation"  # test-set metrics
PROGRESS = "progress"  # evaluate / predict: images done of the total (command_events.py)
WARNING = "warning"  # something the user should know, training goes on
ERROR = "error"  # plain-language message and the file concerned; the run ends
FINISHED = "finished"  # the run ended (status: completed | stopped | failed)

KINDS = (STARTED, BATCH, EPOCH_END, DIAGNOSIS, TUNED, DECIDED, EVALUATION, PROGRESS, WARNING, ERROR, FINISHED)


def _clean(value):
    """JSON has no NaN or infinity: write them as null so every reader can parse the line."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return shown(value)  # a file name that is not UTF-8: \xNN, so the line can be written
    if isinstance(value, dict):
        return {shown(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


class EventWriter:
    """Appends events to a run's events.jsonl, one complete line per write."""

    def __init__(self, path: str | Path, echo: bool = True):
        self.path = Path(path)
        self.echo = echo and sys.stdout is not None  # a windowed frozen app has no stdout
        self._folder_made = False  # made at the first event: a writer refused before writing makes nothing

    def emit(self, kind: str, **fields) -> dict:
        event = {"event": kind, "time": round(time.time(), 3), **_clean(fields)}
        line = json.dumps(event, ensure_ascii=False) + "\n"
        if not self._folder_made:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._folder_made = True
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
        if self.echo:
            try:
                sys.stdout.write(line)
                sys.stdout.flush()
            except (OSError, ValueError, AttributeError):  # closed pipe or no stdout at all: the file is what counts
                self.echo = False
        return event


class EventFollower:
    """Reads the events appended to a file since the last call; tolerates a half-written last line."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset = 0
        self._pending = b""

    @property
    def bytes_read(self) -> int:
        """How much of the file has been read so far."""
        return self._offset

    def poll(self) -> list[dict]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()  # empty, or a line still being written
        events = []
        for line in lines:
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a killed process; the next ones are still good
        return events


def read_all(path: str | Path) -> list[dict]:
    return EventFollower(path).poll()
