"""A gallery of images with a caption each (e.g. misclassified test images), thumbnails loaded in the background."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QIcon, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from petrilab.gui.workers import Background, load_thumbnails


def _placeholder(size: int) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor("#e6e9ee"))
    return QIcon(pixmap)


class ImageGallery(QListWidget):
    """Items appear at once with a grey placeholder; each picture replaces it when the loader delivers it."""

    def __init__(self, thumb_size: int = 96, parent: QWidget | None = None):
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(thumb_size, thumb_size))
        self.setGridSize(QSize(thumb_size + 70, thumb_size + 46))
        self.setSpacing(4)
        self.setWordWrap(False)  # captions carry their own line breaks; wrapping would cut them
        self.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.loader = Background(self)
        self.setToolTip("Double-click an image to open it in your image viewer.")
        self.itemDoubleClicked.connect(
            lambda item: QDesktopServices.openUrl(QUrl.fromLocalFile(item.data(Qt.ItemDataRole.UserRole))))
        self._items: dict[str, QListWidgetItem] = {}
        self.loaded = 0

    def set_images(self, entries: list[tuple[str, str, str]]) -> None:
        """entries: (path, caption, tooltip), in the order to show them."""
        self.loader.cancel()
        self.clear()
        self._items.clear()
        self.loaded = 0
        placeholder = _placeholder(self.thumb_size)
        jobs = []
        for i, (path, caption, tooltip) in enumerate(entries):
            item = QListWidgetItem(placeholder, caption)
            item.setToolTip(tooltip)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.addItem(item)
            key = str(i)
            self._items[key] = item
            jobs.append((key, path))
        if jobs:
            self.loader.start(load_thumbnails, jobs, self.thumb_size, on_progress=self._on_thumbnail)

    def _on_thumbnail(self, result) -> None:
        key, _path, image = result
        item = self._items.get(key)
        if item is None or not shiboken6.isValid(item):
            return  # a new set of images, or the window closing, came before this thumbnail
        self.loaded += 1
        if image is None or image.isNull():
            item.setText(item.text() + "\n(unreadable)")
            return
        item.setIcon(QIcon(QPixmap.fromImage(image)))

    def path_at(self, row: int) -> Path:
        return Path(self.item(row).data(Qt.ItemDataRole.UserRole))
