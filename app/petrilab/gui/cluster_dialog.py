""""Run on cluster…": send the experiment (or a sweep of it) to a SLURM cluster from the window.

The dialog asks what the cluster needs (partition, GPUs, time limit, the
runs folder on the shared disk, optional sweep rows), remembers it for next
time, and runs `petrilab submit … --json` as a child process: the window
never waits on the cluster. What the command did (the job, its script and run
folders) or why it refused is read from its events (--events, in a folder of
the dialog's own), the terminal text only when it wrote none. The run folders it prepares are then listed on
the Runs page, queued until the cluster starts them. Without SLURM's sbatch
on this computer, it writes the job script only, to submit on the cluster.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QProcess, QRegularExpression, QSettings, Qt, Signal
from PySide6.QtGui import QFont, QRegularExpressionValidator
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui.context import AppContext, engine_command
from petrilab.command_events import read_command
from petrilab.gui.process import job_failure
from petrilab.gui.widgets.message_box import InlineMessage

KEYS = {"partition": "cluster/partition", "gpus": "cluster/gpus", "time": "cluster/time",
        "runs_dir": "cluster/runs_dir", "sweep": "cluster/sweep", "dry_run": "cluster/dry_run"}
NO_SBATCH = ("This computer cannot send jobs to the cluster: SLURM's 'sbatch' command is not installed here.")
NO_SBATCH_FIX = ("'Write script only' writes the job script into the runs folder; submit it from the cluster's "
                 "login node with: sbatch <the script>. The run folders appear on the Runs page and start "
                 "moving when the cluster runs them.")
TIME_PATTERN = r"^(\d+-)?\d{1,3}:[0-5]\d$"


def store() -> QSettings:
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "PetriLab", "PetriLab")


def sbatch_here() -> bool:
    return shutil.which("sbatch") is not None


def sweep_rows(text: str) -> list[str]:
    """The non-empty rows of the sweep box, each 'section.key=value1,value2'."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


