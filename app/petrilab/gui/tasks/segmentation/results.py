"""Segmentation results on the Evaluate page: the test images with true and predicted outlines, and the
object scores in plain words.

Reads what `petrilab evaluate` writes: test_predictions.csv (one row per test
image: the image, its true mask, its predicted mask in test_masks/, and that
image's scores) and evaluation.json ("objects": the matching at IoU 0.5 and
the average over 0.5 … 0.95).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from petrilab.gui.tasks.segmentation.stack_pairs import is_stack
from petrilab.gui.widgets.overlay_view import OverlayView
from petrilab.gui.widgets.stack_viewer import StackViewer, display_stack
from petrilab.gui.widgets.theme import MUTED
from petrilab.tasks import has_objects

TRUE_COLOUR, PREDICTED_COLOUR, BOTH_COLOUR = "#00dc5a", "#ff00c8", "#ffe600"  # as overlay_view draws them

# (key in the objects' summary, name, what it means) — the workshop's words
OBJECT_SCORES = (
    ("tp", "Found (TP)", "true objects matched by a predicted one"),
    ("fp", "Invented (FP)", "predicted objects matching no true one"),
    ("fn", "Missed (FN)", "true objects no predicted one matches"),
    ("precision", "Precision", "TP / (TP + FP): found objects that are real"),
    ("recall", "Recall", "TP / (TP + FN): real objects found"),
    ("f1", "F1", "the balance of precision and recall"),
    ("average_precision", "Average precision", "TP / (TP + FP + FN) (StarDist, Cellpose)"),
    ("mean_matched_iou", "Mean IoU of matches", "how well found outlines fit the true"),
    ("average_precision_50_95", "AP, IoU 0.5 … 0.95", "the same, averaged over stricter overlaps"),
)
COUNTS = {"tp", "fp", "fn"}


def _percent_or_count(key: str, value) -> str:
    if not isinstance(value, (int, float)) or value != value:
        return "–"
    return str(int(value)) if key in COUNTS else f"{value:.1%}"


def headline(objects: dict) -> tuple[str, str]:
    """Three figures a biologist reads at once (found, invented, missed) and F1 in plain words; with no
    object anywhere there is nothing to score, and no 100 % is claimed."""
    summary = (objects or {}).get("summary") or {}
    n_true, n_pred = (objects or {}).get("n_true"), (objects or {}).get("n_pred")
    tp, fp, fn = (summary.get(k) for k in ("tp", "fp", "fn"))
    if not isinstance(tp, (int, float)) or n_true is None:
        return "No object scores in these results.", ""
    if not n_true and not n_pred:
        return ("The test images hold no objects, and the model found none: there is nothing to score.",
                "Evaluate on images that show objects to see how well they are found.")
    found = f"Found {int(tp)} of {int(n_true)} objects" if n_true else "No objects in the test masks"
    title = f"{found} · {int(fp)} invented · {int(fn)} missed"
    f1 = summary.get("f1")
    words = (f"F1 {f1:.0%}: one figure for both mistakes, inventing and missing (100 % = every object found "
             "and none invented)." if isinstance(f1, (int, float)) and f1 == f1 else "")
    return title, words


class ObjectScores(QWidget):
    """The object matching at IoU 0.5: found, invented and missed objects and F1 in plain words first;
    the other scores, each with what it means, behind "More scores"."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.headline = QLabel()
        self.headline.setObjectName("sectionTitle")
        self.headline.setWordWrap(True)
        self.f1_words = QLabel()
        self.f1_words.setWordWrap(True)
        self.more_button = QPushButton("More scores ▸")
        self.more_button.setCheckable(True)
        self.more_button.setToolTip("Precision, recall, average precision and how well outlines fit")
        self.more_button.toggled.connect(self._toggle_more)
        self.counts = QLabel()
        self.counts.setObjectName("muted")
        self.counts.setWordWrap(True)
        self.table = QLabel()
        self.table.setTextFormat(Qt.TextFormat.RichText)
        self.table.setWordWrap(True)
        self.table.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.more = QWidget()
        more = QVBoxLayout(self.more)
        more.setContentsMargins(0, 0, 0, 0)
        more.addWidget(self.counts)
        more.addWidget(self.table)
        self.more.hide()
        row = QHBoxLayout()
        row.addWidget(self.f1_words, 1)
        row.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.headline)
        layout.addLayout(row)
        layout.addWidget(self.more)
        self.values: dict[str, str] = {}  # key -> the text shown (for tests)

    def _toggle_more(self, shown: bool) -> None:
        self.more.setVisible(shown)
        self.more_button.setText("Fewer scores ▾" if shown else "More scores ▸")

    def show_scores(self, objects: dict) -> None:
        summary = (objects or {}).get("summary") or {}
        title, words = headline(objects)
        self.headline.setText(title)
        self.f1_words.setText(words)
        nothing = not (objects or {}).get("n_true") and not (objects or {}).get("n_pred")
        self.more_button.setVisible(not nothing)
        if nothing:
            self.more_button.setChecked(False)
        self.values = {key: _percent_or_count(key, summary.get(key)) for key, _, _ in OBJECT_SCORES}
        rows = "".join(f"<tr><td style='padding-right:8px'>{name}</td>"
                       f"<td align='right' style='padding-right:10px'><b>{self.values[key]}</b></td>"
                       f"<td style='color:{MUTED}'>{meaning}</td></tr>" for key, name, meaning in OBJECT_SCORES)
        self.table.setText(f"<table cellspacing='0' cellpadding='1'>{rows}</table>")
        n_true, n_pred = (objects or {}).get("n_true"), (objects or {}).get("n_pred")
        self.counts.setText(f"{n_true} true objects in the test images, {n_pred} predicted; each predicted object "
                            f"is matched to at most one true object it overlaps by IoU ≥ 0.5 (IoU: the shared "
                            f"area over the area of both together)."
                            if n_true is not None else "")


