"""A few example images per class, filled in as the background loader delivers them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from petrilab.gui.widgets import theme


class ThumbnailGrid(QWidget):
    def __init__(self, size: int = 64, columns: int = 6, parent: QWidget | None = None):
        super().__init__(parent)
        self.size, self.columns = size, columns
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(4)
        self.slots: dict[str, list[QLabel]] = {}  # class -> its thumbnail labels, in order
        self.filled: dict[str, int] = {}
        self._slot_of: dict[tuple[str, str], QLabel] = {}
        self._sections: list[QWidget] = []

    def clear(self) -> None:
        for w in self._sections:
            self.layout_.removeWidget(w)
            w.deleteLater()
        self._sections.clear()
        self.slots.clear()
        self.filled.clear()
        self._slot_of.clear()

    def prepare(self, per_class: dict[str, list[str]], totals: dict[str, int]) -> None:
        """Lay out empty slots for the images about to load (class -> paths)."""
        self.clear()
        for cls, paths in per_class.items():
            section = QWidget()
            v = QVBoxLayout(section)
            v.setContentsMargins(0, 4, 0, 6)
            v.setSpacing(4)
            total = totals.get(cls, len(paths))
            shown = f"{len(paths)} of {total}" if total > len(paths) else f"all {total}"
            header = QLabel(f"<b>{cls}</b> <span style='color:{theme.MUTED}'>— {shown} images</span>")
            v.addWidget(header)
            grid = QGridLayout()
            grid.setSpacing(4)
            grid.setAlignment(Qt.AlignLeft | Qt.AlignTop)
            labels = []
            for i, path in enumerate(paths):
                label = QLabel()
                label.setFixedSize(self.size, self.size)
                label.setAlignment(Qt.AlignCenter)
                label.setStyleSheet(f"background: #e6e9ee; border-radius: 3px; color: {theme.MUTED};")
                label.setToolTip(Path(path).name)
                grid.addWidget(label, i // self.columns, i % self.columns)
                labels.append(label)
                self._slot_of[(cls, str(path))] = label
            v.addLayout(grid)
            self.layout_.addWidget(section)
            self._sections.append(section)
            self.slots[cls] = labels
            self.filled[cls] = 0

    def set_thumbnail(self, cls: str, path: str, image: QImage | None) -> None:
        label = self._slot_of.get((cls, str(path)))
        if label is None:
            return
        if image is None or image.isNull():
            label.setText("cannot\nbe read")
            label.setStyleSheet(f"background: #f3e1e1; border-radius: 3px; color: {theme.LEVEL_COLOURS['error']};"
                                "font-size: 10px;")
        else:
            label.setPixmap(QPixmap.fromImage(image))
            label.setStyleSheet("background: #111418; border-radius: 3px;")
        self.filled[cls] = self.filled.get(cls, 0) + 1

    @property
    def loaded(self) -> int:
        return sum(self.filled.values())
