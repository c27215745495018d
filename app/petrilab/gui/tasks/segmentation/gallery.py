"""Image/mask pairs of a segmentation folder, each image with its mask drawn on it.

A large view shows the chosen pair (outlines, filled, or the image alone);
below it, thumbnails of several pairs spread over the folder, each with the
mask drawn on it; click one to see it large, click the large view to open it
larger still. Every file is read in the background (`Background` jobs), so a
folder of big images never freezes the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, QThreadPool
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QDialog, QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from petrilab.gui.tasks.segmentation.stack_pairs import is_stack, read_stack_pair
from petrilab.gui.widgets import theme
from petrilab.gui.widgets.overlay_view import (OverlayView, class_colours, compose_overlay, shrink_for_display,
                                                to_qimage)
from petrilab.gui.widgets.stack_viewer import StackViewer
from petrilab.gui.workers import Background
from petrilab.tasks import TASKS, has_objects

THUMB = 84
LARGE = 800  # longest side kept for the large view and the enlarged window (it shows no more)
MAX_PAIRS = 24
PROBLEM_PAIRS_FIRST = 6  # pairs without a mask come first in the gallery (up to this many), so the user sees them


def read_pair(task: str, image_path: str, mask_path: str | None, longest: int, whole: bool = False) -> dict:
    """The image and its mask as arrays (labels: None when there is no usable mask), shrunk to `longest`,
    with a short note on what is drawn ("8 objects") or why no mask is drawn ("no mask"). A z-stack gives
    its middle plane, and with `whole` the stack for the stack viewer (stack_pairs.read_stack_pair)."""
    from petrilab.data.images import read_image
    from petrilab.errors import UserError
    from petrilab.tasks.segmentation.masks import read_class_mask, read_label_mask

    if TASKS[task].stacks and is_stack(image_path):
        return read_stack_pair(task, image_path, mask_path, longest, whole)
    image = read_image(image_path)
    result = {"image": image, "labels": None, "note": "", "problem": False}
    if mask_path is None:
        result.update(note="no mask", problem=True)
    else:
        try:
            if has_objects(task):
                labels, binary = read_label_mask(mask_path)
            else:
                labels, binary = read_class_mask(mask_path), False
        except UserError as exc:
            result.update(note="mask cannot be used", problem=True, error=exc.message)
        else:
            if labels.shape != image.shape[:2]:
                result.update(note=f"mask {labels.shape[0]}×{labels.shape[1]}, image "
                                   f"{image.shape[0]}×{image.shape[1]}", problem=True)
            else:
                result["labels"] = labels
                result["note"] = _contents(task, labels, binary)
    result["image"], result["labels"], _ = shrink_for_display(result["image"], result["labels"], longest=longest)
    return result


def _contents(task: str, labels: np.ndarray, binary: bool) -> str:
    values = np.unique(labels)
    values = values[values != 0]
    if has_objects(task):
        n = len(values)
        return f"{n} object{'s' if n != 1 else ''}" + (" (binary mask)" if binary else "")
    if not len(values):
        return "background only"
    covered = float(np.mean(labels > 0))
    return f"{covered:.0%} foreground" if len(values) == 1 and values[0] == 1 else \
        f"classes {', '.join(str(v) for v in values)}"


def load_overlay_thumbnails(task: str, items: list[tuple[int, str, str | None]], size: int,
                            n_classes: int | None, *, emit: Callable, cancelled: Callable) -> int:
    """For each (row, image, mask): emit (row, QImage or None, note, problem)."""
    done = 0
    for row, image_path, mask_path in items:
        if cancelled():
            break
        try:
            pair = read_pair(task, image_path, mask_path, size)
            picture = to_qimage(compose_overlay(pair["image"], pair["labels"], n_classes=n_classes))
            picture = picture.scaled(size, size, Qt.KeepAspectRatio, Qt.FastTransformation)
            emit((row, picture, pair["note"], pair["problem"]))
        except Exception:  # unreadable: the check names the file and the fix
            emit((row, None, "cannot be read", True))
        done += 1
    return done


def _load_one(task: str, image_path: str, mask_path: str | None, n_classes: int | None) -> dict:
    """One pair for the large view, with its pictures composed here (not on the window's thread)."""
    pair = read_pair(task, image_path, mask_path, LARGE, whole=True)
    if "stack" in pair:
        return pair  # the stack viewer composes its planes as they are chosen
    pictures = {("none", False): compose_overlay(pair["image"])}
    if pair["labels"] is not None:
        for mode in ("outline", "fill"):
            pictures[(mode, True)] = compose_overlay(pair["image"], pair["labels"], mode=mode, n_classes=n_classes)
    pair["pictures"] = pictures
    return pair


class EnlargedPair(QDialog):
    """One pair in its own resizable window."""

    def __init__(self, title: str, image, labels, mode: str, parent: QWidget | None = None,
                 pictures: dict | None = None, n_classes: int | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        self.view = OverlayView(self, mode=mode, minimum=300, n_classes=n_classes)
        self.view.set_arrays(image, labels, pictures=pictures)
        layout.addWidget(self.view, 1)
        self.resize(760, 720)


class SegmentationGallery(QWidget):
    """The chosen pair large, and thumbnails of several pairs to choose from."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.task = ""  # the folder's, from show_pairs; until then masks are drawn as classes
        self.n_classes: int | None = None  # semantic: classes in the dataset, so each keeps its colour
        self.class_names: list[str] | None = None
        self.total = 0
        self.pairs: list[tuple[str, str | None]] = []  # (image, mask) per thumbnail row
        self.loaded = 0
        self.current_row = -1
        self.current: dict | None = None  # the arrays shown large
        self.thumb_job = Background(self)
        # the large view has its own thread: it never waits behind the check and the thumbnails
        self.pair_pool = QThreadPool(self)
        self.pair_pool.setMaxThreadCount(1)
        self.pair_job = Background(self, pool=self.pair_pool)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        controls = QHBoxLayout()
        controls.setSpacing(4)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QPushButton] = {}
        for key, text, tip in (("outline", "Outlines", "The edge of every object, one colour per object or class."),
                               ("fill", "Filled", "The objects in translucent colour."),
                               ("none", "Image only", "The image without its mask.")):
            button = QPushButton(text)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.clicked.connect(lambda _c=False, key=key: self.set_mode(key))
            self.mode_group.addButton(button)
            self.mode_buttons[key] = button
            controls.addWidget(button)
        self.mode_buttons["outline"].setChecked(True)
        controls.addStretch(1)
        self.previous_button = QPushButton("◀")
        self.previous_button.setToolTip("Previous pair")
        self.previous_button.clicked.connect(lambda: self.select(self.current_row - 1))
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("Next pair")
        self.next_button.clicked.connect(lambda: self.select(self.current_row + 1))
        for b in (self.previous_button, self.next_button):
            b.setFixedWidth(36)
            controls.addWidget(b)
        layout.addLayout(controls)

        self.view = OverlayView(self, minimum=200)
        self.view.setFixedHeight(330)
        self.view.setToolTip("Click to open this pair in a larger window.")
        self.view.setCursor(Qt.PointingHandCursor)
        self.view.clicked.connect(self.enlarge)
        layout.addWidget(self.view)
        self.stack_view = StackViewer(self)  # in place of the view when the pair is a z-stack
        self.stack_view.setFixedHeight(380)
        self.stack_view.hide()
        layout.addWidget(self.stack_view)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.caption)

        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 12, THUMB + 36))
        self.list.setWordWrap(False)
        self.list.setSpacing(2)
        self.list.setFixedHeight(2 * (THUMB + 36) + 12)
        self.list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.list.currentRowChanged.connect(self._row_changed)
        layout.addWidget(self.list)
        self.legend = QLabel()
        self.legend.setObjectName("muted")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)
        self.enlarged: EnlargedPair | None = None

    # ------------------------------------------------------------ filling

    def clear(self) -> None:
        """Empty, ready for another folder."""
        self._reset()
        self.n_classes = self.view.n_classes = None
        self.class_names = None

    def _reset(self) -> None:
        self.thumb_job.cancel()
        self.pair_job.cancel()
        self.list.blockSignals(True)
        self.list.clear()
        self.list.blockSignals(False)
        self.pairs = []
        self.loaded = 0
        self.current_row = -1
        self.current = None
        self.view.clear()
        self.stack_view.clear()
        self.stack_view.hide()
        self.view.show()
        self.caption.setText("")
        self.legend.setText("")

    def show_dataset(self, dataset) -> None:
        """The Data page's examples: images without a mask first, then pairs spread over the folder."""
        samples = dataset.samples
        without = [i for i, s in enumerate(samples) if s.mask is None][:PROBLEM_PAIRS_FIRST]
        rest = [i for i in range(len(samples)) if i not in set(without)]
        chosen = without + [rest[i] for i in spread(len(rest), MAX_PAIRS - len(without))]
        pairs = [(str(samples[i].path), str(samples[i].mask) if samples[i].mask else None) for i in chosen]
        self.show_pairs(dataset.task, pairs, len(samples))

    def show_pairs(self, task: str, pairs: list[tuple[str, str | None]], total: int) -> None:
        """Thumbnails for these (image, mask) pairs, loaded in the background; the first shown large."""
        self._reset()
        self.task = task
        self.total = total
        self.pairs = list(pairs)
        placeholder = QPixmap(THUMB, THUMB)
        placeholder.fill(QColor("#e6e9ee"))
        for image, mask in self.pairs:
            item = QListWidgetItem(QIcon(placeholder), _short(Path(image).stem))  # the full name in the tooltip
            item.setToolTip(f"{Path(image).name}\nmask: {Path(mask).name if mask else 'none'}")
            item.setTextAlignment(Qt.AlignHCenter | Qt.AlignTop)
            self.list.addItem(item)
        self._show_legend()
        items = [(row, image, mask) for row, (image, mask) in enumerate(self.pairs)]
        if items:
            self.thumb_job.start(load_overlay_thumbnails, task, items, THUMB, self.n_classes,
                                 on_progress=self._thumbnail)
            self.select(0)

    def set_classes(self, names: list[str]) -> None:
        """Semantic: the dataset's classes, named in the legend; with more than two, every class keeps its
        colour in every image (the pictures are drawn again)."""
        if has_objects(self.task):  # objects have numbers, not classes
            return
        n = len(names) if len(names) > 2 else None
        self.class_names = list(names)
        if n != self.n_classes and self.pairs:
            self.n_classes = n
            self.view.n_classes = n
            row = max(self.current_row, 0)
            self.show_pairs(self.task, self.pairs, self.total)
            self.select(row)
        self._show_legend()

    def _show_legend(self) -> None:
        shown = f"{len(self.pairs)} of {self.total}" if self.total > len(self.pairs) else f"all {self.total}"
        if has_objects(self.task):
            what = "each object in its own colour"
        else:
            names = self.class_names or ["background", "foreground"]
            colours = class_colours(max(len(names), 2))
            what = ", ".join(f"<span style='color: rgb({r},{g},{b})'>■</span> {k} {_html(name)}"
                             for k, (name, (r, g, b)) in enumerate(zip(names, colours)) if k)
        self.legend.setText(f"{shown} pairs, spread over the folder; the mask is drawn on its image ({what}). "
                            "Click a pair to see it large.")

    def _thumbnail(self, result) -> None:
        row, picture, note, problem = result
        item = self.list.item(row)
        if item is None:
            return
        self.loaded += 1
        if picture is not None:
            item.setIcon(QIcon(QPixmap.fromImage(picture)))
        item.setText(f"{item.text()}\n{note}")
        if problem:
            item.setForeground(QColor(theme.LEVEL_COLOURS["error"]))

    # ------------------------------------------------------------ choosing

    def select(self, row: int) -> None:
        if not 0 <= row < len(self.pairs):
            return
        if self.list.currentRow() != row:
            self.list.setCurrentRow(row)  # comes back through _row_changed
            return
        self._row_changed(row)

    def _row_changed(self, row: int) -> None:
        if not 0 <= row < len(self.pairs) or row == self.current_row:
            return
        self.current_row = row
        self.previous_button.setEnabled(row > 0)
        self.next_button.setEnabled(row < len(self.pairs) - 1)
        image, mask = self.pairs[row]
        self.caption.setText(f"<b>{_html(Path(image).name)}</b> — loading…")
        self.pair_job.start(_load_one, self.task, image, mask, self.n_classes, on_done=self._pair_loaded,
                            on_failed=self._pair_failed)

    def _pair_loaded(self, pair: dict) -> None:
        self.current = pair
        mode = self.mode()
        self.view.mode = "outline" if mode == "none" else mode
        self.view.overlay_visible = mode != "none"
        stacked = "stack" in pair
        self.view.setVisible(not stacked)
        self.stack_view.setVisible(stacked)
        if stacked:
            self.stack_view.set_stack(pair["stack"], pair["stack_labels"], pair["voxel"], n_classes=self.n_classes)
            self.stack_view.set_view(self.view.mode, self.view.overlay_visible)
        else:
            self.view.set_arrays(pair["image"], pair["labels"], pictures=pair.get("pictures"))
        image, mask = self.pairs[self.current_row]
        colour = theme.LEVEL_COLOURS["error"] if pair["problem"] else theme.MUTED
        detail = f" — {_html(pair['error'])}" if pair.get("error") else ""
        note = f"<span style='color:{colour}'>{_html(pair['note'])}{detail}</span>"
        if mask:
            note = f"mask {_html(Path(mask).name)} · {note}"
        self.caption.setText(f"<b>{_html(Path(image).name)}</b> · {note}")

    def _pair_failed(self, error) -> None:
        self.current = None
        self.view.clear()
        message = getattr(error, "message", str(error))
        self.caption.setText(f"<span style='color:{theme.LEVEL_COLOURS['error']}'>{_html(message)}</span>")

    def set_mode(self, mode: str) -> None:
        self.mode_buttons[mode].setChecked(True)
        self._apply_mode()

    def mode(self) -> str:
        return next(k for k, b in self.mode_buttons.items() if b.isChecked())

    def _apply_mode(self) -> None:
        mode = self.mode()
        self.view.set_view(None if mode == "none" else mode, mode != "none")
        self.stack_view.set_view(None if mode == "none" else mode, mode != "none")

    def enlarge(self) -> None:
        if self.current is None or "stack" in self.current:  # a stack has its own views, at full width
            return
        image, _mask = self.pairs[self.current_row]
        mode = self.mode()
        labels = None if mode == "none" else self.current["labels"]
        self.enlarged = EnlargedPair(Path(image).name, self.current["image"], labels,
                                     "outline" if mode == "none" else mode, self.window(),
                                     pictures=self.current.get("pictures"), n_classes=self.n_classes)
        self.enlarged.show()

    def shutdown(self) -> None:
        self.thumb_job.cancel()
        self.pair_job.cancel()


def spread(n_total: int, n: int = MAX_PAIRS) -> list[int]:
    """Up to n indices spread evenly over 0..n_total-1 (not just the first files)."""
    if n_total <= n:
        return list(range(n_total))
    return sorted(set(np.linspace(0, n_total - 1, n).astype(int).tolist()))


def _short(name: str, limit: int = 12) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