def legend() -> QLabel:
    """Which colour is which, in one line."""
    label = QLabel(f"<span style='color:{TRUE_COLOUR}'>■</span> true outline &nbsp; "
                   f"<span style='color:{PREDICTED_COLOUR}'>■</span> predicted outline &nbsp; "
                   f"<span style='color:{BOTH_COLOUR}'>■</span> both agree")
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def _number(row: dict, key: str):
    try:
        return float(row.get(key, ""))
    except (TypeError, ValueError):
        return None


def worst_first(rows: list[dict], task: str) -> list[dict]:
    """The test images ordered from the worst result to the best: the mistakes come first."""
    def badness(row: dict):
        iou = _number(row, "iou")
        f1 = _number(row, "f1") if has_objects(task) else None
        return (f1 if f1 is not None else 2.0, iou if iou is not None else 2.0, row.get("file", ""))
    return sorted(rows, key=badness)


def image_caption(row: dict, task: str) -> str:
    """One test image's own scores in a line."""
    parts = []
    iou = _number(row, "iou")
    if iou is not None:
        parts.append(f"IoU {iou:.1%}")
    if has_objects(task):
        counts = [_number(row, k) for k in ("true_objects", "predicted_objects", "tp", "fp", "fn")]
        if None not in counts:
            n_true, n_pred, tp, fp, fn = (int(c) for c in counts)
            parts.append(f"{n_true} true, {n_pred} predicted objects: {tp} found, {fn} missed, {fp} invented")
    return " · ".join(parts)


