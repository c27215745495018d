"""Run the engine (`petrilab train / evaluate / predict`) as a child process.

Why a child process: the window never imports TensorFlow, never freezes,
and a crash or out-of-memory in training cannot take the user's session
down. The GUI learns what happens from events, never from the child's
output: training's in the run folder (RunFollower), evaluate's and predict's
in a file named with --events beside their log. The child's output only goes
to a log file that explains a crash.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.command_events import read_command
from petrilab.gui.context import engine_command
from petrilab.settings import Settings

MAX_WAIT_AFTER_STOP_MS = 180_000  # an engine still writing events after Stop is finishing its work
TRAIN_LOG = "engine.log"
EVALUATE_LOG = "engine-evaluate.log"
PREDICT_LOG = "engine-predict.log"


class EngineProcess(QObject):
    """One engine job at a time: start it, stop it politely, and report how it ended."""

    started = Signal()
    # exit code (0 = success), and whether it ended on its own (False: crashed, killed or terminated)
    finished = Signal(int, bool)

    def __init__(self, parent: QObject | None = None, command: list[str] | None = None,
                 grace_ms: int = 15_000, kill_ms: int = 5_000):
        super().__init__(parent)
        self.command = list(command) if command else engine_command()
        self.grace_ms = grace_ms  # after STOP, how long the engine may take to finish its batch and save
        self.kill_ms = kill_ms  # after terminate, how long before kill
        self.run_dir: Path | None = None
        self.log_path: Path | None = None
        self.events_path: Path | None = None  # evaluate / predict: their events (--events), beside the log
        self.job: str | None = None  # train | evaluate | predict
        self.stop_requested = False
        self._events_size = -1
        self._waited_ms = 0
        self._process: QProcess | None = None
        self._terminate_timer = QTimer(self, singleShot=True, timeout=self._terminate)
        self._kill_timer = QTimer(self, singleShot=True, timeout=self._kill)

    # ------------------------------------------------------------ starting jobs

    def start_train(self, settings: Settings, runs_dir: str | Path) -> Path:
        """Train `settings` in a new run folder the GUI picks; returns that folder."""
        run_dir = runs.new_run_dir(runs_dir, settings.name or "experiment")
        # The engine reads this file and rewrites it with what it learnt (classes, channels) under [learnt].
        settings_path = settings_io.save(settings, run_dir / runs.SETTINGS)
        # --quiet: the events are in the run folder already; the log keeps only what explains a crash
        self._start("train", ["train", str(settings_path), "--run-dir", str(run_dir), "--quiet"], run_dir,
                    run_dir / TRAIN_LOG)
        return run_dir

    def resume_train(self, run_dir: str | Path, changes: dict | None = None) -> Path:
        """Continue a run from its last.keras, with the settings it ran with and a few `changes` (--set)."""
        run_dir = Path(run_dir)
        args = ["train", str(run_dir / runs.SETTINGS), "--resume", str(run_dir), "--quiet"]
        for key, value in (changes or {}).items():
            args += ["--set", f"{key}={json.dumps(value)}"]  # JSON numbers, booleans, lists and strings read as TOML
        try:
            (run_dir / runs.STOP_REQUEST).unlink()  # a Stop from an earlier session must not stop this one
        except FileNotFoundError:
            pass
        self._start("train", args, run_dir, run_dir / TRAIN_LOG, append_log=True)
        return run_dir

    def start_evaluate(self, run_dir: str | Path, data: str | Path | None = None) -> None:
        run_dir = Path(run_dir)
        args = ["evaluate", str(run_dir)] + (["--data", str(data)] if data else [])
        self._start("evaluate", args, run_dir, run_dir / EVALUATE_LOG, with_events=True)

    def start_predict(self, run_dir: str | Path, input_dir: str | Path, output_dir: str | Path,
                      extra: list[str] | None = None, log_path: str | Path | None = None) -> None:
        """`extra`: more options (e.g. --probabilities, --set postprocess.min_size=30); `log_path`: another log."""
        run_dir = Path(run_dir)
        args = ["predict", str(run_dir), str(input_dir), str(output_dir)] + list(extra or [])
        self._start("predict", args, run_dir, Path(log_path) if log_path else run_dir / PREDICT_LOG, with_events=True)

    def _start(self, job: str, args: list[str], run_dir: Path, log_path: Path, append_log: bool = False,
               with_events: bool = False) -> None:
        if self.is_running():
            raise RuntimeError("the engine is already running a job")
        self.job = job
        self.run_dir = run_dir
        self.log_path = log_path
        self.events_path = events_beside(log_path) if with_events else None
        self.stop_requested = False
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if not append_log:
            log_path.write_text("", encoding="utf-8")
        if self.events_path is not None:
            fresh_events(log_path)  # this job's events only
            args = args + ["--events", str(self.events_path)]
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONIOENCODING", "utf-8")
        process.setProcessEnvironment(env)
        # Straight to a file: nothing for the GUI thread to copy, and the log survives a GUI crash.
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.setStandardOutputFile(str(log_path), QProcess.OpenModeFlag.Append)
        process.setWorkingDirectory(str(run_dir))
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process = process
        process.start(self.command[0], self.command[1:] + args)
        if process.waitForStarted(5_000):
            lower_priority(process.processId())
        self.started.emit()

    # ------------------------------------------------------------ stopping

    def is_running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        """Ask politely (STOP file: finish the batch, save), then terminate, then kill."""
        if not self.is_running():
            return
        self.stop_requested = True
        if self.job == "train" and self.run_dir is not None:
            (self.run_dir / runs.STOP_REQUEST).touch()
            self._events_size = self._events_now()
            self._waited_ms = 0
            self._terminate_timer.start(self.grace_ms)
        else:
            self._terminate()  # evaluate / predict save nothing worth waiting for

    def _events_now(self) -> int:
        try:
            return (self.run_dir / runs.EVENTS).stat().st_size
        except (OSError, TypeError):
            return -1

    def _terminate(self) -> None:
        if not self.is_running():
            return
        if self.job == "train" and self.stop_requested:
            # Still writing events: it heard the request and is saving, evaluating the best model and
            # writing the report. Let it finish (up to a limit) rather than lose that work.
            size, self._waited_ms = self._events_now(), self._waited_ms + self.grace_ms
            if size != self._events_size and self._waited_ms < MAX_WAIT_AFTER_STOP_MS:
                self._events_size = size
                self._terminate_timer.start(self.grace_ms)
                return
        self._process.terminate()
        self._kill_timer.start(self.kill_ms)

    def _kill(self) -> None:
        if self.is_running():
            self._process.kill()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the child ends (for tests and for closing the window)."""
        return self._process is None or self._process.waitForFinished(msecs)

    # ------------------------------------------------------------ how it ended

    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._terminate_timer.stop()
        self._kill_timer.stop()
        normal = exit_status == QProcess.ExitStatus.NormalExit
        self.finished.emit(int(exit_code), normal)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._append_log(f"PetriLab could not start its engine ({' '.join(self.command)}).\n")
            self.finished.emit(-1, False)

    def _append_log(self, text: str) -> None:
        if self.log_path is not None:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(text)

    def log_tail(self, lines: int = 15) -> str:
        return read_log_tail(self.log_path, lines) if self.log_path else ""


