"""Restoration results on the Predict page: each new image before and after (compare_view.py), from the
predictions.csv `petrilab predict` writes (file, restored_file, difference_file, the noise before and after)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from petrilab.gui.tasks.restoration.compare_view import BeforeAfterView

RESTORED_COLUMN = "restored_file"  # predictions.csv of a restoration (tasks/restoration/prediction.py)
CAUTION = ("Restoration can invent structures: compare with the input (wipe, difference, the line profile) before "
           "trusting a detail, and do not measure intensities on restored images without a check.")


def is_restoration(columns: list[str]) -> bool:
    return RESTORED_COLUMN in columns


def summary(rows: list[dict]) -> str:
    done = sum(1 for r in rows if r.get(RESTORED_COLUMN))
    problems = sum(1 for r in rows if r.get("problem"))
    text = f"{done} image{'s' if done != 1 else ''} restored"
    return text + (f" · {problems} could not be read" if problems else "")


class RestoredBrowser(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.chooser = QComboBox()
        self.chooser.setMinimumContentsLength(20)
        self.chooser.currentIndexChanged.connect(self._show_chosen)
        self.caution = QLabel(CAUTION)
        self.caution.setObjectName("muted")
        self.caution.setWordWrap(True)
        self.view = BeforeAfterView()
        row = QHBoxLayout()
        row.addWidget(QLabel("Image:"))
        row.addWidget(self.chooser, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.caution)
        layout.addWidget(self.view, 1)
        self.pairs: list[tuple[Path, Path]] = []

    def show_rows(self, rows: list[dict], input_dir: Path | None, output_dir: Path | None) -> None:
        self.pairs = [(input_dir / r["file"], output_dir / r[RESTORED_COLUMN]) for r in rows
                      if input_dir is not None and output_dir is not None and r.get(RESTORED_COLUMN)]
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItems([str(p.relative_to(input_dir)) for p, _ in self.pairs])
        self.chooser.blockSignals(False)
        if self.pairs:
            self._show_chosen(0)
        else:
            self.view.clear()

    def _show_chosen(self, index: int) -> None:
        if 0 <= index < len(self.pairs):
            before, after = self.pairs[index]
            self.view.show_files(before, after, f"{before.name}: input and restored, zoom and pan linked.")