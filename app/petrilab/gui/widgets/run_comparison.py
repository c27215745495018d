"""Comparing runs side by side: the table of a sweep, best run first by the task's own validation metric.

Each task judges its models by its own number (accuracy, AUC, IoU, mean
absolute error): the header names it, and the order follows it — higher is
better for scores, lower for errors and losses.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

METRIC_NAMES = {"accuracy": "accuracy", "binary_accuracy": "accuracy", "auc": "AUC", "mae": "MAE", "mse": "MSE",
                "rmse": "RMSE", "iou": "IoU", "dice": "Dice", "f1": "F1", "loss": "loss"}
MAX_WIDTH = 460  # pixels: beyond that, the plots would be squeezed
LOWER_IS_BETTER = {"mae", "mse", "rmse", "loss", "error"}


def metric_name(metric: str | None) -> str:
    """'iou' → 'IoU', as a column header says it."""
    metric = metric or "accuracy"
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def lower_is_better(metric: str | None) -> bool:
    metric = (metric or "").lower()
    return metric in LOWER_IS_BETTER or metric.endswith(("_error", "loss"))


def header(metric: str | None) -> str:
    return f"Validation {metric_name(metric)}"


def format_value(metric: str | None, value: float | None) -> str:
    if value is None:
        return "–"
    if metric and "accuracy" in metric:
        return f"{value:.1%}"
    return f"{value:.4g}"  # four digits: runs of a sweep often differ in the third


def ranked(values: list[float | None], metric: str | None) -> list[int]:
    """Indices of `values`, best first for `metric`; runs without a value yet come last, in their order."""
    low = lower_is_better(metric)
    scored = [i for i, v in enumerate(values) if v is not None]
    scored.sort(key=lambda i: values[i] if low else -values[i])
    return scored + [i for i, v in enumerate(values) if v is None]


def sweep_label(values: dict) -> str:
    """{'training.learning_rate': 0.001} → 'learning rate 0.001' (what a legend and a table row say)."""
    return ", ".join(f"{short_key(k)} {v}" for k, v in values.items())


def short_key(key: str) -> str:
    return key.rsplit(".", 1)[-1].replace("_", " ")


@dataclass(frozen=True)
class Compared:
    """One run in the comparison."""

    label: str  # its swept values, or its name
    colour: str  # its curves' colour
    metric: str  # the task's main metric
    value: float | None
    epochs: int
    status: str
    sweep_values: tuple = ()  # (key, value) pairs


class RunComparison(QTableWidget):
    """Runs side by side, best first by the task's validation metric; one column per swept setting."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 0, parent)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setDefaultSectionSize(24)
        self.order: list[Compared] = []

    def show_runs(self, compared: list[Compared]) -> None:
        metric = _common_metric(compared)
        order = best_first(compared)
        self.order = order
        keys = list(dict.fromkeys(k for c in order for k, _ in c.sweep_values))
        arrow = "↓ lower is better" if lower_is_better(metric) else "↑ higher is better"
        columns = ["", *(short_key(k).capitalize() for k in keys)] if keys else ["", "Run"]
        columns += [header(metric).replace(" ", "\n", 1), "Epochs", "Status"]  # two lines: room for the plots
        self.setColumnCount(len(columns))
        self.setRowCount(len(order))
        self.setHorizontalHeaderLabels(columns)
        metric_column = len(columns) - 3
        self.horizontalHeaderItem(metric_column).setToolTip(
            f"Of the model each run keeps (its epoch with the lowest validation loss); {arrow}.")
        for row, run in enumerate(order):
            swatch = QTableWidgetItem("■")
            swatch.setForeground(QBrush(QColor(run.colour)))
            swatch.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            cells = [dict(run.sweep_values).get(k, "–") for k in keys] if keys else [run.label]
            value = format_value(run.metric, run.value) if run.metric == metric or run.value is None else \
                f"{metric_name(run.metric)} {format_value(run.metric, run.value)}"
            items = [swatch, *(QTableWidgetItem(str(c)) for c in cells), QTableWidgetItem(value),
                     QTableWidgetItem(str(run.epochs)), QTableWidgetItem(run.status)]
            for column, item in enumerate(items):
                if column == metric_column and row == 0 and run.value is not None:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if column >= metric_column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(run.label)
                self.setItem(row, column, item)
        head = self.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(len(columns) - 1, QHeaderView.ResizeMode.Stretch)
        # wide enough to show every column without scrolling sideways (the plots get the rest)
        self.resizeColumnsToContents()
        needed = sum(max(self.sizeHintForColumn(c), head.sectionSizeHint(c)) for c in range(len(columns)))
        self.setMinimumWidth(min(needed + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth() + 8,
                                 MAX_WIDTH))

    def metric_header(self) -> str:
        item = self.horizontalHeaderItem(self.columnCount() - 3) if self.columnCount() >= 3 else None
        return item.text().replace("\n", " ") if item else ""

    def column_texts(self, column: int) -> list[str]:
        return [self.item(r, column).text() for r in range(self.rowCount())]


def best_first(compared: list[Compared]) -> list[Compared]:
    """The runs in the order the table shows them: best first by the metric most of them share."""
    metric = _common_metric(compared)
    return [compared[i] for i in ranked([c.value if c.metric == metric else None for c in compared], metric)]


def _common_metric(compared: list[Compared]) -> str:
    metrics = [c.metric for c in compared if c.value is not None] or [c.metric for c in compared] or ["accuracy"]
    return max(dict.fromkeys(metrics), key=metrics.count)
