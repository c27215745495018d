""""Find better settings": `petrilab tune` from the window, followed trial by trial.

The dialog makes the tuning folder, runs `petrilab tune … --study-dir FOLDER` as a child process (like
a training: the window never imports TensorFlow and never waits), and reads what the engine writes:
tuning.json after every trial, the running trial's state from its run folder (run_state, as the Runs page),
and the search's own events (--events beside tune.log): why it failed, from its `error` event, the log's
last lines only when it wrote none. When it ends, the best
settings found (on the validation images) can be opened as the experiment, and the trials compared
on the Runs page (they are ordinary run folders).
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui.context import AppContext, engine_command
from petrilab.gui.process import events_beside, fresh_events, job_failure, read_log_tail
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.gui.widgets.run_comparison import format_value, header
from petrilab.output_folders import refuse_inside_data, writable_folder
from petrilab.run_state import RunReader, RunState

POLL_MS = 1000
STOP_WAIT_MS = 200_000  # after Stop: the running trial finishes its batch and its run folder, then terminate
LOG = "tune.log"
START = "start_settings.toml"  # tuning/records.py: the engine's name for it (no engine import here)
COLUMNS = ["Trial", "What changed", "Validation", "Epochs", "Time", "Verdict", "State"]
STATE_WORDS = {"complete": "complete", "pruned": "stopped early (poor)", "stopped": "stopped",
               "failed": "failed", "running": "running…"}
INTRO = ("PetriLab trains several versions of this experiment, each a normal run, changing what matters most "
         "(learning rate, augmentation, network size, dropout and L2, batch size, image size). The first "
         "trial is your settings unchanged; poor trials are stopped early, and each run's diagnosis "
         "suggests the next one. Choices are made on the validation images only.")


class TuneDialog(QDialog):
    def __init__(self, context: AppContext, parent: QWidget | None = None, command: list[str] | None = None):
        super().__init__(parent)
        self.context = context
        self.command = list(command) if command else engine_command()
        self.process: QProcess | None = None
        self.folder: Path | None = None
        self.summary: dict = {}
        self._mtime = None
        self._reader: RunReader | None = None
        self._trial = RunState()  # the running trial's
        self._followed: str | None = None
        self.setWindowTitle("Find better settings")
        self.resize(860, 560)
        self._build()
        self.timer = QTimer(self, interval=POLL_MS, timeout=self.refresh)
        self._terminate_timer = QTimer(self, singleShot=True, timeout=self._terminate)

    def _build(self) -> None:
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.budget = QSpinBox()
        self.budget.setRange(1, 7 * 24 * 60)
        self.budget.setValue(30)
        self.budget.setSuffix(" minutes")
        self.budget.setToolTip("Wall-clock time for the whole search; the trial still running then is stopped.")
        self.trials = QSpinBox()
        self.trials.setRange(0, 1000)
        self.trials.setValue(20)
        self.trials.setSpecialValueText("no limit")
        self.trials.setToolTip("The most trials to train (0: as many as the time allows).")
        form = QFormLayout()
        form.addRow("Time budget", self.budget)
        form.addRow("At most", self.trials)
        self.start_button = QPushButton("Start searching")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip("Stop the running trial (its run folder is kept) and keep the best so far.")
        self.stop_button.clicked.connect(self.stop)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.status, 1)
        self.message = InlineMessage()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(True)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.best = QLabel("")
        self.best.setWordWrap(True)
        self.best.setStyleSheet("font-weight: 600;")
        self.open_best_button = QPushButton("Open the best settings")
        self.open_best_button.setToolTip("Open best_settings.toml as the experiment (then train it, or save it).")
        self.open_best_button.setEnabled(False)
        self.open_best_button.clicked.connect(self.open_best)
        self.compare_button = QPushButton("Compare on the Runs page")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.compare)
        bottom = QHBoxLayout()
        bottom.addWidget(self.best, 1)
        bottom.addWidget(self.compare_button)
        bottom.addWidget(self.open_best_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)

    # ------------------------------------------------------------ running

    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> Path | None:
        """Make the tuning folder and start `petrilab tune` on it; returns the folder (None if refused)."""
        if self.is_running():
            return None
        self.message.clear()
        settings = self.context.settings
        try:
            settings_io.validate(settings)
            refuse_inside_data(self.context.runs_dir, [settings.data.folder, settings.data.test_folder])
            writable_folder(self.context.runs_dir)
            folder = runs.new_run_dir(self.context.runs_dir, f"{settings.name or 'experiment'}_tune")
            settings_io.save(settings, folder / START)
        except UserError as exc:
            self.message.show_message("error", exc.message, exc.file, exc.fix)
            return None
        except OSError as exc:
            self.message.show_message("error", f"PetriLab could not prepare the tuning folder: {exc.strerror}.",
                                      exc.filename, "Choose a runs folder you can write to.")
            return None
        self.folder, self.summary, self._mtime, self._reader, self._followed = folder, {}, None, None, None
        args = ["tune", str(folder / START), "--study-dir", str(folder), "--budget", str(self.budget.value()),
                "--events", str(fresh_events(folder / LOG))]
        if self.trials.value():
            args += ["--trials", str(self.trials.value())]
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.setStandardOutputFile(str(folder / LOG), QProcess.OpenModeFlag.Append)
        process.setWorkingDirectory(str(folder))
        process.finished.connect(self._finished)
        self.process = process
        process.start(self.command[0], self.command[1:] + args)
        self.status.setText("Starting the engine…")
        self._buttons()
        self.timer.start()
        return folder

    def follow(self, folder: str | Path) -> None:
        """Show a tuning folder (one running from a terminal or a cluster, or finished)."""
        self.folder, self.summary, self._mtime, self._reader, self._followed = Path(folder), {}, None, None, None
        self.refresh()
        self.timer.start()

    def stop(self) -> None:
        """Ask politely: a STOP file in the tuning folder (the running trial finishes its batch, saves)."""
        if not self.is_running() or self.folder is None:
            return
        (self.folder / runs.STOP_REQUEST).touch()
        self.status.setText("Stopping: the running trial finishes its batch and saves…")
        self.stop_button.setEnabled(False)
        self._terminate_timer.start(STOP_WAIT_MS)

    def _terminate(self) -> None:
        if self.is_running():
            self.process.terminate()

    def wait(self, msecs: int = 60_000) -> bool:
        return self.process is None or self.process.waitForFinished(msecs)

    def _finished(self, exit_code: int, _status) -> None:
        self.timer.stop()
        self._terminate_timer.stop()
        self.refresh()
        if exit_code != 0:
            tail = read_log_tail(self.folder / LOG, 40) if self.folder else ""
            failure = job_failure(events_beside(self.folder / LOG), tail) if self.folder else None
            if failure:
                self.message.show_message("error", *failure)
            else:
                self.message.show_message("error", "The search stopped unexpectedly.", str(self.folder / LOG),
                                          "Try again; if it happens again, send this log to PetriLab's developers.",
                                          details="\n".join(tail.splitlines()[-8:]) or None)
        self._buttons()

    def _buttons(self) -> None:
        running = self.is_running()
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running and not (self.folder and (self.folder / runs.STOP_REQUEST).exists()))
        self.budget.setEnabled(not running)
        self.trials.setEnabled(not running)
        has_best = bool(self.folder and (self.summary.get("best") or {}).get("settings_file"))
        self.open_best_button.setEnabled(has_best and not running)
        self.compare_button.setEnabled(bool(self.trial_folders()))

    # ------------------------------------------------------------ following

    def refresh(self) -> None:
        if self.folder is None:
            return
        path = self.folder / "tuning.json"
        try:
            mtime = path.stat().st_mtime
            if mtime != self._mtime:
                self.summary = json.loads(path.read_text(encoding="utf-8"))
                self._mtime = mtime
                self._fill()
        except (OSError, ValueError):
            pass  # not written yet, or being replaced: the next look reads it
        self._follow_running()
        self._status()
        self._buttons()

    def _fill(self) -> None:
        rows = self.summary.get("trials") or []
        metric = self.summary.get("metric")
        self.table.setHorizontalHeaderItem(2, QTableWidgetItem(header(metric)))
        self.table.setRowCount(len(rows))
        best = (self.summary.get("best") or {}).get("trial")
        for i, row in enumerate(rows):
            seconds = row.get("seconds")
            cells = [str(row["trial"]), row.get("changes") or "", format_value(metric, row.get("validation_value")),
                     str(row.get("epochs") or ""), f"{seconds:.0f} s" if isinstance(seconds, (int, float)) else "",
                     str(row.get("verdict") or "").replace("_", " "), STATE_WORDS.get(row["state"], row["state"])]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if row["trial"] == best:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if row.get("note"):
                    item.setToolTip(row["note"])
                self.table.setItem(i, column, item)
        self._show_best()

    def _follow_running(self) -> None:
        running = [r for r in self.summary.get("trials") or [] if r.get("state") == "running"]
        if not running or self.folder is None:
            self._reader, self._followed = None, None
            return
        name = running[-1]["run_folder"]
        if name != self._followed:
            self._followed, self._reader = name, RunReader(self.folder / name)
            self._trial = RunState(run_dir=self.folder / name)
        self._trial.take(self._reader.look())

    @property
    def _epoch(self) -> str:
        """The running trial's epochs so far ('' before its first ends)."""
        if self._reader is None or not self._trial.epochs_done:
            return ""
        return f"epoch {self._trial.epochs_done} of {self._trial.planned_epochs}"

    def _status(self) -> None:
        if self.is_running():
            running = [r for r in self.summary.get("trials") or [] if r.get("state") == "running"]
            if running and not (self.folder / runs.STOP_REQUEST).exists():
                self.status.setText(f"Trial {running[-1]['trial']} is training" +
                                    (f" ({self._epoch})" if self._epoch else "") + "…")
            return
        ended = self.summary.get("ended")
        counts = self.summary.get("counts") or {}
        why = {"budget": "the time budget is spent", "trials": "all the trials are done",
               "asked": "you stopped it"}.get(ended or "", "")
        if self.summary:
            self.status.setText(f"Search finished{': ' + why if why else ''}. {counts.get('complete', 0)} complete, "
                                f"{counts.get('pruned', 0)} stopped early, {counts.get('stopped', 0)} stopped, "
                                f"{counts.get('failed', 0)} failed.")

    def _show_best(self) -> None:
        best = self.summary.get("best")
        metric = self.summary.get("metric")
        if not best:
            self.best.setText("")
            return
        if best["trial"] == 0:
            self.best.setText(f"Best so far: your own settings ({format_value(metric, best['validation_value'])}).")
            return
        base = best.get("baseline_value")
        if base == best["validation_value"]:
            versus = " (as good as your settings, with a lower validation loss)"
        else:
            versus = f" (your settings: {format_value(metric, base)})" if base is not None else ""
        self.best.setText(f"Best so far: trial {best['trial']} — {best['changes']} — "
                          f"{format_value(metric, best['validation_value'])}{versus}.")

    # ------------------------------------------------------------ results

    def best_settings(self) -> Path | None:
        best = self.summary.get("best") or {}
        path = self.folder / best["settings_file"] if self.folder and best.get("settings_file") else None
        return path if path is not None and path.is_file() else None

    def open_best(self) -> None:
        path = self.best_settings()
        if path is not None:
            self.context.open_experiment.emit(path)

    def trial_folders(self) -> list[Path]:
        if self.folder is None:
            return []
        return [self.folder / r["run_folder"] for r in self.summary.get("trials") or [] if r.get("run_folder")]

    def compare(self) -> None:
        if self.folder is not None:
            self.context.runs_submitted.emit(str(self.folder), [str(p) for p in self.trial_folders()])
            self.context.go_to_page.emit("runs")

    def shutdown(self, wait_ms: int = 20_000) -> None:
        """The window closes: stop the search politely and give the running trial time to save."""
        if self.is_running():
            self.stop()
            if not self.wait(wait_ms):
                self.process.terminate()
                self.wait(5_000)