def event_failure(events_path: Path) -> tuple[str, str | None, str | None] | None:
    """A command's `error` event (message, file, what to do) from its events file; None when it wrote none."""
    error = read_command(events_path).error
    if not error:
        return None
    return str(error.get("message") or ""), error.get("file"), error.get("fix")


def job_failure(events_path: Path | None, log_text: str) -> tuple[str, str | None, str | None] | None:
    """Why a command failed: its `error` event; only when it wrote none (it could not start, or was killed
    first), the plain message at the end of its terminal text, the last resort."""
    return (event_failure(events_path) if events_path is not None else None) or plain_failure(log_text)


def fresh_events(log_path: Path) -> Path:
    """The events file beside a command's log, emptied: it will hold this command's events only (--events)."""
    path = events_beside(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")
    return path


def events_beside(log_path: Path) -> Path:
    """engine-predict.log → engine-predict.events.jsonl: where the window asks a job for its events."""
    return log_path.with_name(f"{log_path.stem}.events.jsonl")


def lower_priority(pid: int) -> None:
    """Run the engine below the window's priority: training uses every core, and the window must still
    get one the moment it needs to repaint. (On an otherwise idle machine training loses nothing.)"""
    try:
        if hasattr(os, "setpriority"):
            os.setpriority(os.PRIO_PROCESS, pid, 10)
        else:  # Windows
            import psutil

            psutil.Process(pid).nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
    except Exception:  # noqa: BLE001 - a priority we cannot set is no reason not to train
        pass


# TensorFlow's start-up chatter (C++ log lines such as "I0000 00:00:… cudart_stub.cc…"): nothing a user can act on
_NOISE = re.compile(r"^([IWE]\d{4} \d\d:\d\d|WARNING: All log messages before absl)")


def read_log_tail(path: str | Path, lines: int = 15) -> str:
    """The last lines of an engine log, without the event lines the engine echoes to stdout."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64_000))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines()
            if line.strip() and not line.startswith('{"event"') and not _NOISE.match(line)]
    return "\n".join(kept[-lines:])


def plain_failure(log_text: str) -> tuple[str, str | None, str | None] | None:
    """The engine's own plain message at the end of a log ("PetriLab: …", File, What to do), if it wrote one."""
    lines = log_text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("PetriLab")]
    if not starts:
        return None
    block = lines[starts[-1]:]
    message = block[0].removeprefix("PetriLab:").strip()
    file = fix = None
    for line in block[1:]:
        text = line.strip()
        if text.startswith("File:"):
            file = text.removeprefix("File:").strip()
        elif text.startswith("What to do:"):
            fix = text.removeprefix("What to do:").strip()
        elif fix is not None:
            fix += " " + text
        elif text:
            message += " " + text
    return message, file, fix
