"""Predict: run the trained model on a folder of new images; results as a table and a CSV file.

Runs `petrilab predict RUN INPUT OUTPUT` as a child process; the engine never
writes into the input folder, and this page refuses an output folder inside it.

Segmentation runs first show the post-processing (threshold, sizes, border,
splitting) live on one chosen image (gui/tasks/segmentation/predict_preview.py).
The batch prediction then gets those options (`--set postprocess.KEY=VALUE`); the run itself is unchanged.
The folder checks are in predict_folders.py, the summary and table in predict_results.py.
"""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QSizePolicy, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui.context import AppContext
from petrilab.gui.engine_job import JobProgress, show_failure, stop_job
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.pages.predict_folders import (NO_MODEL, OUTPUT_INSIDE, ask_to_replace,  # noqa: F401 (tests)
                                                folder_problem, has_model)
from petrilab.gui.pages.predict_results import (SEGMENTATION_COLUMNS, PredictionTable, options_words,
                                                results_summary)
from petrilab.gui.predict_fit import check_fit, default_output
from petrilab.gui.process import EngineProcess
from petrilab.gui.tasks import panel
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.gui.widgets.prediction_gallery import PredictionGallery
from petrilab.tasks import MASK_TASKS as SEGMENTATION  # the tasks whose runs get the preview

PREDICTIONS = "predictions.csv"

MEASUREMENTS = "objects.csv"  # one row per object (the segmentation recipe writes it beside predictions.csv)


