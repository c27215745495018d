"""Predict: run the trained model on a folder of new images; results as a table and a CSV file.

Runs `petrilab predict RUN INPUT OUTPUT` as a child process; the engine never
writes into the input folder, and this page refuses an output folder inside it.

Segmentation runs first show the post-processing (threshold, sizes, border,
splitting) live on one chosen image: the engine predicts that image once
(`--probabilities`, into a scratch folder) and every change of an option
re-runs only the clean-up, in the window. The batch prediction then gets
those options (`--set postprocess.KEY=VALUE`); the run itself is unchanged.
"""

from __future__ import annotations

import collections
import csv
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QSizePolicy, QSplitter,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui.context import AppContext
from petrilab.gui.engine_job import show_failure, stop_job
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.predict_fit import check_fit, default_output
from petrilab.gui.process import EngineProcess
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.gui.widgets.postprocess_preview import PostprocessPreview, overrides, read_probabilities
from petrilab.gui.widgets.prediction_gallery import PredictionGallery, is_coin_toss
from petrilab.gui.widgets.value_results import prediction_summary

PREDICTIONS = "predictions.csv"
TABLE_LIMIT = 5000  # rows shown; the CSV file has them all

NO_MODEL = "Train a model first: predictions need the model a training saved."
NO_INPUT = "Choose the folder of new images to predict."
NO_OUTPUT = "Choose an output folder for the results."
INPUT_MISSING = "The folder of images {path} does not exist."
OUTPUT_INSIDE = "The output folder is inside the folder of images."
OUTPUT_INSIDE_FIX = "Choose an output folder outside the images, so your data folder stays untouched."
SEGMENTATION = ("semantic", "instance")
MEASUREMENTS = "objects.csv"  # one row per object (the segmentation recipe writes it beside predictions.csv)
NUMBER_COLUMNS = {"count", "mean_area_px", "median_area_px", "mean_area_um2", "area_fraction"}
HEADER_WORDS = {"count": "objects", "mean_area_px": "mean area (px)", "median_area_px": "median area (px)",
                "mean_area_um2": "mean area (µm²)", "area_fraction": "area covered"}
PREVIEW_CHOICES = 500  # images offered for the preview at most
PREVIEW_LOG = "engine-preview.log"
# segmentation results: the per-image columns worth a glance (predictions.csv has them all)
SEGMENTATION_COLUMNS = ("file", "count", "mean_area_px", "median_area_px", "mean_area_um2", "area_fraction",
                        "problem")


class _Percent(QTableWidgetItem):
    """A probability shown as a percentage, sorted as a number."""

    def __init__(self, value: float):
        super().__init__(f"{value:.1%}")
        self.value = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip("How sure the model is that the image belongs to this class (0–100 %).")

    def __lt__(self, other) -> bool:
        return self.value < getattr(other, "value", -1.0)