class ClusterDialog(QDialog):
    """The SLURM fields, a preview of the command and the script, and Submit (or Write script)."""

    submitted = Signal(dict)  # what `petrilab submit --json` printed

    def __init__(self, context: AppContext, parent: QWidget | None = None, command: list[str] | None = None):
        super().__init__(parent)
        self.context = context
        self.command = list(command) if command else engine_command()
        self.process: QProcess | None = None
        self.answer: dict | None = None  # what the last submit printed
        self._previewing = False
        self._temp: tempfile.TemporaryDirectory | None = None
        self._events: Path | None = None  # the running command's events (--events)
        self.setWindowTitle("Run on cluster")
        self.setMinimumWidth(720)
        self.resize(780, 720)
        self._build()
        self._load_remembered()
        self._sbatch_check()
        self._update_command()

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        intro = QLabel("Train this experiment on a SLURM cluster. The runs are written to a folder on the "
                       "cluster's shared disk; the Runs page follows them from here while the cluster works.")
        intro.setWordWrap(True)
        self.partition = QLineEdit()
        self.partition.setPlaceholderText("the cluster's default (e.g. gpu)")
        self.partition.setToolTip("The queue to use; the command 'sinfo' on the cluster lists them.")
        self.gpus = QSpinBox()
        self.gpus.setRange(0, 16)
        self.gpus.setToolTip("GPUs per training; 0 trains on the node's processors.")
        self.time = QLineEdit()
        self.time.setPlaceholderText("HH:MM — the cluster's default when empty")
        self.time.setValidator(QRegularExpressionValidator(QRegularExpression(TIME_PATTERN), self.time))
        self.time.setToolTip("The longest a training may take, hours:minutes (e.g. 04:00). The cluster stops "
                             "a job that runs longer; the run can then be continued from its last checkpoint.")
        self.runs_dir = QLineEdit()
        self.runs_dir.setPlaceholderText("a folder on the shared disk the cluster's nodes can write to")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_runs_dir)
        where = QHBoxLayout()
        where.addWidget(self.runs_dir, 1)
        where.addWidget(browse)
        self.sweep = QPlainTextEdit()
        self.sweep.setPlaceholderText("Optional: one setting per row, with the values to try, e.g.\n"
                                      "training.learning_rate=0.001,0.0003\nmodel.dropout=0,0.3")
        self.sweep.setFixedHeight(64)
        self.sweep.setToolTip("A sweep trains one run per value (per combination, with several rows), as one "
                              "SLURM job array; the Runs page then compares them side by side.")
        self.dry_run = QCheckBox("Write script only (send nothing to the cluster)")
        form = QFormLayout()
        form.addRow("Partition", self.partition)
        form.addRow("GPUs", self.gpus)
        form.addRow("Time limit", self.time)
        form.addRow("Runs folder", where)
        form.addRow("Sweep", self.sweep)
        form.addRow("", self.dry_run)

        self.message = InlineMessage()
        self.command_label = QLabel()
        self.command_label.setObjectName("muted")
        small_mono = QFont("monospace")
        small_mono.setStyleHint(QFont.StyleHint.Monospace)
        small_mono.setPointSize(9)
        self.command_label.setFont(small_mono)
        self.command_label.setWordWrap(True)
        self.command_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_button = QPushButton("Show the script")
        self.preview_button.setToolTip("The job script PetriLab would send (written to a temporary folder).")
        self.preview_button.clicked.connect(self.preview)
        preview_row = QHBoxLayout()
        preview_row.addWidget(self.command_label, 1)
        preview_row.addWidget(self.preview_button, 0, Qt.AlignmentFlag.AlignTop)
        self.script = QPlainTextEdit()
        self.script.setReadOnly(True)
        self.script.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.script.setFont(small_mono)
        self.script.setPlaceholderText("Press 'Show the script' to see the job script before sending it.")
        self.script.setMinimumHeight(120)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.submit_button = self.buttons.addButton("Submit", QDialogButtonBox.ButtonRole.ActionRole)
        self.submit_button.setObjectName("primary")
        self.submit_button.clicked.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(preview_row)
        layout.addWidget(self.script, 1)
        layout.addWidget(self.buttons)
        for edit in (self.partition, self.time, self.runs_dir):
            edit.textChanged.connect(self._update_command)
        self.gpus.valueChanged.connect(self._update_command)
        self.sweep.textChanged.connect(self._update_command)
        self.dry_run.toggled.connect(self._update_command)

    # ------------------------------------------------------------ remembered fields

    def _load_remembered(self) -> None:
        s = store()
        self.partition.setText(str(s.value(KEYS["partition"], "") or ""))
        self.gpus.setValue(int(s.value(KEYS["gpus"], 0) or 0))
        self.time.setText(str(s.value(KEYS["time"], "") or ""))
        self.runs_dir.setText(str(s.value(KEYS["runs_dir"], "") or ""))
        self.sweep.setPlainText(str(s.value(KEYS["sweep"], "") or ""))
        self.dry_run.setChecked(str(s.value(KEYS["dry_run"], "false")).lower() == "true")

    def remember(self) -> None:
        s = store()
        s.setValue(KEYS["partition"], self.partition.text().strip())
        s.setValue(KEYS["gpus"], self.gpus.value())
        s.setValue(KEYS["time"], self.time.text().strip())
        s.setValue(KEYS["runs_dir"], self.runs_dir.text().strip())
        s.setValue(KEYS["sweep"], self.sweep.toPlainText().strip())
        if self.dry_run.isEnabled():  # forced on (no sbatch here) says nothing about what the user prefers
            s.setValue(KEYS["dry_run"], "true" if self.dry_run.isChecked() else "false")
        s.sync()

    def _sbatch_check(self) -> None:
        self.has_sbatch = sbatch_here()
        if not self.has_sbatch:
            self.dry_run.setChecked(True)
            self.dry_run.setEnabled(False)
            self.message.show_message("note", NO_SBATCH, fix=NO_SBATCH_FIX)

    def _choose_runs_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "The runs folder on the cluster's shared disk",
                                                  self.runs_dir.text() or str(Path.home()))
        if folder:
            self.runs_dir.setText(folder)

    # ------------------------------------------------------------ the command

    def arguments(self, settings_path: str | Path, runs_dir: str | Path | None = None,
                  dry_run: bool | None = None) -> list[str]:
        """The `petrilab submit` arguments for what the dialog shows."""
        args = ["submit", str(settings_path), "--slurm"]
        if self.partition.text().strip():
            args += ["--partition", self.partition.text().strip()]
        if self.gpus.value():
            args += ["--gpus", str(self.gpus.value())]
        if self.time.text().strip():
            args += ["--time", self.time.text().strip()]
        runs_dir = runs_dir if runs_dir is not None else self.runs_dir.text().strip()
        if runs_dir:
            args += ["--runs-dir", str(runs_dir)]
        for row in sweep_rows(self.sweep.toPlainText()):
            args += ["--sweep", row]
        if self.dry_run.isChecked() if dry_run is None else dry_run:
            args.append("--dry-run")
        return args + ["--json"]

    def command_line(self) -> str:
        settings = self.context.settings_path or "SETTINGS"
        return " ".join(shlex.quote(a) for a in ["petrilab", *self.arguments(settings)])

    def _update_command(self) -> None:
        self.command_label.setText(f"Command: {self.command_line()}")
        self.submit_button.setText("Write script" if self.dry_run.isChecked() else "Submit")

    def problem(self) -> str | None:
        """What must be filled in before sending, in plain words (None: ready)."""
        if not self.runs_dir.text().strip():
            return "Choose the runs folder on the cluster's shared disk."
        time_text = self.time.text().strip()
        if time_text and not QRegularExpression(TIME_PATTERN).match(time_text).hasMatch():
            return f"The time limit '{time_text}' should be hours:minutes, e.g. 04:00."
        for row in sweep_rows(self.sweep.toPlainText()):
            key, sep, values = row.partition("=")
            if not sep or not values.strip():
                return f"The sweep row '{row}' should read setting=value1,value2, e.g. training.epochs=20,50."
        return None

    def _settings_file(self) -> Path:
        """The experiment as a file the command can read: the saved one, or a copy of what the window shows."""
        settings_io.validate(self.context.settings)
        saved = self.context.settings_path
        if saved is not None and Path(saved).is_file() and not self.context.dirty:
            return Path(saved)
        name = runs.safe_name(self.context.settings.name or "experiment")
        return settings_io.save(self.context.settings, self._own_folder() / f"{name}.toml")

    def _own_folder(self) -> Path:
        """A temporary folder of the dialog's own (an unsaved experiment's copy, the command's events)."""
        self._temp = self._temp or tempfile.TemporaryDirectory(prefix="petrilab-submit-")
        return Path(self._temp.name)

    # ------------------------------------------------------------ sending

    def submit(self) -> bool:
        """Run `petrilab submit` for the fields shown; False when something is missing (said in the dialog)."""
        return self._start(preview=False)

    def preview(self) -> bool:
        """Write the job script into a temporary folder (a dry run) and show it; nothing is sent."""
        return self._start(preview=True)

    def _start(self, preview: bool) -> bool:
        if self.is_running():
            return False
        problem = None if preview else self.problem()
        if problem:
            self.message.show_message("warning", problem)
            return False
        try:
            settings_path = self._settings_file()
        except UserError as exc:
            self.message.show_message("error", exc.message, exc.file, exc.fix)
            return False
        if preview:
            self._preview_dir = Path(tempfile.mkdtemp(prefix="petrilab-preview-"))
            args = self.arguments(settings_path, runs_dir=self._preview_dir, dry_run=True)
        else:
            self.remember()
            args = self.arguments(settings_path)
        self._previewing = preview
        self.message.show_message("note", "Writing the job script…" if preview or self.dry_run.isChecked()
                                  else "Sending the job to the cluster…")
        self.submit_button.setEnabled(False)
        self.preview_button.setEnabled(False)
        self._events = self._own_folder() / "submit.events.jsonl"
        self._events.write_text("", encoding="utf-8")  # this command's events only
        process = QProcess(self)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._failed_to_start)
        self.process = process
        process.start(self.command[0], self.command[1:] + args + ["--events", str(self._events)])
        return True

    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def wait(self, msecs: int = 60_000) -> bool:
        return self.process is None or self.process.waitForFinished(msecs)

    def _failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._done_buttons()
            self.message.show_message("error", f"PetriLab could not start its engine ({' '.join(self.command)}).")

    def _done_buttons(self) -> None:
        self.submit_button.setEnabled(True)
        self.preview_button.setEnabled(True)

    def _finished(self, exit_code: int, _status) -> None:
        self._done_buttons()
        done = read_command(self._events)
        if exit_code != 0 or done.status != "completed":
            out = bytes(self.process.readAllStandardOutput()).decode("utf-8", errors="replace")
            err = bytes(self.process.readAllStandardError()).decode("utf-8", errors="replace")
            self._show_failure(err or out)
            return
        answer = {k: v for k, v in done.finished.items() if k not in ("event", "time", "status", "seconds")}
        if self._previewing:
            self._show_preview(answer)
            return
        self.answer = answer
        script = answer.get("script")
        run_dirs = [str(p) for p in answer.get("run_dirs") or []]
        count = f"{len(run_dirs)} runs" if len(run_dirs) != 1 else "1 run"
        try:
            self.script.setPlainText(Path(script).read_text(encoding="utf-8"))
        except (OSError, TypeError):
            pass
        if answer.get("job_id"):
            self.message.show_message("success", f"Sent to the cluster: SLURM job {answer['job_id']} ({count}).",
                                      fix="The Runs page follows the runs: queued until the cluster starts them.")
        else:
            self.message.show_message("success", f"Job script written ({count}); nothing was sent.", script,
                                      f"Submit it on the cluster's login node with: sbatch {script}")
        self.submitted.emit(answer)
        self.context.runs_submitted.emit(self.runs_dir.text().strip(), run_dirs)
        self.context.go_to_page.emit("runs")
        if answer.get("job_id"):
            self.accept()

    def _show_preview(self, answer: dict) -> None:
        preview_dir = self._preview_dir
        try:
            text = Path(answer.get("script") or "").read_text(encoding="utf-8")
        except OSError:
            text = ""
        finally:
            shutil.rmtree(preview_dir, ignore_errors=True)
        real = self.runs_dir.text().strip()
        if real:  # the folders are named when the job is really written: show them in the real runs folder
            text = text.replace(str(preview_dir), real)
        if not self.dry_run.isChecked():  # the script records the command that wrote it: show the real one
            text = text.replace(" --dry-run", "")
        self.script.setPlainText(text)
        self.message.show_message("note", "A preview: the run folders get their final names (date and time) "
                                  "when you press " + self.submit_button.text() + ".")

    def _show_failure(self, text: str) -> None:
        """The command's `error` event; its terminal `text` only when it wrote none (it could not start)."""
        failure = job_failure(self._events, text)
        if failure:
            message, file, fix = failure
            self.message.show_message("error", message, file, fix)
        else:
            lines = [line for line in text.strip().splitlines() if line.strip()]
            self.message.show_message("error", "The cluster command failed without explaining why.",
                                      fix="Check the fields and try again; the command's last words are below.",
                                      details="\n".join(lines[-8:]) or None)

    def done(self, result: int) -> None:  # noqa: D401 (Qt's name): closing the dialog
        if self.is_running() and not self._previewing:
            # closing now would kill the command half-way: folders made, the job maybe queued, nobody told
            self.message.show_message("note", "Wait a moment: the job is being sent to the cluster.")
            return
        if self._temp is not None and not self.is_running():
            self._temp.cleanup()
            self._temp = None
        super().done(result)
