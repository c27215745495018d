"""Evaluate page: the scores of each class (or label, or value) as a table with what they mean, and for
instance segmentation the object scores under it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHeaderView, QLabel, QScrollArea, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from petrilab.gui.pages.evaluate_cards import format_metric
from petrilab.gui.tasks import panel

PER_ITEM = (("per_class", "Per class", "Precision, recall and F1 of each class"),
            ("per_label", "Per label", "Precision, recall, F1 and AUC of each label, at its decision threshold"),
            ("per_target", "Per value", "How far the predictions are from the true values, for each value"))
PER_ITEM_EXPLAINED = {
    "per_class": "<b>Precision</b>: of the images predicted as this class, the share that really are.<br>"
                 "<b>Recall</b>: of the images of this class, the share the model found.<br>"
                 "<b>F1</b>: the balance of the two. A rare class with low recall is the one the model tends to miss.",
    "per_label": "<b>Precision</b>: of the images given this label, the share that really have it.<br>"
                 "<b>Recall</b>: of the images with this label, the share the model found.<br>"
                 "<b>Threshold</b>: the probability above which an image gets the label, chosen on the "
                 "validation images.",
    "segmentation": "<b>IoU</b>: overlap of predicted and true pixels, TP / (TP + FP + FN). "
                    "<b>Dice</b>: 2 |X ∩ Y| / (|X| + |Y|), always ≥ IoU. <b>Precision</b>: of the pixels predicted "
                    "as the class, the share that are; <b>recall</b>: of its true pixels, the share found.",
}
PER_ITEM_COLUMNS = ("iou", "dice", "precision", "recall", "f1", "auc", "threshold", "mae", "rmse", "r2", "baseline_mae",
                    "baseline_rmse", "support", "n")
COLUMN_NAMES = {"f1": "F1", "auc": "AUC", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "support": "Images",
                "n": "Images", "baseline_mae": "Baseline MAE", "baseline_rmse": "Baseline RMSE",
                "iou": "IoU", "dice": "Dice"}


class PerItemPanel(QScrollArea):
    """The table, its explanation and (instances) the object scores; scrolls rather than squeezes when the
    object scores are added below a tall table."""

    def __init__(self):
        super().__init__()
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Images"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self._size_columns()
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.explained = QLabel(PER_ITEM_EXPLAINED["per_class"])
        self.explained.setObjectName("muted")
        self.explained.setWordWrap(True)
        inner_widget = QWidget()
        inner = QVBoxLayout(inner_widget)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.table)
        inner.addWidget(self.explained)
        # instance segmentation: the objects matched one to one, under the pixel scores
        self.objects_title = QLabel("Objects at IoU 0.5")
        self.objects_title.setObjectName("sectionTitle")
        self.object_scores = panel("object_scores")()
        inner.addWidget(self.objects_title)
        inner.addWidget(self.object_scores)
        self._stretch = inner.count()
        inner.addStretch(1)
        self._inner = inner
        self.setWidget(inner_widget)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def _size_columns(self) -> None:
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        # a header is never cut ("Precisio…"): a narrow window scrolls the table instead
        header.setMinimumSectionSize(self.table.fontMetrics().horizontalAdvance("Precision") + 24)

    def show_objects(self, instance: bool, objects: dict | None = None) -> None:
        """Instance segmentation: the object scores below the table (other tasks: hidden)."""
        self.objects_title.setVisible(instance)
        self.object_scores.setVisible(instance)
        self._inner.setStretch(self._stretch, 0 if instance else 1)
        if objects is not None:
            self.object_scores.show_scores(objects)

    def show_metrics(self, metrics: dict, voxels: bool = False) -> tuple[str, str]:
        """The per-class (or per-label, per-value) table, with the columns this task reports; returns its
        section's title and subtitle. `voxels`: a run on z-stacks, whose counts are voxels, not pixels."""
        key, title, subtitle = next((item for item in PER_ITEM if isinstance(metrics.get(item[0]), dict)), PER_ITEM[0])
        items = metrics.get(key) or {}
        columns = [c for c in PER_ITEM_COLUMNS if any(c in (v or {}) for v in items.values())]
        pixels = "iou" in columns  # segmentation: scores of each class's pixels
        explained = "segmentation" if pixels else key
        if pixels:
            subtitle = ("IoU, Dice, precision and recall of each class's voxels, over all test stacks" if voxels else
                        "IoU, Dice, precision and recall of each class's pixels, over all test images")
        self.explained.setVisible(explained in PER_ITEM_EXPLAINED)
        words = PER_ITEM_EXPLAINED.get(explained, "")
        self.explained.setText(words.replace("pixels", "voxels") if voxels else words)
        names = dict(COLUMN_NAMES, support="Voxels" if voxels else "Pixels") if pixels else COLUMN_NAMES
        self.table.setColumnCount(1 + len(columns))
        self.table.setHorizontalHeaderLabels([title.removeprefix("Per ").capitalize()] +
                                             [names.get(c, c.capitalize()) for c in columns])
        self._size_columns()
        self.table.setRowCount(len(items))
        # as tall as its rows (up to 8), so the explanation sits right under it
        header = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(header + 4 + 26 * min(max(len(items), 1), 8))
        for row, (name, values) in enumerate(items.items()):
            cells = [str(name)] + [format_metric(c, (values or {}).get(c)) for c in columns]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        return title, subtitle
