"""The events of the commands other than `train` (evaluate, predict, tune, export, report, submit), in the
protocol training uses (events.py).

Where they go: the file `--events FILE` names (the window names one beside its
log, so even a refused command's reason is there), else, for evaluate and
predict, `evaluation_events.jsonl` in the run folder or `prediction_events.jsonl`
among a prediction's results (tune, export, report and submit write events only
to --events). Those default files begin with `started`, once the command holds
its folder and its checks passed: like a refused resume, a command refused
before (folder busy, earlier results, an output in the data) leaves the folder
as it was, and says why on the terminal. Nothing is echoed to the terminal: its
lines stay the plain ones scripts read. `finished` carries what the command made
(`made`: the package, the PDF, the job and its run folders), so the window reads
a result from the events, not from the terminal.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from petrilab import events as ev
from petrilab.errors import UserError

EVALUATION_EVENTS = "evaluation_events.jsonl"  # in the run folder, beside evaluation.json
PREDICTION_EVENTS = "prediction_events.jsonl"  # in a prediction's output folder, beside prediction.json
PROGRESS_EVERY_S = 1.0  # at most one progress event a second (and always the last)


class CommandEvents:
    """started → progress … → finished (completed | stopped | failed, after an `error`)."""

    def __init__(self, command: str, path: str | Path | None = None):
        self.command = command  # evaluate | predict | tune | export | report | submit
        self.writer = ev.EventWriter(path, echo=False) if path else None
        self.began = time.monotonic()
        self._shown = 0.0
        self.total = 0
        self.made: dict = {}  # what the command made, for its `finished` event

    def start(self, default: Path | None, total: int | None = None, **fields) -> None:
        """The command holds its folder: from now on events are written (to `default` unless --events;
        no default: to --events only). `total`: the images it will go through, when it counts them."""
        if self.writer is None and default is not None:
            self.writer = ev.EventWriter(default, echo=False)
        self.total = total or 0
        counted = {"total": total} if total is not None else {}
        self.emit(ev.STARTED, command=self.command, **counted, pid=os.getpid(), host=socket.gethostname(), **fields)

    def keep_out_of(self, data_folders, input_folder=None) -> None:
        """Refuse an --events file in the data (as any output there is, output_folders.py) before anything is
        written to it; its reason then goes to the terminal only, as a refusal before `started` does."""
        if self.writer is None:
            return
        from petrilab.output_folders import refuse_output_in_data

        try:
            refuse_output_in_data(self.writer.path, data_folders, "events file", input_folder=input_folder)
        except UserError:
            self.writer = None
            raise

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


def add_option(parser, default: str | None = None) -> None:
    """--events FILE on a command's parser; `default`: where its events go without it."""
    where = f"default: from its start, {default}" if default else "default: none"
    parser.add_argument("--events", metavar="FILE",
                        help=f"append this command's events to FILE, a refusal's reason included ({where})")


def for_command(command: str, path: str | Path | None, run_dir=None, input_folder=None) -> CommandEvents:
    """The events of one command; an --events file in the run's data (or the images to predict) is refused first.
    (tune and submit, which have no run yet, check it against their settings' data: `keep_out_of`.)"""
    events = CommandEvents(command, path)
    if path and run_dir is not None:
        from petrilab.output_folders import run_data_folders

        events.keep_out_of(run_data_folders(run_dir), input_folder=input_folder)
    return events


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
    events.emit(ev.FINISHED, status="completed", seconds=events.seconds(), **events.made)


@dataclass
class CommandState:
    """What a command's events have said so far (the window's dialogs and pages read this, never its terminal)."""

    command: str = ""
    total: int | None = None  # images (or other items) to do; None before `started` says
    done: int = 0
    error: dict = field(default_factory=dict)  # the last `error`: message, file, fix
    finished: dict = field(default_factory=dict)  # `finished`: status, seconds, and what the command made

    def apply(self, event: dict) -> None:
        kind = event.get("event")
        if kind == ev.STARTED:
            self.command = str(event.get("command") or self.command)
            self.total = event.get("total")
        elif kind == ev.PROGRESS:
            self.done, self.total = int(event.get("done") or 0), event.get("total", self.total)
        elif kind == ev.ERROR:
            self.error = event
        elif kind == ev.FINISHED:
            self.finished = event

    @property
    def status(self) -> str:
        """waiting (no event yet) | running | completed | stopped | failed"""
        if self.finished:
            return str(self.finished.get("status", "completed"))
        return "running" if self.command or self.done else "waiting"


def read_command(path: str | Path) -> CommandState:
    """A command's state from its events file (empty when it wrote none)."""
    state = CommandState()
    for event in ev.read_all(path):
        state.apply(event)
    return state
