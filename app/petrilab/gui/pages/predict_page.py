"""Predict: run the trained model on a folder of new images; results as a table and a CSV file.

Runs `petrilab predict RUN INPUT OUTPUT` as a child process; the engine never
writes into the input folder, and this page refuses an output folder inside it.
"""

from __future__ import annotations

import collections
import csv
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from petrilab import runs
from petrilab.gui.context import AppContext
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.process import EngineProcess, plain_failure
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.gui.widgets.value_results import prediction_summary

PREDICTIONS = "predictions.csv"
TABLE_LIMIT = 5000  # rows shown; the CSV file has them all

NO_MODEL = "Train a model first: predictions need the model a training saved."
NO_INPUT = "Choose the folder of new images to predict."
NO_OUTPUT = "Choose an output folder for the results."
INPUT_MISSING = "The folder of images {path} does not exist."
OUTPUT_INSIDE = "The output folder is inside the folder of images."
OUTPUT_INSIDE_FIX = "Choose an output folder outside the images, so your data folder stays untouched."


class _Percent(QTableWidgetItem):
    """A probability shown as a percentage, sorted as a number."""

    def __init__(self, value: float):
        super().__init__(f"{value:.1%}")
        self.value = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip("How sure the model is that the image belongs to this class (0–100 %).")

    def __lt__(self, other) -> bool:
        return self.value < getattr(other, "value", -1.0)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class PredictPage(WizardPage):
    key = "predict"
    title = "Predict"

    def __init__(self, context: AppContext, parent: QWidget | None = None, engine: EngineProcess | None = None):
        super().__init__(context, parent)
        self.engine = engine or EngineProcess(self)
        self.engine.finished.connect(self._on_engine_finished)
        self.rows: list[dict] = []
        self._build()

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
        self.open_button = QPushButton("Open output folder")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_output)
        actions = QHBoxLayout()
        actions.addWidget(self.predict_button)
        actions.addWidget(self.busy)
        actions.addWidget(self.status, 1)
        actions.addWidget(self.open_button)

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

        layout = QVBoxLayout(self)
        layout.addWidget(self.model_label)
        layout.addLayout(form)
        layout.addLayout(actions)
        layout.addWidget(self.message)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    # ------------------------------------------------------------ the page contract

    def shutdown(self) -> None:
        """The window closes: end a running job (it saves nothing worth waiting for)."""
        if self.engine.is_running():
            self.engine.stop()
            self.engine.wait(5_000)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        # Fill the window's height instead of growing to the wrapped labels' preferred height
        # (which would put the plots and tables below the fold of the window's scroll area).
        return False


    def enter(self) -> None:
        run = self.context.current_run
        if run is not None and (Path(run) / runs.BEST_MODEL).exists():
            self.model_label.setText(f"Model: {Path(run).name}")
        else:
            self.model_label.setText(NO_MODEL)
        self._update_buttons()

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
        # Propose a results folder beside the images, never inside them.
        if text and not self.output_edit.text():
            path = Path(text)
            self.output_edit.setText(str(path.parent / f"{path.name}_predictions"))
        self._update_buttons()

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
        self.output_dir = Path(self.output_edit.text().strip()).resolve()
        self.engine.start_predict(self.context.current_run, Path(self.input_edit.text().strip()).resolve(),
                                  self.output_dir)
        self.status.setText("Predicting… the model loads, then reads every image.")
        self.busy.show()
        self._update_buttons()
        return True

    def _on_engine_finished(self, exit_code: int, normal: bool) -> None:
        self.busy.hide()
        if exit_code == 0:
            self.show_results(self.output_dir / PREDICTIONS)
        else:
            self.status.setText("")
            failure = plain_failure(self.engine.log_tail(40))
            if failure:
                self.message.show_message("error", *failure)
            else:
                self.message.show_message("error", "The prediction stopped unexpectedly.", str(self.engine.log_path),
                                          "Try again; if it happens again, send the log file to PetriLab's developers.",
                                          details=self.engine.log_tail(10))
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
        if counts:  # classification: how many of each class
            text += ": " + ", ".join(f"{n} {c}" for c, n in counts.most_common())
        else:  # regression: the range of each value; multi-label: images given each label
            text = prediction_summary(self.rows, columns) or text
        if problems:
            text += f" · {problems} could not be read"
        if len(self.rows) > TABLE_LIMIT:
            text += f" · the table shows the first {TABLE_LIMIT}; predictions.csv has them all"
        self.summary.setText(text)
        self.status.setText(f"Results saved to {path}")
        self._fill_table(columns)
        self.open_button.setEnabled(True)

    def _fill_table(self, columns: list[str]) -> None:
        shown = [c for c in columns if c != "problem" or any(r.get("problem") for r in self.rows)]
        headers = [f"p({c[2:]})" if c.startswith("p_") else c.replace("_", " ") for c in shown]
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
        if item is not None and folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(folder) / item.text())))

    def open_output(self) -> None:
        if getattr(self, "output_dir", None) is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.output_dir)))

    def _update_buttons(self) -> None:
        running = self.engine.is_running()
        run = self.context.current_run
        has_model = run is not None and (Path(run) / runs.BEST_MODEL).exists()
        self.predict_button.setEnabled(has_model and not running and bool(self.input_edit.text().strip()))
