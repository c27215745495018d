"""Restoration results on the Evaluate page: PSNR and SSIM of the noisy input, non-local means and PetriLab side by
side (or, without clean images, plainly that there is no ground truth), the warning against trusting a restored
image blindly, and each test image before and after (compare_view.py).

Reads what `petrilab evaluate` writes: evaluation.json ("compared", "ground_truth", "caution") and
test_predictions.csv (one row per test image: the image and its restored version in test_masks/).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from petrilab.gui.tasks.restoration.compare_view import BeforeAfterView
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.gui.widgets.theme import MUTED

ROWS = (("input", "Noisy input"), ("non_local_means", "Non-local means (classical)"), ("network", "PetriLab"))
TEST_RESULTS = "test_masks"  # where evaluate leaves the restored test images (evaluation/evaluate_run.py)


def scores_table(compared: dict) -> str:
    """The three candidates' PSNR and SSIM as a small rich-text table, the best of each in bold."""
    psnr, ssim = compared.get("psnr", {}), compared.get("ssim", {})
    best = {m: max(v, key=lambda k: v[k] if isinstance(v.get(k), (int, float)) else -1e9) for m, v in
            (("psnr", psnr), ("ssim", ssim)) if v}

    def cell(metric: str, key: str, text: str) -> str:
        return f"<b>{text}</b>" if best.get(metric) == key else text

    rows = "".join(
        f"<tr><td style='padding-right:14px'>{name}</td>"
        f"<td align='right' style='padding-right:14px'>{cell('psnr', key, _fmt(psnr.get(key), ' dB', 2))}</td>"
        f"<td align='right'>{cell('ssim', key, _fmt(ssim.get(key), '', 3))}</td></tr>" for key, name in ROWS)
    head = (f"<tr><td></td><td align='right' style='padding-right:14px; color:{MUTED}'>PSNR</td>"
            f"<td align='right' style='color:{MUTED}'>SSIM</td></tr>")
    return f"<table cellspacing='0' cellpadding='2'>{head}{rows}</table>"


def _fmt(value, unit: str, digits: int) -> str:
    return f"{value:.{digits}f}{unit}" if isinstance(value, (int, float)) else "–"


class RestorationResults(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.scores = QLabel()
        self.scores.setTextFormat(Qt.TextFormat.RichText)
        self.scores_note = QLabel("Against the clean images of the test set; higher is better for both. PSNR in "
                                  "decibels (+3 dB: half the squared error), SSIM 1 = identical structure.")
        self.scores_note.setObjectName("muted")
        self.scores_note.setWordWrap(True)
        self.caution = InlineMessage()
        self.chooser = QComboBox()
        self.chooser.setMinimumContentsLength(20)
        self.chooser.currentIndexChanged.connect(self._show_chosen)
        self.view = BeforeAfterView()
        left = QVBoxLayout()
        left.addWidget(self.scores)
        left.addWidget(self.scores_note)
        left.addWidget(self.caution)
        left.addStretch(1)
        chooser_row = QHBoxLayout()
        chooser_row.addWidget(QLabel("Test image:"))
        chooser_row.addWidget(self.chooser, 1)
        right = QVBoxLayout()
        right.addLayout(chooser_row)
        right.addWidget(self.view, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setMaximumWidth(380)
        layout.addWidget(left_widget)
        layout.addLayout(right, 1)
        self.pairs: list[tuple[Path, Path]] = []

    def show_evaluation(self, evaluation: dict, rows: list[dict], run_dir: Path | None) -> None:
        if evaluation.get("ground_truth"):
            self.scores.setText(scores_table(evaluation.get("compared") or {}))
            self.scores_note.show()
        else:
            m = evaluation.get("metrics", {})
            self.scores.setText("<b>No ground truth</b>: the test images have no clean version (DATA/targets), so "
                                "how close the result is to the truth cannot be measured. Compare before and "
                                f"after by eye.<br>Estimated noise: {_fmt(m.get('noise_before'), '', 3)} before, "
                                f"{_fmt(m.get('noise_after'), '', 3)} after.")
            self.scores.setWordWrap(True)
            self.scores_note.hide()
        self.caution.show_message("warning", evaluation.get("caution") or "")
        self.pairs = []
        folder = (run_dir / TEST_RESULTS) if run_dir is not None else None
        for row in rows:
            if folder is not None and row.get("restored"):
                self.pairs.append((Path(row["file"]), folder / row["restored"]))
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItems([p.name for p, _ in self.pairs])
        self.chooser.blockSignals(False)
        if self.pairs:
            self._show_chosen(0)
        else:
            self.view.clear()

    def _show_chosen(self, index: int) -> None:
        if 0 <= index < len(self.pairs):
            before, after = self.pairs[index]
            self.view.show_files(before, after, f"{before.name}: input and restored, zoom and pan linked. Drag "
                                                "the blue line's ends to see the intensities along it.")