class PredictPage(WizardPage):
    key = "predict"
    title = "Predict"

    def __init__(self, context: AppContext, parent: QWidget | None = None, engine: EngineProcess | None = None):
        super().__init__(context, parent)
        self.engine = engine or EngineProcess(self)
        self.engine.finished.connect(self._on_engine_finished)
        self.job_progress = JobProgress(self.engine, self)  # "Predicting: image 12 of 40…", from its events
        self.job_progress.changed.connect(self._show_progress)
        self.rows: list[dict] = []
        self.task: str | None = None  # the current run's task
        self._run_read = None  # the run whose task and options the page shows
        self.used_options = None  # the post-processing the last segmentation prediction used
        self._results_run = None  # the run whose results (or lack of them) the page shows
        self._default_output = ""  # the results folder the page proposed (replaced by a new one when used)
        self._fit_warned: tuple | None = None  # (run, folder) whose misfit the user has been shown
        self._fit_timer = QTimer(self, singleShot=True, interval=400, timeout=self.check_fit)
        self._build(getattr(engine, "command", None))
        context.run_changed.connect(self._on_run_changed)  # a bound method: a lambda would keep the page alive

    # ------------------------------------------------------------ layout

    def _build(self, command: list[str] | None) -> None:
        self.model_label = QLabel(NO_MODEL)
        self.model_label.setStyleSheet("font-weight: 600;")
        self.input_edit = QLineEdit()
        self.input_edit.setPlaceholderText("the folder of new images (sub-folders included)")
        self.input_edit.textChanged.connect(self._on_input_changed)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("where predictions.csv is written (outside the images)")
        self.output_edit.textChanged.connect(self._update_buttons)
        browse_input = QPushButton("Choose…")
        browse_input.clicked.connect(self._choose_input)
        browse_output = QPushButton("Choose…")
        browse_output.clicked.connect(self._choose_output)
        form = QGridLayout()
        form.addWidget(QLabel("New images:"), 0, 0)
        form.addWidget(self.input_edit, 0, 1)
        form.addWidget(browse_input, 0, 2)
        form.addWidget(QLabel("Results to:"), 1, 0)
        form.addWidget(self.output_edit, 1, 1)
        form.addWidget(browse_output, 1, 2)

        self.predict_button = QPushButton("Predict")
        self.predict_button.setObjectName("primary")
        self.predict_button.setMinimumWidth(140)
        self.predict_button.clicked.connect(lambda: self.predict())
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setFixedHeight(12)
        self.busy.setMaximumWidth(220)
        self.busy.hide()
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.open_button = QPushButton("Open output folder")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_output)
        self.measurements_button = QPushButton("Open measurements")
        self.measurements_button.setToolTip(f"{MEASUREMENTS}: one row per object (area, shape, intensity), "
                                            "for Excel, R or Fiji.")
        self.measurements_button.clicked.connect(self.open_measurements)
        self.measurements_button.hide()
        actions = QHBoxLayout()
        actions.addWidget(self.predict_button)
        actions.addWidget(self.busy)
        actions.addWidget(self.status, 1)
        actions.addWidget(self.measurements_button)
        actions.addWidget(self.open_button)

        self.message = InlineMessage()
        # segmentation: the post-processing, live on one image (its own engine job: the batch engine stays free)
        self.preview_box = panel("preview")(self.context, self.input_edit, self.message,
                                            command=command)
        self.preview = self.preview_box.preview
        self.preview_engine = self.preview_box.engine
        self.preview_choice = self.preview_box.choice
        self.retry_button = self.preview_box.retry_button
        self.summary = QLabel()
        self.summary.setObjectName("sectionTitle")
        self.table = PredictionTable()
        self.table.cellDoubleClicked.connect(self._open_image)
        # the predictions as pictures first (what the model said, on each image), the table beside
        self.gallery = PredictionGallery()
        self.restored = panel("restored").RestoredBrowser()  # restoration: each image before and after
        self.views = QTabWidget()
        self.views.addTab(self.gallery, "Images")
        self.views.addTab(self.table, "Table")
        self.views.addTab(self.restored, "Before / after")
        self.views.setTabVisible(2, False)
        # z-stacks: each predicted stack in the stack viewer, its objects outlined
        self.stacks = panel("predicted_stacks").PredictedStacks()
        self.views.addTab(self.stacks, "Stacks")
        self.views.setTabVisible(3, False)

        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addLayout(actions)
        results_layout.addWidget(self.message)
        results_layout.addWidget(self.summary)
        results_layout.addWidget(self.views, 1)
        self.sections = QSplitter(Qt.Orientation.Vertical)
        self.sections.addWidget(self.preview_box)
        self.sections.addWidget(results)
        self.sections.setChildrenCollapsible(False)
        self.sections.setSizes([400, 300])

        self.fit_note = InlineMessage()  # the new images do not look like the training images

        layout = QVBoxLayout(self)
        layout.addWidget(self.model_label)
        layout.addLayout(form)
        layout.addWidget(self.fit_note)
        layout.addWidget(self.sections, 1)

    # ------------------------------------------------------------ the page contract

    def shutdown(self) -> None:
        """The window closes: end a running job (it saves nothing worth waiting for) and the preview's files."""
        stop_job(self.engine)
        self.preview_box.shutdown()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        # Fill the window's height instead of growing to the wrapped labels' preferred height
        # (which would put the plots and tables below the fold of the window's scroll area).
        return False


    def enter(self) -> None:
        run = self.context.current_run
        self._show_model()
        self._read_run(run)
        self._follow_run()
        self._update_buttons()

    def _on_run_changed(self, _run) -> None:
        if self.isVisible():
            self.enter()  # the whole page follows the model shown
        else:
            self._show_model()
            self._follow_run()

    def _show_model(self) -> None:
        run = self.context.current_run
        if has_model(run):
            self.model_label.setText(f"Model: {Path(run).name}")
        else:
            self.model_label.setText(NO_MODEL)

    def _follow_run(self) -> None:
        """Another model (a new training, another experiment): its results only, in a folder of its own."""
        run = self.context.current_run
        if run == self._results_run:
            return
        self._results_run = run
        self.rows = []
        self.output_dir = None
        self.table.empty()
        self.gallery.set_images([])
        self.stacks.clear()
        self.summary.clear()
        self.status.clear()
        self.message.clear()
        self.open_button.setEnabled(False)
        self.measurements_button.hide()
        self._fit_warned = None
        self.fit_note.clear()
        if not self.output_edit.text().strip() or self.output_edit.text().strip() == self._default_output:
            self._propose_output()
        if self.input_edit.text().strip():
            self._fit_timer.start()
        self._update_buttons()

    def _propose_output(self) -> None:
        """A new results folder, named after the model and the moment (never one holding results)."""
        run = self.context.current_run
        if run is None:
            self._default_output = ""
            self.output_edit.clear()
            return
        d = self.context.settings.data
        self._default_output = str(default_output(run, self.context.runs_dir,
                                                  avoid=(d.folder, d.test_folder, self.input_edit.text().strip())))
        self.output_edit.setText(self._default_output)

    def check_fit(self):
        """Point out new images that do not look like the model's training images; returns the FitReport."""
        run, folder = self.context.current_run, self.input_edit.text().strip()
        if run is None or not folder:
            self.fit_note.clear()
            return None
        report = check_fit(run, folder)
        if report:
            self.fit_note.show_message("warning", "These images may not fit this model. " + " ".join(report.problems),
                                       None, report.fix)
            self._fit_warned = (str(run), str(Path(folder).resolve()))
        else:
            self.fit_note.clear()
        self._update_buttons(report)
        return report

    def _read_run(self, run) -> None:
        """The run's task and post-processing; segmentation runs get the live preview."""
        settings = None
        if run is not None:
            try:
                settings = settings_io.load(Path(run) / runs.SETTINGS)
            except UserError:
                settings = None
        changed = (run, settings.task.kind if settings else None) != (self._run_read, self.task)
        self._run_read = run
        self.task = settings.task.kind if settings else None
        self.preview_box.show_run(self.task, settings.postprocess if settings else None, changed)

    def problem(self) -> str | None:
        return None  # the last step: nothing comes after it

    # ------------------------------------------------------------ choosing folders

    def _choose_input(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "The folder of new images", self.input_edit.text())
        if folder:
            self.input_edit.setText(folder)

    def _choose_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Where to write the results", self.output_edit.text())
        if folder:
            self.output_edit.setText(folder)

    def _on_input_changed(self, text: str) -> None:
        if not self.output_edit.text().strip() and self.context.current_run is not None:
            self._propose_output()
        self._fit_warned = None
        self.fit_note.clear()  # it spoke of the folder before
        self._fit_timer.start()  # once typing pauses
        if self.task in SEGMENTATION:
            self.preview_box.list_timer.start()  # once typing pauses
        self._update_buttons()

    # ------------------------------------------------------------ predicting

    def predict(self) -> bool:
        """Start the prediction; False (with the reason shown) if the folders cannot be used."""
        if self.engine.is_running():
            return False
        problem = folder_problem(self.context.current_run, self.input_edit.text().strip(),
                                 self.output_edit.text().strip())
        if problem:
            self.message.show_message("error", *problem)
            return False
        self.message.clear()
        warned_before = self._fit_warned
        fit = self.check_fit()
        if fit and warned_before != self._fit_warned:
            return False  # shown now: the user decides (the button reads 'Predict anyway')
        if self.output_edit.text().strip() == self._default_output and Path(self._default_output).exists():
            self._propose_output()  # the proposed folder was used meanwhile: a new one, never on top of results
        self.output_dir = Path(self.output_edit.text().strip()).resolve()
        replace = ask_to_replace(self, self.output_dir)
        if replace is None:
            return False
        extra = ["--overwrite"] if replace else []
        self.used_options = None
        if self.task in SEGMENTATION and not self.preview_box.stacks:  # a run on stacks: its own options
            self.used_options = self.preview.options()
            extra += panel("preview_options")(self.used_options)  # the options shown in the preview, for every image
        self.engine.start_predict(self.context.current_run, Path(self.input_edit.text().strip()).resolve(),
                                  self.output_dir, extra=extra)
        self.status.setText("Predicting… the model loads, then reads every image.")
        self.busy.setRange(0, 0)  # moving, until the engine has counted the images
        self.busy.show()
        self._update_buttons()
        return True

    def _show_progress(self, done: int, total: int) -> None:
        if self.engine.is_running():
            self.busy.setRange(0, total)
            self.busy.setValue(done)
            self.status.setText(self.job_progress.words())

    def _on_engine_finished(self, exit_code: int, normal: bool) -> None:
        self.busy.hide()
        if exit_code == 0:
            self.show_results(self.output_dir / PREDICTIONS)
            if str(self.output_dir) == str(Path(self._default_output).resolve()):
                self._propose_output()  # the next prediction goes to a new folder too
        else:
            self.status.setText("")
            show_failure(self.message, self.engine, "The prediction")
        self._update_buttons()

    def show_results(self, path: Path) -> None:
        try:
            with open(path, newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f)
                columns = list(reader.fieldnames or [])
                self.rows = list(reader)
        except OSError:
            self.rows, columns = [], []
        self.output_dir = Path(path).parent
        objects = "count" in columns  # segmentation: objects per image, measurements in objects.csv
        restoration_results = panel("restored")
        restored = restoration_results.is_restoration(columns)
        self.summary.setText(restoration_results.summary(self.rows) if restored else
                             results_summary(self.rows, columns))
        saved = f"Results saved to {path}"
        if objects and self.used_options is not None:
            saved += " · with " + options_words(self.used_options, self.task)
        self.status.setText(saved)
        input_text = self.input_edit.text().strip()
        stacked = panel("predicted_stacks").is_stack_results(columns)
        self.views.setTabVisible(0, not restored and not stacked)
        self.views.setTabVisible(2, restored)
        self.views.setTabVisible(3, stacked)
        if stacked:
            self.stacks.show_rows(self.rows, self.task, Path(input_text) if input_text else None, self.output_dir)
            self.views.setCurrentIndex(3)
        elif restored:
            self.restored.show_rows(self.rows, Path(input_text) if input_text else None, self.output_dir)
            self.views.setCurrentIndex(2)
        else:
            self.gallery.show_predictions(self.rows, columns, Path(input_text) if input_text else None,
                                          self.output_dir)
        if objects:
            columns = [c for c in SEGMENTATION_COLUMNS if c in columns]
        self.table.fill(self.rows, columns)
        self.open_button.setEnabled(True)
        self.measurements_button.setVisible(objects)
        self.measurements_button.setEnabled((self.output_dir / MEASUREMENTS).exists())

    def _open_image(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        folder = self.input_edit.text().strip()
        if item is None:
            return
        # segmentation: the image with its objects outlined; otherwise the image itself
        overlay = next((r.get("overlay_file") for r in self.rows if r.get("file") == item.text()), None)
        if overlay and getattr(self, "output_dir", None) is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.output_dir / overlay)))
        elif folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(folder) / item.text())))

    def open_output(self) -> None:
        if getattr(self, "output_dir", None) is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.output_dir)))

    def open_measurements(self) -> None:
        if getattr(self, "output_dir", None) is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.output_dir / MEASUREMENTS)))

    def _update_buttons(self, fit=None) -> None:
        running = self.engine.is_running()
        self.predict_button.setEnabled(has_model(self.context.current_run) and not running
                                       and bool(self.input_edit.text().strip()))
        if fit is not None or not self.fit_note.isVisibleTo(self):
            self.predict_button.setText("Predict anyway" if fit else "Predict")
