"""The events of `petrilab evaluate` and `petrilab predict`, in the protocol training uses (events.py).

Where they go: the file `--events FILE` names (the window names one beside its
log, so even a refused command's reason is there), else `evaluation_events.jsonl`
in the run folder or `prediction_events.jsonl` among a prediction's results.
Those default files begin with `started`, once the command holds its folder and
its checks passed: like a refused resume, a command refused before (folder busy,
earlier results, an output in the data) leaves the folder as it was, and says
why on the terminal. Nothing is echoed to the terminal: its lines stay the
plain ones scripts read.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

from petrilab import events as ev
from petrilab.errors import UserError

EVALUATION_EVENTS = "evaluation_events.jsonl"  # in the run folder, beside evaluation.json
PREDICTION_EVENTS = "prediction_events.jsonl"  # in a prediction's output folder, beside prediction.json
PROGRESS_EVERY_S = 1.0  # at most one progress event a second (and always the last)


class CommandEvents:
    """started → progress … → finished (completed | stopped | failed, after an `error`)."""

    def __init__(self, command: str, path: str | Path | None = None):
        self.command = command  # evaluate | predict
        self.writer = ev.EventWriter(path, echo=False) if path else None
        self.began = time.monotonic()
        self._shown = 0.0
        self.total = 0

    def start(self, default: Path, total: int, **fields) -> None:
        """The command holds its folder: from now on events are written (to `default` unless --events)."""
        if self.writer is None:
            self.writer = ev.EventWriter(default, echo=False)
        self.total = total
        self.emit(ev.STARTED, command=self.command, total=total, pid=os.getpid(), host=socket.gethostname(),
                  **fields)

    def moved(self, old: Path, new: Path) -> None:
        """The default file moved with the results (predict's are built aside): keep writing it there."""
        if self.writer is not None and self.writer.path.parent == old:
            self.writer.path = new / self.writer.path.name

    def progress(self, done: int) -> None:
        now = time.monotonic()
        if done >= self.total or now - self._shown >= PROGRESS_EVERY_S:
            self._shown = now
            self.emit(ev.PROGRESS, done=done, total=self.total)

    def emit(self, kind: str, **fields) -> None:
        if self.writer is None:
            return  # refused before it started, and no --events file: the terminal says why
        try:
            self.writer.emit(kind, **fields)
        except OSError:  # a full disk: the plain message still reaches the terminal and the window's log
            pass

    def seconds(self) -> float:
        return round(time.monotonic() - self.began, 2)


def for_command(command: str, path: str | Path | None, run_dir, input_folder=None) -> CommandEvents:
    """The events of one command; an --events file in the run's data (or the images to predict) is refused first,
    as any output there is (output_folders.py)."""
    if path:
        from petrilab.output_folders import refuse_output_in_data, run_data_folders

        refuse_output_in_data(path, run_data_folders(run_dir), "events file", input_folder=input_folder)
    return CommandEvents(command, path)


@contextlib.contextmanager
def reported(events: CommandEvents, what: str):
    """Ends the events whatever happens: `finished` completed; a UserError as `error` (message, file, fix) and
    `finished` failed; Ctrl+C stopped; anything else an `error` saying it was unexpected. The exception goes on
    to the command line, which prints it as before."""
    try:
        yield events
    except UserError as exc:
        events.emit(ev.ERROR, **exc.to_dict())
        events.emit(ev.FINISHED, status="failed", seconds=events.seconds())
        raise
    except KeyboardInterrupt:
        events.emit(ev.FINISHED, status="stopped", seconds=events.seconds())
        raise
    except BaseException as exc:
        events.emit(ev.ERROR, message=f"{what} stopped because of an unexpected problem: {exc}", file=None,
                    fix="Run again with --debug and report the details to the PetriLab developers.")
        events.emit(ev.FINISHED, status="failed", seconds=events.seconds())
        raise
    events.emit(ev.FINISHED, status="completed", seconds=events.seconds())
