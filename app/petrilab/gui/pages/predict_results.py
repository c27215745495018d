"""Predict page: the results of a prediction as words and as a sortable table (predictions.csv has them all)."""

from __future__ import annotations

import collections

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from petrilab.gui.tasks import panel
from petrilab.gui.widgets.prediction_gallery import is_coin_toss
from petrilab.tasks import has_objects

TABLE_LIMIT = 5000  # rows shown; the CSV file has them all
NUMBER_COLUMNS = {"count", "mean_area_px", "median_area_px", "mean_area_um2", "area_fraction"}
HEADER_WORDS = {"count": "objects", "mean_area_px": "mean area (px)", "median_area_px": "median area (px)",
                "mean_area_um2": "mean area (µm²)", "area_fraction": "area covered"}
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


class PredictionTable(QTableWidget):
    """One row per image: the columns of predictions.csv, probabilities and measurements sorted as numbers."""

    def __init__(self):
        super().__init__(0, 0)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(26)
        self.setToolTip("Double-click a row to open its image.")

    def empty(self) -> None:
        self.clear()
        self.setRowCount(0)
        self.setColumnCount(0)

    def fill(self, rows: list[dict], columns: list[str]) -> None:
        shown = [c for c in columns if c != "problem" or any(r.get("problem") for r in rows)]
        headers = [f"p({c[2:]})" if c.startswith("p_") else HEADER_WORDS.get(c, c.replace("_", " ")) for c in shown]
        self.setSortingEnabled(False)
        self.setUpdatesEnabled(False)
        self.clear()
        self.setColumnCount(len(shown))
        self.setHorizontalHeaderLabels(headers)
        rows = rows[:TABLE_LIMIT]
        self.setRowCount(len(rows))
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
                self.setItem(i, j, item)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.resizeColumnsToContents()
        if shown:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setUpdatesEnabled(True)
        self.setSortingEnabled(True)


def results_summary(rows: list[dict], columns: list[str]) -> str:
    """The results in a line: images, what was predicted, the close calls and the files not read."""
    counts = collections.Counter(r.get("predicted_class") for r in rows if r.get("predicted_class"))
    problems = sum(1 for r in rows if r.get("problem"))
    text = f"{len(rows)} images"
    if counts:  # classification: how many of each class
        text += ": " + ", ".join(f"{n} {c}" for c, n in counts.most_common())
    elif "count" in columns:  # segmentation: objects per image, measurements in objects.csv
        text = object_summary(rows)
    else:  # regression: the range of each value; multi-label: images given each label
        text = panel("value_results").prediction_summary(rows, columns) or text
    tosses = sum(1 for r in rows if r.get("predicted_class") and is_coin_toss(r))
    if tosses:
        text += f" · {tosses} coin toss{'es' if tosses != 1 else ''} (shown first: check them)"
    if problems:
        text += f" · {problems} could not be read"
    if len(rows) > TABLE_LIMIT:
        text += f" · the table shows the first {TABLE_LIMIT}; predictions.csv has them all"
    return text


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
    parts = [f"{'interior ' if has_objects(task) else ''}threshold {post.threshold:.2f}"]
    if post.min_size:
        parts.append(f"objects ≥ {post.min_size} px")
    if post.max_size:
        parts.append(f"objects ≤ {post.max_size} px")
    if post.fill_holes:
        parts.append("holes filled")
    if post.clear_border:
        parts.append("border objects removed")
    if has_objects(task) and not post.split_touching:
        parts.append("touching objects not split")
    return ", ".join(parts)