class TestImageBrowser(QWidget):
    """One test image at a time: the image, the true outlines (green) and the predicted ones (magenta)."""

    __test__ = False  # not a pytest class

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows: list[dict] = []
        self.task = ""  # the evaluation's, from set_rows
        self.base: Path | None = None  # the run folder (predicted masks are named relative to it)
        self.index = -1
        self.problem = ""  # why the current image cannot be shown ('' when it is)
        self.choice = QComboBox()
        self.choice.setMinimumWidth(160)
        self.choice.setToolTip("The test images, the worst result first.")
        self.choice.currentIndexChanged.connect(self.show_image)
        self.previous_button = QPushButton("◀ Previous")
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton("Next ▶")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.position = QLabel()
        self.position.setObjectName("muted")
        top = QHBoxLayout()
        top.addWidget(self.previous_button)
        top.addWidget(self.choice, 1)
        top.addWidget(self.next_button)
        top.addWidget(self.position)
        self.view = OverlayView(mode="outline", minimum=220)
        self.scores = QLabel()
        self.scores.setWordWrap(True)
        self.outlines = QCheckBox("Show outlines")
        self.outlines.setChecked(True)
        self.outlines.setToolTip("Hide them to see the image itself.")
        self.outlines.toggled.connect(self.view.set_overlay_visible)
        self.stack_view = StackViewer(minimum=160)  # in place of the view for a test stack
        self.stack_view.hide()
        self.outlines.toggled.connect(lambda shown: self.stack_view.set_view(overlay_visible=shown))
        bottom = QHBoxLayout()
        bottom.addWidget(legend())
        bottom.addStretch(1)
        bottom.addWidget(self.outlines)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.stack_view, 1)
        layout.addWidget(self.scores)
        layout.addLayout(bottom)

    def set_rows(self, rows: list[dict], task: str, base: Path | None) -> None:
        """The test images of one evaluation (rows of test_predictions.csv)."""
        self.task, self.base = task, base
        self.rows = worst_first([r for r in rows if r.get("predicted_mask")], task)
        self.choice.blockSignals(True)
        self.choice.clear()
        for row in self.rows:
            iou = _number(row, "iou")
            score = f"  (IoU {iou:.0%})" if iou is not None else ""
            self.choice.addItem(Path(row.get("file", "")).name + score, row.get("file"))
        self.choice.blockSignals(False)
        self.index = -1
        if self.rows:
            self.choice.setCurrentIndex(0)
            self.show_image(0)
        else:
            self.view.clear()
            self.scores.setText("These results have no predicted masks to show: press 'Evaluate again'.")
            self.position.setText("")
        self._update_buttons()

    def step(self, delta: int) -> None:
        if self.rows:
            self.choice.setCurrentIndex((self.choice.currentIndex() + delta) % len(self.rows))

    def _path(self, text: str) -> Path:
        path = Path(text)
        return path if path.is_absolute() or self.base is None else self.base / path

    def arrays(self, row: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(image, true labels or mask, predicted labels or mask) of one row."""
        import tifffile

        from petrilab.data.images import read_image
        from petrilab.tasks.segmentation.masks import read_mask

        image = read_image(self._path(row["file"]))
        true = read_mask(self._path(row["true_mask"]), self.task)
        predicted = tifffile.imread(str(self._path(row["predicted_mask"])))
        return image, true, predicted

    def stack_arrays(self, row: dict, longest: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple | None]:
        """A test stack's (display picture, true labels, predicted labels, voxel (z, y, x) µm), x and y thinned
        to at most `longest` pixels."""
        from petrilab.data.stacks import read_stack
        from petrilab.tasks.segmentation.stack_masks import read_stack_mask  # no Keras: the window may read it

        stack = read_stack(self._path(row["file"]))
        true = read_stack_mask(self._path(row["true_mask"]), self.task)
        predicted = read_stack_mask(self._path(row["predicted_mask"]), self.task)
        if true.shape != stack.pixels.shape[:3] or predicted.shape != true.shape:
            raise ValueError("sizes differ")
        step = max(1, int(np.ceil(max(true.shape[1:]) / longest)))
        voxel = None if stack.voxel is None else (stack.voxel[0], stack.voxel[1] * step, stack.voxel[2] * step)
        return (display_stack(stack.pixels[:, ::step, ::step]), true[:, ::step, ::step],
                predicted[:, ::step, ::step], voxel)

    def show_image(self, index: int) -> None:
        if not 0 <= index < len(self.rows):
            return
        self.index = index
        row = self.rows[index]
        self.position.setText(f"{index + 1} of {len(self.rows)}")
        stacked = is_stack(str(self._path(row.get("file", ""))))
        try:
            if stacked:
                picture, true, predicted, voxel = self.stack_arrays(row)
            else:
                image, true, predicted = self.arrays(row)
                if true.shape != image.shape[:2] or predicted.shape != image.shape[:2]:
                    raise ValueError("sizes differ")
        except Exception as exc:  # noqa: BLE001 - a moved or damaged file: say so, keep browsing
            self.problem = f"{Path(row.get('file', '')).name} cannot be shown ({exc.__class__.__name__})."
            self.view.clear()
            self.stack_view.clear()
            self.scores.setText(self.problem + " Its files may have moved since the evaluation.")
            self._update_buttons()
            return
        self.problem = ""
        self.view.setVisible(not stacked)
        self.stack_view.setVisible(stacked)
        if stacked:
            self.stack_view.set_stack(picture, true, voxel, second=predicted)
            self.stack_view.set_view(overlay_visible=self.outlines.isChecked())
        else:
            self.view.set_arrays(image, true, predicted)
        self.scores.setText(image_caption(row, self.task))
        self._update_buttons()

    def _update_buttons(self) -> None:
        several = len(self.rows) > 1
        self.previous_button.setEnabled(several)
        self.next_button.setEnabled(several)
