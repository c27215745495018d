"""Train: start the engine in a child process, watch the curves and the diagnosis live, stop it.

Everything shown comes from the run folder's events (RunFollower), so the
page shows a run started here exactly as one started from a terminal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QSplitter,
                               QVBoxLayout, QWidget)

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui.context import AppContext
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.pages.train_crash import CRASHED, crash_words, read_json
from petrilab.gui.pages.train_status import NOT_TRAINED, details_words, progress_words, status_words
from petrilab.gui.process import EngineProcess
from petrilab.gui.run_follower import RunFollower
from petrilab.gui.widgets.curves import TrainingCurves
from petrilab.gui.widgets.diagnosis_panel import DiagnosisPanel
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.output_folders import refuse_inside_data, writable_folder

STILL_RUNNING = "The training is still running: wait for it to finish, or press Stop."
NO_MODEL = "This run saved no model: fix the problem shown and press Start again."
ENGINE_CHECK_MS = 2_000  # how often a run whose engine is not ours is checked for a silent death
STOPPED = "Training stopped. The best model so far was saved: you can evaluate it, or continue training later."


class TrainPage(WizardPage):
    key = "train"
    title = "Train"

    def __init__(self, context: AppContext, parent: QWidget | None = None, engine: EngineProcess | None = None):
        super().__init__(context, parent)
        self.engine = engine or EngineProcess(self)
        self.follower = RunFollower(self)
        self._drawn: tuple | None = None
        self._ended_run: Path | None = None  # the run whose engine this page saw end
        self._last_problem: str | None = NOT_TRAINED
        self._build()
        self.follower.changed.connect(self._refresh)
        # The verdict is drawn one event-loop turn after the curves, so one epoch's work never makes
        # a single long pause of the window.
        self.follower.diagnosis.connect(self._queue_diagnosis)
        self.engine.finished.connect(self._on_engine_finished)
        # a run started elsewhere (a terminal, a window closed since) may die silently: look now and then
        self._engine_check = QTimer(self, interval=ENGINE_CHECK_MS, timeout=self._check_engine_alive)
        self._engine_check.start()
        self.diagnosis.advice_applied.connect(self.apply_advice)
        context.run_changed.connect(self._on_run_changed)

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("primary")
        self.start_button.setMinimumWidth(140)
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip("Finish the current batch, save the best model so far, then stop.")
        self.stop_button.clicked.connect(self.stop)
        self.cluster_button = QPushButton("Run on cluster…")
        self.cluster_button.setToolTip("Train on a SLURM cluster (one run, or a sweep of runs) and follow it on the "
                                       "Runs page.")
        self.cluster_button.clicked.connect(lambda: self.open_cluster_dialog())
        self.tune_button = QPushButton("Find better settings…")
        self.tune_button.setToolTip("Train several versions of these settings within a time budget and keep the "
                                    "best on the validation images (each trial is a run).")
        self.tune_button.clicked.connect(lambda: self.open_tune_dialog())
        self.tune_dialog = None
        self.resume_button = QPushButton("Continue training")
        self.resume_button.setToolTip("Continue this run from its last saved epoch (last.keras).")
        self.resume_button.hide()  # offered when an engine died without finishing its run
        self.resume_button.clicked.connect(lambda: self.resume())
        self.open_button = QPushButton("Open run folder")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_folder)
        self.status = QLabel(NOT_TRAINED)
        self.status.setStyleSheet("font-weight: 600;")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(self.start_button)
        top.addWidget(self.cluster_button)
        top.addWidget(self.tune_button)
        top.addWidget(self.stop_button)
        top.addWidget(self.resume_button)
        top.addSpacing(12)
        top.addWidget(self.status, 1)
        top.addWidget(self.open_button)

        self.details = QLabel()  # device, parameters, images
        self.details.setStyleSheet("color: #555;")
        # Labels that change during a run must not change size: a relayout repaints the plots too.
        self.details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(14)
        self.progress_label = QLabel()
        self.progress_label.setStyleSheet("color: #333;")
        self.progress_label.setFixedWidth(360)
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.progress_label)

        self.message = InlineMessage()
        self.warnings = InlineMessage()

        self.curves = TrainingCurves()
        self.diagnosis = DiagnosisPanel()
        self.diagnosis.setMinimumWidth(290)  # with the two plots, still within a 1024-pixel laptop screen
        self.diagnosis.setStyleSheet("#diagnosisBody { background: #ffffff; border-left: 1px solid #dddddd; }")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.curves)
        splitter.addWidget(self.diagnosis)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([620, 400])
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details)
        layout.addLayout(progress_row)
        layout.addWidget(self.message)
        layout.addWidget(self.warnings)
        layout.addWidget(splitter, 1)

    # ------------------------------------------------------------ the page contract

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        # Fill the window's height instead of growing to the wrapped labels' preferred height
        # (which would put the plots and tables below the fold of the window's scroll area).
        return False


    def enter(self) -> None:
        self.curves.prepare()
        run = self.context.current_run
        if run is not None and run != self.follower.run_dir and not self.engine.is_running():
            self.show_run(run)
        self._update_buttons()

    def problem(self) -> str | None:
        if self.engine.is_running() and self.engine.job == "train":
            return STILL_RUNNING
        run = self.follower.run_dir
        if run is None:
            return NOT_TRAINED
        if self.status_now() == "running":
            return STILL_RUNNING
        if not (run / runs.BEST_MODEL).exists():
            return NO_MODEL
        return None

    # ------------------------------------------------------------ starting and stopping

    def start(self) -> Path | None:
        """Start training the current settings in a new run folder; returns it, or None if refused."""
        if self.engine.is_running():
            return None
        self.message.clear()
        try:
            settings_io.validate(self.context.settings)
            data = self.context.settings.data
            # never create anything inside the user's data, and say so before the engine starts
            refuse_inside_data(self.context.runs_dir, [data.folder, data.test_folder])
            writable_folder(self.context.runs_dir)
            run_dir = self.engine.start_train(self.context.settings, self.context.runs_dir)
        except UserError as exc:
            self.message.show_message("error", exc.message, exc.file, exc.fix)
            return None
        except OSError as exc:
            self.message.show_message("error", f"PetriLab could not prepare the run folder: {exc.strerror}.",
                                      exc.filename, "Choose a runs folder you can write to.")
            return None
        return self._started(run_dir)

    def resume(self, changes: dict | None = None) -> Path | None:
        """Continue the run shown from its last saved epoch, with a few settings changed (e.g. more epochs)."""
        run_dir = self.follower.run_dir
        if self.engine.is_running() or run_dir is None:
            return None
        self.message.clear()
        self.engine.resume_train(run_dir, changes)
        return self._started(run_dir)

    def _started(self, run_dir: Path) -> Path:
        self._ended_run = None
        if run_dir != self.follower.run_dir:
            self.show_run(run_dir)
        self.status.setText("Starting the engine…")
        self.context.set_run(run_dir)
        self._update_buttons()
        self.validity_changed.emit()
        return run_dir

    def stop(self) -> None:
        if self.engine.is_running():
            self.engine.stop()
        elif self.status_now() == "running" and self.follower.run_dir is not None:
            # a run started elsewhere (a terminal, a cluster node): the engine honours a STOP file too
            (self.follower.run_dir / runs.STOP_REQUEST).touch()
        else:
            return
        self.status.setText("Stopping: finishing the current batch and saving…")
        self.stop_button.setEnabled(False)

    def open_cluster_dialog(self):
        """'Run on cluster…': the SLURM dialog (cluster_dialog.py); it shows the runs on the Runs page once sent."""
        from petrilab.gui.cluster_dialog import ClusterDialog

        dialog = ClusterDialog(self.context, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_tune_dialog(self):
        """'Find better settings…': the tuning dialog (tune_dialog.py), kept while its search runs."""
        from petrilab.gui.tune_dialog import TuneDialog

        if self.tune_dialog is None:
            self.tune_dialog = TuneDialog(self.context, self)
        self.tune_dialog.show()
        self.tune_dialog.raise_()
        return self.tune_dialog

    def shutdown(self, wait_ms: int = 20_000) -> None:
        """Stop a training (and a search for better settings) before the window closes, giving it time to save."""
        if self.tune_dialog is not None:
            self.tune_dialog.shutdown(wait_ms)
        if self.engine.is_running():
            self.engine.stop()
            self.engine.wait(wait_ms)

    def show_run(self, run_dir: str | Path) -> None:
        """Show (and follow live) any run folder, finished or still being written."""
        run_dir = Path(run_dir)
        self.message.clear()
        self.warnings.clear()
        self.curves.clear()
        self.diagnosis.show_diagnosis({})
        self.follower.follow(run_dir)
        shown = self.follower.state.diagnosis or read_json(run_dir / runs.DIAGNOSIS)
        if shown:
            self._on_diagnosis(shown)
        self._refresh()

    # ------------------------------------------------------------ advice

    def apply_advice(self, advice: dict) -> None:
        """Apply one piece of advice: change the settings, then continue the run or go to the page concerned."""
        try:
            for key, value in (advice.get("changes") or {}).items():
                self.context.set_value(key, value)
        except UserError as exc:
            self.message.show_message("error", exc.message, exc.file, exc.fix)
            return
        if advice.get("resume") and self.follower.run_dir is not None:
            self.resume(advice.get("changes") or {})
        elif advice.get("page") and advice["page"] != self.key:
            self.context.go_to_page.emit(str(advice["page"]))
        else:
            changed = ", ".join(f"{k} = {v}" for k, v in (advice.get("changes") or {}).items())
            self.message.show_message("success", f"Settings changed: {changed}.",
                                      fix="Press Start training to train with them.")

    # ------------------------------------------------------------ following the run

    def _on_run_changed(self, run_dir) -> None:
        if self.engine.is_running() or run_dir == self.follower.run_dir:
            return
        if run_dir is None:  # another experiment was opened: nothing trained for it yet
            self.follower.clear()
            self.curves.clear()
            self.diagnosis.show_diagnosis({})
            self.message.clear()
            self.warnings.clear()
            self.details.clear()
            self.progress.setValue(0)
            self._drawn = None
            self._refresh()
        elif self.isVisible():
            self.show_run(run_dir)

    def _queue_diagnosis(self, event: dict) -> None:
        run = self.follower.run_dir
        QTimer.singleShot(0, lambda: run == self.follower.run_dir and self._on_diagnosis(event))

    def _on_diagnosis(self, event: dict) -> None:
        state = self.follower.state
        can_resume = self._can_resume()
        self.diagnosis.show_diagnosis(event, epoch=state.epochs_done, can_resume=can_resume)

    def _can_resume(self) -> bool:
        run = self.follower.run_dir
        return run is not None and (run / runs.LAST_MODEL).exists() and not self.engine.is_running()

    def _refresh(self) -> None:
        """Bring the page up to date with the run; cheap when only a batch went by (a few times a second)."""
        state = self.follower.state
        # Redraw the curves only when an epoch ended (or another run is shown), not for every batch.
        drawn = (id(state), state.epochs_done, state.best_epoch, tuple(state.metrics.get(state.epochs_done - 1, {})))
        if drawn != self._drawn:
            self._drawn = drawn
            self.curves.show_run(state)
        status = self.status_now()
        self.progress.setValue(int(state.progress() * 1000))
        if state.started:
            self.details.setText(details_words(state.started))
            self.details.setToolTip(f"Run folder: {state.run_dir}")  # the line keeps its width; the button opens it
        elif state.run_dir is not None:
            self.details.setText(f"run folder: {state.run_dir.name}")
        self.progress_label.setText(progress_words(state, status))
        self.status.setText(status_words(state, status, self.engine))
        if state.error:
            self.message.show_message("error", state.error.get("message") or "The training failed.",
                                      state.error.get("file"), state.error.get("fix"))
        elif status == "stopped" and self.message.kind != "error":
            self.message.show_message("note", STOPPED)
        if state.warnings:
            shown = state.warnings[-3:]
            text = " ".join(w.get("message", "") for w in shown)
            fix = shown[-1].get("fix")
            self.warnings.show_message("warning", text, shown[-1].get("file"), fix)
        self.open_button.setEnabled(state.run_dir is not None)
        self._update_buttons()
        problem = self.problem()
        if problem != self._last_problem:  # the window re-checks every page: only when the answer changed
            self._last_problem = problem
            self.validity_changed.emit()

    def status_now(self) -> str:
        """The run's status (run_state: 'crashed' for an engine on this computer whose process is gone), and
        'crashed' too, not 'running' forever, for an engine this page started and saw end without saying so."""
        status = self.follower.state.status
        if (status in ("running", "queued") and not self.engine.is_running() and self._ended_run is not None
                and self._ended_run == self.follower.run_dir):
            return "crashed"
        return status

    def _check_engine_alive(self) -> None:
        state = self.follower.state
        if state.status == "crashed" and self._ended_run != state.run_dir and not self.engine.is_running():
            self._ended_run = state.run_dir
            self._report_crash()
            self._refresh()

    def _report_crash(self) -> None:
        """Plain words, the last lines of the engine's log, and the offer to continue from the last checkpoint."""
        fix, details = crash_words(self.follower.run_dir, self._can_resume())
        self.message.show_message("error", CRASHED, None, fix, details=details)

    def _on_engine_finished(self, exit_code: int, normal: bool) -> None:
        if self.engine.job != "train":
            return
        self._ended_run = self.engine.run_dir
        self.follower.poll()  # the last events the engine wrote before it ended
        state = self.follower.state
        if exit_code != 0 and not state.error and not self.engine.stop_requested:
            self._report_crash()
        elif self.engine.stop_requested and state.status in ("running", "crashed"):
            self.message.show_message("note", STOPPED)
        self._refresh()
        if state.diagnosis:
            self._on_diagnosis(state.diagnosis)  # Continue training becomes possible now
        self.context.set_run(state.run_dir)

    def _update_buttons(self) -> None:
        ours = self.engine.is_running() and self.engine.job == "train"
        run = self.follower.run_dir
        elsewhere = (not ours and self.status_now() == "running" and run is not None
                     and not (run / runs.STOP_REQUEST).exists())
        self.start_button.setEnabled(not self.engine.is_running())
        self.stop_button.setEnabled((ours and not self.engine.stop_requested) or elsewhere)
        self.resume_button.setVisible(self.status_now() == "crashed" and self._can_resume())

    def _open_folder(self) -> None:
        if self.follower.run_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.follower.run_dir)))
