"""Evaluate: how good is the model on images it never saw? Metrics, confusion matrix, and its mistakes.

Reads evaluation.json and test_predictions.csv from the run folder (the
engine writes them at the end of training); "Evaluate on another folder"
runs `petrilab evaluate RUN --data DIR` as a child process. Segmentation
runs show their test images with true and predicted outlines (the masks in
test_masks/), IoU and Dice per class, and, for instances, the object scores.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout,
                               QWidget)

from petrilab import runs
from petrilab.gui.context import AppContext
from petrilab.gui.engine_job import JobProgress, show_failure, stop_job
from petrilab.gui.export_dialog import ShareButtons
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.pages.evaluate_cards import MetricCards
from petrilab.gui.pages.evaluate_per_item import PER_ITEM, PerItemPanel
from petrilab.gui.process import EngineProcess
from petrilab.gui.tasks import panel
from petrilab.gui.widgets.gallery import ImageGallery
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.tasks import DEFAULT_TASK, MASK_TASKS as SEGMENTATION, TASKS, has_objects

NO_RUN = "Train a model first: the evaluation uses the model the training saved."
NOT_EVALUATED = "This model has not been evaluated yet."


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_rows(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


class EvaluatePage(WizardPage):
    key = "evaluate"
    title = "Evaluate"

    def __init__(self, context: AppContext, parent: QWidget | None = None, engine: EngineProcess | None = None):
        super().__init__(context, parent)
        self.engine = engine or EngineProcess(self)
        self.engine.finished.connect(self._on_engine_finished)
        self.job_progress = JobProgress(self.engine, self)  # "Evaluating: image 12 of 40…", from its events
        self.job_progress.changed.connect(self._show_progress)
        self.run_dir: Path | None = None
        self.evaluation: dict = {}
        self._expected: Path | None = None
        self._build()
        context.run_changed.connect(lambda _run: self.isVisible() and self.enter())

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        self.model_label = QLabel(NO_RUN)
        self.model_label.setStyleSheet("font-weight: 600;")
        self.model_label.setWordWrap(True)
        self.source = QComboBox()
        self.source.setMinimumWidth(220)
        self.source.setToolTip("Which evaluation to show: the run's own test images, or another labelled folder.")
        self.source.currentIndexChanged.connect(self._on_source_chosen)
        self.evaluate_button = QPushButton("Evaluate on the test images")
        self.evaluate_button.clicked.connect(lambda: self.evaluate())
        self.other_button = QPushButton("Evaluate on another folder…")
        self.other_button.setToolTip("Evaluate on a folder of labelled images in the same layout as the training "
                                     "data, e.g. images from another microscope or another day.")
        self.other_button.clicked.connect(self._choose_other_folder)
        # Two short rows, so the page fits a 1280-pixel screen whatever the run's name and however many
        # ways of sharing a run there are: the model and what to do with it, then which evaluation is shown.
        self.model_label.setMinimumWidth(80)
        self.source.setMinimumWidth(160)
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(24)
        self.share = ShareButtons(self)  # open the report, export for bioimage.io (gui/export_dialog.py)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_label, 1)
        model_row.addWidget(self.share)
        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Showing:"))
        source_row.addWidget(self.source)
        source_row.addWidget(self.evaluate_button)
        source_row.addWidget(self.other_button)
        source_row.addStretch(1)
        top = QVBoxLayout()
        top.setSpacing(4)
        top.addLayout(model_row)
        top.addLayout(source_row)

        self.message = InlineMessage()
        self.warnings = InlineMessage()

        self.metric_cards = MetricCards()
        self.card_widgets = self.metric_cards.card_widgets
        self.cards = self.metric_cards.cards  # metric key -> the value label showing it

        self.confusion = panel("confusion")()
        self.confusion_box = confusion_box = self._section("Confusion matrix",
                                      "Rows: true class · columns: predicted class · the diagonal is right", self.confusion)

        self.per_item = PerItemPanel()
        self.per_class = self.per_item.table
        self.object_scores = self.per_item.object_scores
        self.per_class_title = QLabel("Per class")
        per_class_box = self._section("Per class", PER_ITEM[0][2], self.per_item, title_label=self.per_class_title)
        self.per_class_subtitle = per_class_box.note

        # segmentation: the test images with true and predicted outlines, in place of the confusion matrix
        self.browser = panel("test_images")()
        self.browser_box = self._section("Test images: true and predicted outlines",
                                         "The worst first: where the two outlines part, the model went wrong",
                                         self.browser)
        self.browser_box.hide()

        self.tables = tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.browser_box)
        tables.addWidget(confusion_box)
        tables.addWidget(per_class_box)
        tables.setChildrenCollapsible(False)
        tables.setSizes([0, 520, 480])

        self.gallery = ImageGallery(thumb_size=88)
        self.gallery.setMinimumHeight(140)
        self.gallery_title = QLabel("Misclassified test images")
        self.gallery_box = self._section("Misclassified test images",
                                         "What the model got wrong: look for a pattern (blur, stain, a label mistake)",
                                         self.gallery, title_label=self.gallery_title)

        # regression and multi-label: their plots between the table and the gallery
        self.value_plots = panel("value_results").ValueResults()
        self.value_plots_title = QLabel()
        self.value_plots_box = self._section("", "", self.value_plots, title_label=self.value_plots_title)
        self.value_plots_box.hide()

        # restoration: the scores beside non-local means and the test images before and after
        self.restoration = panel("before_after")()
        self.restoration_box = self._section("Test images: before and after",
                                             "Never the restored image alone: compare, wipe, look at the difference",
                                             self.restoration)
        self.restoration_box.hide()

        self.sections = splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.restoration_box)
        splitter.addWidget(tables)
        splitter.addWidget(self.value_plots_box)
        splitter.addWidget(self.gallery_box)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([0, 330, 330, 260])
        # on a small laptop screen the page grows and the window scrolls, rather than squeezing the matrix
        # and the tables into slivers with scroll bars of their own
        splitter.setMinimumHeight(480)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.metric_cards)
        layout.addWidget(self.warnings)
        layout.addWidget(splitter, 1)
        layout.addStretch(0)  # takes the room while the results are hidden (nothing evaluated yet)

    @staticmethod
    def _section(title: str, subtitle: str, body: QWidget, title_label: QLabel | None = None) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(3)
        heading = title_label or QLabel(title)
        heading.setObjectName("sectionTitle")
        note = QLabel(subtitle)
        note.setObjectName("muted")
        note.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(note)
        layout.addWidget(body, 1)
        box.note = note  # the subtitle, for sections that change it
        return box

    # ------------------------------------------------------------ the page contract

    def shutdown(self) -> None:
        """The window closes: end a running job (it saves nothing worth waiting for)."""
        stop_job(self.engine)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        # Fill the window's height instead of growing to the wrapped labels' preferred height
        # (which would put the plots and tables below the fold of the window's scroll area).
        return False


    def enter(self) -> None:
        run = self.context.current_run
        if run != self.run_dir:
            self.run_dir = Path(run) if run is not None else None
            self.message.clear()
        self._list_sources()
        self._update_buttons()

    def problem(self) -> str | None:
        if self.run_dir is None or not (self.run_dir / runs.BEST_MODEL).exists():
            return NO_RUN
        return None

    # ------------------------------------------------------------ loading what the engine wrote

    def _list_sources(self, prefer: Path | None = None) -> None:
        """Fill the 'Showing' list with the run's evaluations, the test split first, and show one."""
        self.source.blockSignals(True)
        chosen = str(prefer) if prefer is not None else self.source.currentData()
        self.source.clear()
        if self.run_dir is not None:
            files = sorted(self.run_dir.glob("evaluation*.json"), key=lambda p: (p.name != runs.EVALUATION, p.name))
            for path in files:
                evaluation = read_json(path)
                if not evaluation:
                    continue
                label = ("test images of the split" if evaluation.get("source") == "test split"
                         else Path(str(evaluation.get("source", path.stem))).name)
                self.source.addItem(label, str(path))
        index = max(0, self.source.findData(chosen)) if chosen else 0
        self.source.setCurrentIndex(index)

        self.source.blockSignals(False)
        if self.source.count():
            self.show_evaluation(Path(self.source.currentData()))
        else:
            self._show_nothing()

    def _on_source_chosen(self, _index: int) -> None:
        if self.source.currentData():
            self.show_evaluation(Path(self.source.currentData()))

    def _show_nothing(self) -> None:
        # no numbers yet: no empty confusion matrix or accuracy cards (they would tell a newcomer with a
        # segmentation or regression experiment that this is about classes)
        self.evaluation = {}
        self.metric_cards.hide()
        self.sections.hide()
        self.metric_cards.show_metrics({}, None)
        self.confusion.setRowCount(0)
        self.confusion.setColumnCount(0)
        self.per_class.setRowCount(0)
        self.gallery.set_images([])
        self.gallery_title.setText("Misclassified test images")
        self.value_plots_box.hide()
        self._show_segmentation({}, [])
        self._show_restoration({}, [])
        self.warnings.clear()
        if self.run_dir is None:
            self.model_label.setText(NO_RUN)
        else:
            self.model_label.setText(f"Model: {self.run_dir.name}")
            if not self.engine.is_running() and self.message.kind != "error":
                self.message.show_message("note", NOT_EVALUATED,
                                          fix="Press 'Evaluate on the test images' (or choose another labelled folder).")

    def show_evaluation(self, path: Path) -> None:
        """Show one evaluation file and the predictions table beside it."""
        evaluation = read_json(path)
        self.evaluation = evaluation
        if not evaluation:
            self._show_nothing()
            return
        if self.message.kind == "note":
            self.message.clear()
        self.metric_cards.show()
        self.sections.show()
        metrics = evaluation.get("metrics", {})
        classes = list(evaluation.get("classes", []))
        self.model_label.setText(f"Model: {self.run_dir.name}")
        task = evaluation.get("task", DEFAULT_TASK)
        self.metric_cards.show_metrics(metrics, evaluation.get("n_images"), task, evaluation.get("source"))
        matrix = evaluation.get("confusion_matrix")
        # classification's; segmentation's (pixel counts) gives way to the test images
        self.confusion_box.setVisible(bool(matrix) and task not in SEGMENTATION)
        if matrix:
            self.confusion.set_matrix(classes, matrix)
        stacks = panel("stack_runs").trained_on_stacks(self.run_dir)  # per voxel, not per pixel
        title, subtitle = self.per_item.show_metrics(metrics, voxels=stacks)
        self.per_class_title.setText(title)
        self.per_class_subtitle.setText(subtitle)
        warnings = evaluation.get("warnings") or []
        if warnings:
            self.warnings.show_message("warning", " ".join(warnings[:4]))
        else:
            self.warnings.clear()
        predictions = path.with_name(path.name.replace("evaluation", "test_predictions", 1)).with_suffix(".csv")
        rows = read_rows(predictions)
        self._fill_gallery(rows)
        self._show_value_plots(evaluation, rows)
        self._show_segmentation(evaluation, rows)
        self._show_restoration(evaluation, rows)

    def _show_restoration(self, evaluation: dict, rows: list[dict]) -> None:
        """Restoration: its own panel in place of the classes' tables and gallery (else hidden)."""
        task = evaluation.get("task")
        restores = task in TASKS and TASKS[task].restores
        self.restoration_box.setVisible(restores)
        self.tables.setVisible(not restores)
        if restores:
            self.gallery_box.hide()
            self.restoration.show_evaluation(evaluation, rows, self.run_dir)
            self.sections.setSizes([1000, 0, 0, 0])

    def _show_segmentation(self, evaluation: dict, rows: list[dict]) -> None:
        """Segmentation: the test images with both outlines; instances: the object scores (else hidden)."""
        task = evaluation.get("task")
        segmentation = task in SEGMENTATION
        was_shown = self.browser_box.isVisible()
        self.browser_box.setVisible(segmentation)
        instance = has_objects(task)
        self.per_item.show_objects(instance)
        if not segmentation:
            self.browser.set_rows([], "", None)
            if was_shown:  # back to a classification layout
                self.tables.setSizes([0, 520, 480])
                self.sections.setSizes([0, 330, 330, 260])
            return
        self.browser.set_rows(rows, task, self.run_dir)
        if instance:
            self.per_item.show_objects(instance, evaluation.get("metrics", {}).get("objects") or {})
        if not was_shown:
            self.tables.setSizes([480, 0, 620])
            self.sections.setSizes([0, 1000, 0, 0])

    def _show_value_plots(self, evaluation: dict, rows: list[dict]) -> None:
        """Regression: predicted-vs-true and residuals; multi-label: scores per label (hidden for other tasks)."""
        shown = self.value_plots.show_evaluation(evaluation, rows)
        self.value_plots_box.setVisible(shown)
        if shown:
            title, subtitle = panel("value_results").TITLES[TASKS[evaluation["task"]].answer]
            self.value_plots_title.setText(title)
            self.value_plots_box.note.setText(subtitle)
            # the table needs only its rows; the plots get the rest
            self.sections.setSizes([0, self.per_class.height() + 70, 1000, 260])

    def _fill_gallery(self, rows: list[dict]) -> None:
        # the mistakes gallery is for classes; other tasks' tables have no right-or-wrong column
        self.gallery_box.setVisible(bool(rows) and "correct" in rows[0])
        entries, title = panel("mistakes")(rows, self.run_dir)
        self.gallery.set_images(entries)
        self.gallery_title.setText(title)

    # ------------------------------------------------------------ running an evaluation

    def evaluate(self, folder: str | Path | None = None) -> None:
        if self.run_dir is None or self.engine.is_running():
            return
        self.message.show_message("note", "Evaluating… the model is predicting every test image.")
        suffix = "" if folder is None else "_" + runs.safe_name(Path(folder).resolve().name)
        self._expected = self.run_dir / f"evaluation{suffix}.json"  # where the engine writes this one
        self.engine.start_evaluate(self.run_dir, folder)
        self._update_buttons()

    def _show_progress(self, _done: int, _total: int) -> None:
        if self.engine.is_running():
            self.message.show_message("note", self.job_progress.words())

    def _choose_other_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of labelled images (one sub-folder per class)")
        if folder:
            self.evaluate(folder)

    def _on_engine_finished(self, exit_code: int, normal: bool) -> None:
        if exit_code == 0:
            self.message.clear()
        else:
            show_failure(self.message, self.engine, "The evaluation")
        self._list_sources(prefer=self._expected if exit_code == 0 else None)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_model = self.run_dir is not None and (self.run_dir / runs.BEST_MODEL).exists()
        idle = not self.engine.is_running()
        self.evaluate_button.setEnabled(has_model and idle)
        self.other_button.setEnabled(has_model and idle)
        self.share.set_run(self.run_dir)
        self.evaluate_button.setText("Evaluate again" if (self.run_dir and (self.run_dir / runs.EVALUATION).exists())
                                     else "Evaluate on the test images")