class _Number(QTableWidgetItem):
    """A measurement shown rounded, sorted as a number (area fraction as a percentage)."""

    def __init__(self, column: str, text: str):
        try:
            self.value = float(text)
        except ValueError:
            self.value = float("nan")
        if self.value != self.value:
            shown = text
        elif column == "area_fraction":
            shown = f"{self.value:.1%}"
        elif column == "count":
            shown = str(int(self.value))
        else:
            shown = f"{self.value:.1f}"
        super().__init__(shown)
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other) -> bool:
        other_value = getattr(other, "value", float("nan"))
        if self.value != self.value or other_value != other_value:  # empty cells last
            return other_value != other_value and self.value == self.value
        return self.value < other_value


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class PredictPage(WizardPage):
    key = "predict"
    title = "Predict"

    def __init__(self, context: AppContext, parent: QWidget | None = None, engine: EngineProcess | None = None):
        super().__init__(context, parent)
        self.engine = engine or EngineProcess(self)
        self.engine.finished.connect(self._on_engine_finished)
        # the preview's own job: one image with --probabilities, while the batch engine stays free
        self.preview_engine = EngineProcess(self, command=getattr(engine, "command", None))
        self.preview_engine.finished.connect(self._on_preview_finished)
        self.rows: list[dict] = []
        self.task: str | None = None  # the current run's task
        self._run_read = None  # the run whose task and options the page shows
        self.used_options = None  # the post-processing the last segmentation prediction used
        self._preview_dir: Path | None = None
        self._preview_image: Path | None = None  # the image the running (or last) preview predicts
        self._previewed: tuple | None = None  # (run, image) whose probabilities the panel holds
        self._preview_run: str | None = None  # the run the running (or last) preview uses
        self._preview_failed = False  # the message shown is the preview's failure
        self._list_timer = QTimer(self, singleShot=True, interval=300, timeout=self._list_preview_images)
        self._results_run = None  # the run whose results (or lack of them) the page shows
        self._default_output = ""  # the results folder the page proposed (replaced by a new one when used)
        self._fit_warned: tuple | None = None  # (run, folder) whose misfit the user has been shown
        self._fit_timer = QTimer(self, singleShot=True, interval=400, timeout=self.check_fit)
        self._build()
        context.run_changed.connect(self._on_run_changed)  # a bound method: a lambda would keep the page alive

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
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

        # segmentation: the post-processing, live on one image
        self.preview_choice = QComboBox()
        self.preview_choice.setMinimumWidth(200)
        self.preview_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preview_choice.setMinimumContentsLength(18)
        self.preview_choice.setToolTip("The image the options are tried on; choose one typical of your data.")
        self.preview_choice.currentIndexChanged.connect(lambda _i: self.start_preview())
        self.preview_status = QLabel()
        self.preview_status.setObjectName("muted")
        self.preview_status.setWordWrap(True)
        # long file names wrap or are cut, never widen the page beyond the window
        self.preview_status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.preview_busy = QProgressBar()
        self.preview_busy.setRange(0, 0)
        self.preview_busy.setFixedHeight(12)
        self.preview_busy.setMaximumWidth(120)
        self.preview_busy.hide()
        title = QLabel("Post-processing: from probabilities to objects")
        title.setObjectName("sectionTitle")
        choose = QHBoxLayout()
        choose.addWidget(title)
        choose.addSpacing(12)
        choose.addWidget(QLabel("Try on:"))
        choose.addWidget(self.preview_choice)
        choose.addWidget(self.preview_busy)
        self.retry_button = QPushButton("Try again")
        self.retry_button.clicked.connect(lambda: self.start_preview())
        self.retry_button.hide()
        choose.addWidget(self.retry_button)
        choose.addWidget(self.preview_status, 1)
        self.preview = PostprocessPreview()
        self.preview_box = QWidget()
        box = QVBoxLayout(self.preview_box)
        box.setContentsMargins(0, 4, 0, 0)
        box.setSpacing(4)
        box.addLayout(choose)
        box.addWidget(self.preview, 1)
        self.preview_box.hide()

        self.message = InlineMessage()
        self.summary = QLabel()
        self.summary.setObjectName("sectionTitle")
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setToolTip("Double-click a row to open its image.")
        self.table.cellDoubleClicked.connect(self._open_image)
        # the predictions as pictures first (what the model said, on each image), the table beside
        self.gallery = PredictionGallery()
        self.views = QTabWidget()
        self.views.addTab(self.gallery, "Images")
        self.views.addTab(self.table, "Table")

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
        stop_job(self.preview_engine)
        if self._preview_dir is not None:
            shutil.rmtree(self._preview_dir, ignore_errors=True)  # our own scratch folder, never user data
            self._preview_dir = None

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
        if run is not None and (Path(run) / runs.BEST_MODEL).exists():
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
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.gallery.set_images([])
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
        segmentation = self.task in SEGMENTATION
        self.preview_box.setVisible(segmentation)
        if changed and segmentation:
            self.preview.set_task(self.task, settings.postprocess)
            self.preview.clear_prediction()
            self._previewed = None
            self._list_preview_images()

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
            self._list_timer.start()  # once typing pauses
        self._update_buttons()

    # ------------------------------------------------------------ the post-processing preview

    def _list_preview_images(self) -> None:
        """Offer the input folder's images for the preview (the first one is tried at once)."""
        from petrilab.data.images import is_image_file  # light: no Keras

        folder = Path(self.input_edit.text().strip())
        chosen = self.preview_choice.currentData()
        images = []
        if self.input_edit.text().strip() and folder.is_dir():
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(folder)
                if not any(part.startswith(".") for part in rel.parts) and path.is_file() and is_image_file(path):
                    images.append(path)
                    if len(images) >= PREVIEW_CHOICES:
                        break
        self.preview_choice.blockSignals(True)
        self.preview_choice.clear()
        for path in images:
            self.preview_choice.addItem(str(path.relative_to(folder)), str(path))
        index = self.preview_choice.findData(chosen) if chosen else -1
        self.preview_choice.setCurrentIndex(max(0, index) if images else -1)
        self.preview_choice.blockSignals(False)
        if not images:
            self.preview_status.setText("Choose the folder of new images: the options are tried on one of them.")
            return
        self.start_preview()

    def start_preview(self) -> bool:
        """Predict the chosen image once (probabilities); False when there is nothing to do or it must wait."""
        run = self.context.current_run
        chosen = self.preview_choice.currentData()
        if run is None or not chosen or self.task not in SEGMENTATION or not (Path(run) / runs.BEST_MODEL).exists():
            return False
        if self._previewed == (str(run), chosen):
            return False  # its probabilities are in the panel already
        if self.preview_engine.is_running():
            return False  # the chosen image is tried when this one ends
        if self._preview_dir is None:
            self._preview_dir = Path(tempfile.mkdtemp(prefix="petrilab-preview-"))
        source = Path(chosen)
        inbox, outbox = self._preview_dir / "in", self._preview_dir / "out"
        for folder in (inbox, outbox):
            shutil.rmtree(folder, ignore_errors=True)  # the scratch folder of the previous preview
        inbox.mkdir(parents=True)
        try:
            shutil.copy2(source, inbox / source.name)  # a copy: the engine predicts a folder, the data stays as is
        except OSError as exc:
            self.preview_status.setText(f"{source.name} cannot be read ({exc.strerror}).")
            return False
        self._preview_image = source
        self._preview_run = str(run)
        self.retry_button.hide()
        self.preview_engine.start_predict(run, inbox, outbox, extra=["--probabilities"],
                                          log_path=self._preview_dir / PREVIEW_LOG)
        self.preview_busy.show()
        self.preview_status.setText(f"The model predicts {source.name} once; then every option shows at once.")
        return True

    def _on_preview_finished(self, exit_code: int, normal: bool) -> None:
        from petrilab.data.images import read_image

        self.preview_busy.hide()
        source = self._preview_image
        if self._preview_dir is None or source is None:
            return  # the window closed meanwhile
        maps = self._preview_dir / "out" / "probabilities" / f"{source.stem}_probabilities.tif"
        if exit_code == 0 and maps.exists():
            try:
                self.preview.set_prediction(read_image(source), read_probabilities(maps))
                self._previewed = (self._preview_run, str(source))
                if self._preview_failed:
                    self.message.clear()  # the earlier preview's failure is over
                self._preview_failed = False
                self.preview_status.setText(f"{source.name}: move the options, the objects follow.")
            except (UserError, ValueError, OSError) as exc:
                self.preview_status.setText(f"The preview of {source.name} could not be shown ({exc}).")
        else:
            self.preview.clear_prediction()
            show_failure(self.message, self.preview_engine, "The preview")
            self.preview_status.setText("The preview failed: see the message below.")
            self.retry_button.show()
            self._preview_failed = True
        if self.preview_choice.currentData() != str(source):
            self.start_preview()  # the user chose another image meanwhile

    def folder_problem(self) -> tuple[str, str | None, str | None] | None:
        """Why these folders cannot be used: (message, file, fix), or None."""
        run = self.context.current_run
        if run is None or not (Path(run) / runs.BEST_MODEL).exists():
            return NO_MODEL, None, None
        input_text, output_text = self.input_edit.text().strip(), self.output_edit.text().strip()
        if not input_text:
            return NO_INPUT, None, None
        if not output_text:
            return NO_OUTPUT, None, None
        input_dir, output_dir = Path(input_text).resolve(), Path(output_text).resolve()
        if not input_dir.is_dir():
            return INPUT_MISSING.format(path=input_dir), str(input_dir), "Check the folder, or choose it again."
        if _inside(output_dir, input_dir):
            return OUTPUT_INSIDE, str(output_dir), OUTPUT_INSIDE_FIX
        return None

    # ------------------------------------------------------------ predicting

    def predict(self) -> bool:
        """Start the prediction; False (with the reason shown) if the folders cannot be used."""
        if self.engine.is_running():
            return False
        problem = self.folder_problem()
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
        replace = self.ask_to_replace(self.output_dir)
        if replace is None:
            return False
        extra = ["--overwrite"] if replace else []
        self.used_options = None
        if self.task in SEGMENTATION:
            self.used_options = self.preview.options()
            extra += overrides(self.used_options)  # the options shown in the preview, for every image
        self.engine.start_predict(self.context.current_run, Path(self.input_edit.text().strip()).resolve(),
                                  self.output_dir, extra=extra)
        self.status.setText("Predicting… the model loads, then reads every image.")
        self.busy.show()
        self._update_buttons()
        return True

    def ask_to_replace(self, folder: Path) -> bool | None:
        """False: nothing to replace; True: the user agreed to replace earlier results (--overwrite);
        None: the user said no, and nothing starts."""
        from petrilab.prediction.results_folder import earlier_results

        if not earlier_results(folder):
            return False
        answer = QMessageBox.question(
            self, "Replace the earlier results?",
            f"The folder {folder} already holds the results of an earlier prediction.\n\n"
            "Replace them? Only the files PetriLab wrote there are removed. Choose No to pick another folder.",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return True if answer == QMessageBox.Yes else None

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
        counts = collections.Counter(r.get("predicted_class") for r in self.rows if r.get("predicted_class"))
        problems = sum(1 for r in self.rows if r.get("problem"))
        text = f"{len(self.rows)} images"
        objects = "count" in columns  # segmentation: objects per image, measurements in objects.csv
        if counts:  # classification: how many of each class
            text += ": " + ", ".join(f"{n} {c}" for c, n in counts.most_common())
        elif objects:
            text = object_summary(self.rows)
        else:  # regression: the range of each value; multi-label: images given each label
            text = prediction_summary(self.rows, columns) or text
        tosses = sum(1 for r in self.rows if r.get("predicted_class") and is_coin_toss(r))
        if tosses:
            text += f" · {tosses} coin toss{'es' if tosses != 1 else ''} (shown first: check them)"
        if problems:
            text += f" · {problems} could not be read"
        if len(self.rows) > TABLE_LIMIT:
            text += f" · the table shows the first {TABLE_LIMIT}; predictions.csv has them all"
        self.summary.setText(text)
        saved = f"Results saved to {path}"
        if objects and self.used_options is not None:
            saved += " · with " + options_words(self.used_options, self.task)
        self.status.setText(saved)
        input_text = self.input_edit.text().strip()
        self.gallery.show_predictions(self.rows, columns, Path(input_text) if input_text else None, self.output_dir)
        if objects:
            columns = [c for c in SEGMENTATION_COLUMNS if c in columns]
        self._fill_table(columns)
        self.open_button.setEnabled(True)
        self.measurements_button.setVisible(objects)
        self.measurements_button.setEnabled((self.output_dir / MEASUREMENTS).exists())

    def _fill_table(self, columns: list[str]) -> None:
        shown = [c for c in columns if c != "problem" or any(r.get("problem") for r in self.rows)]
        headers = [f"p({c[2:]})" if c.startswith("p_") else HEADER_WORDS.get(c, c.replace("_", " ")) for c in shown]
        self.table.setSortingEnabled(False)
        self.table.setUpdatesEnabled(False)
        self.table.clear()
        self.table.setColumnCount(len(shown))
        self.table.setHorizontalHeaderLabels(headers)
        rows = self.rows[:TABLE_LIMIT]
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            predicted = f"p_{row.get('predicted_class', '')}"
            for j, column in enumerate(shown):
                value = row.get(column, "")
                if column.startswith("p_") and value:
                    item = _Percent(float(value))
                    if column == predicted:  # the winning class, tinted by how sure the model is
                        item.setBackground(QColor(47, 111, 159, int(30 + 90 * float(value))))
                elif column in NUMBER_COLUMNS:
                    item = _Number(column, value)
                else:
                    item = QTableWidgetItem(value)
                self.table.setItem(i, j, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.resizeColumnsToContents()
        if shown:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setUpdatesEnabled(True)
        self.table.setSortingEnabled(True)

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
        run = self.context.current_run
        has_model = run is not None and (Path(run) / runs.BEST_MODEL).exists()
        self.predict_button.setEnabled(has_model and not running and bool(self.input_edit.text().strip()))
        if fit is not None or not self.fit_note.isVisibleTo(self):
            self.predict_button.setText("Predict anyway" if fit else "Predict")


def object_summary(rows: list[dict]) -> str:
    """Segmentation results in a line: images, objects in all, and the range per image."""
    counts = []
    for row in rows:
        try:
            counts.append(int(float(row.get("count", ""))))
        except ValueError:
            pass
    if not counts:
        return f"{len(rows)} images"
    return (f"{len(rows)} images · {sum(counts)} objects in all · {min(counts)} to {max(counts)} per image "
            f"(mean {sum(counts) / len(counts):.1f})")


def options_words(post, task: str) -> str:
    """The post-processing a prediction used, in a few words."""
    parts = [f"{'interior ' if task == 'instance' else ''}threshold {post.threshold:.2f}"]
    if post.min_size:
        parts.append(f"objects ≥ {post.min_size} px")
    if post.max_size:
        parts.append(f"objects ≤ {post.max_size} px")
    if post.fill_holes:
        parts.append("holes filled")
    if post.clear_border:
        parts.append("border objects removed")
    if task == "instance" and not post.split_touching:
        parts.append("touching objects not split")
    return ", ".join(parts)
