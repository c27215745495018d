"""Drawing masks, image by image: the canvas, its tools, the list of images, and saving after each stroke."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem,
                               QPushButton, QSlider, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from petrilab.annotation import editing
from petrilab.annotation.folder import SAVED, AnnotationFolder, Entry
from petrilab.annotation.proposal_files import proposals_path
from petrilab.annotation.proposal import propose
from petrilab.errors import UserError
from petrilab.gui.annotation import canvas as tools
from petrilab.gui.annotation.canvas import AnnotationCanvas
from petrilab.gui.annotation.controls import bind_keys, keep_keys_for_the_view, train_button
from petrilab.gui.annotation.hints import CLASS_KEYS, OBJECT_KEYS, SEGMENTATION_KEYS, hint_text
from petrilab.gui.annotation.model_runs import run_proposals
from petrilab.gui.annotation.outline_files import outlines_button
from petrilab.gui.annotation.saver import Saver
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.gui.widgets.overlay_view import class_colours
from petrilab.gui.widgets.theme import ACCENT
from petrilab.gui.workers import Background

TOOL_BUTTONS = [(tools.BRUSH, "Brush", "B"), (tools.ERASER, "Eraser", "E"), (tools.FILL, "Fill", "F"),
                (tools.LASSO, "Lasso", "L"), (tools.DELETE, "Delete object", "D")]

CHECKED_STYLE = (f"QToolButton {{ padding: 4px 8px; }} QToolButton:checked {{ background: {ACCENT}; color: white; "
                 "font-weight: 600; border-radius: 3px; }")


class SegmentationEditor(QWidget):
    """The masks of an annotation folder, one image at a time. Every change is saved when the stroke ends."""

    train_requested = Signal(object)  # the AnnotationFolder, every save on disk: train on it
    # the AnnotationFolder and the run whose model proposes: train again on it, starting from that run
    retrain_requested = Signal(object, object)

    def __init__(self, folder: AnnotationFolder, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder = folder
        self.entry: Entry | None = None
        self.saver = Saver(self)
        self.saver.saved.connect(self._saved)
        self.saver.failed.connect(self._save_failed)
        self.proposer = Background(self)
        self.model_loader = Background(self)  # a child process: a run's proposals and the images' order
        self.model_run: Path | None = None  # the run that proposes, once chosen
        self.proposals: Path | None = None  # where that child wrote them (a temporary folder)
        self.useful: list[str] = []  # the images not labelled yet, the most useful to correct first
        self._temporary: list[Path] = []
        self.canvas = AnnotationCanvas()
        self.canvas.stroke_finished.connect(self._save)
        self.canvas.brush_changed.connect(lambda r: self.size_box.setValue(r))
        self.canvas.picked.connect(self.pick)
        self._build()
        self._shortcuts()
        keep_keys_for_the_view(self)
        self.canvas.setFocus()
        if folder.entries:  # where the user left off: the first image not labelled yet
            self.show_image(next((i for i, e in enumerate(folder.entries) if e.status != SAVED), 0))

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        self.tool_group = QButtonGroup(self)
        tool_row = QHBoxLayout()
        self.tool_buttons: dict[str, QToolButton] = {}
        for tool, text, key in TOOL_BUTTONS:
            if tool == tools.DELETE and not self.folder.has_objects:
                continue
            button = QToolButton()
            button.setText(f"{text} ({key})")
            button.setCheckable(True)
            button.setStyleSheet(CHECKED_STYLE)  # the tool in hand must show at a glance
            button.clicked.connect(lambda _c=False, t=tool: self.set_tool(t))
            self.tool_group.addButton(button)
            self.tool_buttons[tool] = button
            tool_row.addWidget(button)
        self.tool_buttons[tools.BRUSH].setChecked(True)
        tool_row.addSpacing(12)
        if self.folder.has_objects:
            self.new_object_button = QPushButton("New object (N)")
            self.new_object_button.clicked.connect(self.new_object)
            self.object_label = QLabel()
            self.object_label.setMinimumWidth(self.object_label.fontMetrics().horizontalAdvance("drawing object 00000"))
            tool_row.addWidget(self.new_object_button)
            tool_row.addWidget(self.object_label)
        else:
            tool_row.addWidget(QLabel("Class:"))
            self.class_box = QComboBox()
            colours = class_colours(len(self.folder.classes))
            for k, name in enumerate(self.folder.classes[1:], start=1):
                swatch = QPixmap(12, 12)
                swatch.fill(QColor(*[int(v) for v in colours[k][:3]]))
                self.class_box.addItem(QIcon(swatch), f"{k} · {name}", k)
            self.class_box.currentIndexChanged.connect(lambda _i: self._set_value(self.class_box.currentData()))
            tool_row.addWidget(self.class_box)
        tool_row.addStretch(1)
        view_row = QHBoxLayout()  # second row: what changes the whole image or only how it is shown
        self.propose_button = QPushButton("Propose")
        self.propose_button.setToolTip("Replace this image's labels by a first guess (Otsu's threshold"
                                       + (", then a watershed to split touching objects" if self.folder.has_objects
                                          else "") + "). Undo brings the labels back.")
        self.propose_button.clicked.connect(lambda: self.propose())
        undo, redo = QPushButton("Undo"), QPushButton("Redo")
        undo.clicked.connect(self.canvas.undo)
        redo.clicked.connect(self.canvas.redo)
        self.model_button = QPushButton("Propose from a model…")
        self.model_button.setToolTip("Choose a run you trained: its prediction becomes the mask you correct, "
                                     "and the images it is least sure about can come first.")
        self.model_button.clicked.connect(lambda: self.choose_model())
        for w in (self.propose_button, undo, redo):
            view_row.addWidget(w)
        view_row.addSpacing(12)
        view_row.addWidget(QLabel("Brush size:"))
        self.size_box = QSpinBox()
        self.size_box.setRange(tools.SMALLEST_BRUSH, tools.LARGEST_BRUSH)
        self.size_box.setValue(self.canvas.radius)
        self.size_box.setSuffix(" px")
        self.size_box.valueChanged.connect(lambda v: v != self.canvas.radius and self.canvas.set_radius(v))
        view_row.addWidget(self.size_box)
        view_row.addSpacing(12)
        view_row.addWidget(QLabel("Contrast:"))
        self.contrast_slider = _slider(-50, 50, 0)
        self.contrast_slider.setToolTip("Brighter to the right; the middle is set from the image itself")
        self.contrast_slider.valueChanged.connect(lambda v: self.canvas.set_contrast(2 ** (-v / 25)))
        view_row.addWidget(self.contrast_slider)
        view_row.addWidget(QLabel("Labels' opacity:"))
        self.opacity_slider = _slider(0, 100, 50)
        self.opacity_slider.valueChanged.connect(lambda v: self.canvas.set_opacity(v / 100))
        view_row.addWidget(self.opacity_slider)
        fit, one = QPushButton("Fit"), QPushButton("1:1")
        fit.clicked.connect(self.canvas.fit)
        one.clicked.connect(self.canvas.one_to_one)
        view_row.addWidget(fit)
        view_row.addWidget(one)
        view_row.addStretch(1)
        self.save_state = QLabel("")
        self.save_state.setObjectName("muted")
        view_row.addWidget(self.save_state)

        self.image_list = QListWidget()
        self.image_list.setMaximumWidth(200)
        self.image_list.currentRowChanged.connect(lambda row: row >= 0 and row != self._row() and self.show_image(row))
        for entry in self.folder.entries:
            self.image_list.addItem(QListWidgetItem(self._item_text(entry)))
        self.progress = QLabel()
        self.progress.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(self.progress)
        side.addWidget(self.image_list, 1)
        self.model_state = QLabel("Proposals: classical (no model chosen)")
        self.model_state.setWordWrap(True)
        self.model_state.setObjectName("muted")
        self.model_state.setMaximumWidth(200)
        self.next_button = QPushButton("Next most useful image (M)")
        self.next_button.setToolTip("The image not labelled yet that the model is least sure about and that "
                                    "is least like those already labelled: correcting it teaches the most.")
        self.next_button.clicked.connect(self.next_useful)
        self.next_button.setEnabled(False)
        self.retrain_button = QPushButton("Retrain with my corrections…")
        self.retrain_button.setToolTip("Train again on all the labels here, starting from the chosen model "
                                       "(model.start_from); the new run records which images were corrected "
                                       "and when.")
        self.retrain_button.clicked.connect(self.retrain)
        self.retrain_button.setEnabled(False)
        side.addWidget(self.model_state)
        side.addWidget(self.model_button)  # beside what the model does, and the toolbar fits 1024 pixels
        side.addWidget(outlines_button(self))  # ImageJ and QuPath: in the side too, for the same reason
        side.addWidget(self.next_button)
        side.addWidget(train_button(self))
        side.addWidget(self.retrain_button)

        self.message = InlineMessage()
        self.hints = QLabel(hint_text(SEGMENTATION_KEYS + (OBJECT_KEYS if self.folder.has_objects else CLASS_KEYS)))
        self.hints.setWordWrap(True)
        self.hints.setObjectName("muted")

        middle = QHBoxLayout()
        middle.addLayout(side)
        middle.addWidget(self.canvas, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(tool_row)
        layout.addLayout(view_row)
        layout.addWidget(self.message)
        layout.addLayout(middle, 1)
        layout.addWidget(self.hints)
        self._update_progress()

    def _shortcuts(self) -> None:
        keys = {"B": lambda: self.set_tool(tools.BRUSH), "E": lambda: self.set_tool(tools.ERASER),
                "F": lambda: self.set_tool(tools.FILL), "L": lambda: self.set_tool(tools.LASSO),
                QKeySequence.Undo: self.canvas.undo,
                "Ctrl+Y": self.canvas.redo, "Ctrl+Shift+Z": self.canvas.redo, "PgDown": lambda: self.step(1),
                "PgUp": lambda: self.step(-1), "M": self.next_useful, "Ctrl+0": self.canvas.fit, "Ctrl+1": self.canvas.one_to_one}
        if self.folder.has_objects:
            keys |= {"N": self.new_object, "D": lambda: self.set_tool(tools.DELETE)}
        else:
            for k in range(1, min(len(self.folder.classes), 10)):
                keys[str(k)] = lambda k=k: self.class_box.setCurrentIndex(k - 1)
        bind_keys(self, keys)

    # ------------------------------------------------------------ images

    def _row(self) -> int:
        return self.folder.entries.index(self.entry) if self.entry is not None else -1

    def _item_text(self, entry: Entry) -> str:
        text = ("✓ " if entry.status == SAVED else "    ") + entry.name
        if entry.status != SAVED and entry.name in self.useful:  # its place in the most-useful order
            text += f"   #{self.useful.index(entry.name) + 1}"
        return text

    def _update_progress(self) -> None:
        n = len(self.folder.entries)
        self.progress.setText(f"<b>{self.folder.done()} of {n}</b> images labelled")
        self.train_button.setEnabled(self.folder.done() > 0)  # an empty dataset would only be refused
        self.retrain_button.setEnabled(self.folder.done() > 0 and self.model_run is not None)

    def step(self, delta: int) -> None:
        row = self._row() + delta
        if 0 <= row < len(self.folder.entries):
            self.show_image(row)

    def show_image(self, row: int) -> None:
        entry = self.folder.entries[row]
        self.message.clear()
        try:
            image = self.folder.read_image(entry)
            mask = self.folder.read_mask(entry)
        except UserError as exc:
            self.entry = entry
            self.image_list.setCurrentRow(row)
            self._show_error(exc)
            self.canvas.setEnabled(False)
            return
        self.canvas.setEnabled(True)
        if mask is not None and mask.shape != image.shape[:2]:
            self._show_error(UserError(
                f"The mask of '{entry.name}' is {mask.shape[1]} × {mask.shape[0]} pixels but the image is "
                f"{image.shape[1]} × {image.shape[0]}.", file=self.folder.mask_path(entry),
                fix="Delete the mask file to start this image again."))
            mask = None
        fresh = mask is None
        if fresh:
            mask = np.zeros(image.shape[:2], self.folder.mask_dtype)
        self.entry = entry
        self.image_list.setCurrentRow(row)
        self.canvas.set_image(image, mask, None if self.folder.has_objects else len(self.folder.classes))
        self.canvas.setFocus()  # a click in the list must not keep the keys from the image
        self._set_value(editing.next_free_label(mask) if self.folder.has_objects else self.class_box.currentData())
        self.setWindowTitle(f"Annotate — {entry.name}")
        if fresh:  # start from the classical proposal; saved only once the user changes something
            self.propose(save=False)

    def propose(self, save: bool = True) -> None:
        entry, image = self.entry, self.canvas.image
        if image is None or not self.canvas.isEnabled():
            return
        self.propose_button.setEnabled(False)
        self.save_state.setText("Proposing a first mask…")

        def done(mask):
            self.propose_button.setEnabled(True)
            self.save_state.setText("")
            # the first proposal never replaces strokes the user made while it was computed
            if self.entry is entry and (save or not self.canvas.history.done):
                self.canvas.replace_mask(mask.astype(self.folder.mask_dtype), announce=save)
                if self.folder.has_objects:
                    self._set_value(editing.next_free_label(self.canvas.mask))

        def failed(error):
            self.propose_button.setEnabled(True)
            self._show_error(error)

        made = proposals_path(self.proposals, entry.name) if self.proposals is not None else None
        if made is not None and made.is_file():  # the chosen run's prediction, made by the child process
            self.proposer.start(_read_proposal, made, on_done=done, on_failed=failed)
        else:
            self.proposer.start(propose, image, self.folder.has_objects, on_done=done, on_failed=failed)

    # ------------------------------------------------------------ a model's help

    def choose_model(self, run_dir=None) -> None:
        """Use a trained run: its predictions as proposals, its uncertainty to order the images."""
        if run_dir is None:
            run_dir = QFileDialog.getExistingDirectory(self, "Choose a run you trained (its folder under runs)")
            if not run_dir:
                return
        run_dir = Path(run_dir)
        self.saver.flush()  # the child reads which images are labelled from annotation.json
        self.model_button.setEnabled(False)
        self.model_state.setText(f"Predicting every image with the run {run_dir.name}…")
        out = Path(tempfile.mkdtemp(prefix="petrilab-proposals-"))
        self._temporary.append(out)

        def done(record):
            order = record["order"]
            self.model_run, self.proposals = run_dir, out
            self.useful = [name for name, _ in order]
            self.model_button.setEnabled(True)
            self.model_state.setText(f"Proposals from the run <b>{run_dir.name}</b>; "
                                     f"{len(self.useful)} images to do, numbered most useful first")
            for row, entry in enumerate(self.folder.entries):
                self.image_list.item(row).setText(self._item_text(entry))
            self.next_button.setEnabled(bool(self.useful))
            self._update_progress()

        def failed(error):
            self.model_button.setEnabled(True)
            self.model_state.setText("Proposals: classical (no model chosen)" if self.model_run is None else
                                     f"Proposals from the run <b>{self.model_run.name}</b>")
            self._show_error(error)

        self.model_loader.start(run_proposals, run_dir, self.folder.root, out, on_done=done, on_failed=failed)

    def next_useful(self) -> None:
        """Show the most useful image not labelled yet (other than the one shown)."""
        by_name = {e.name: i for i, e in enumerate(self.folder.entries)}
        for name in self.useful:
            row = by_name[name]
            if self.folder.entries[row].status != SAVED and self.folder.entries[row] is not self.entry:
                self.show_image(row)
                return
        self.message.show_message("note", "Every image the model ranked is labelled.", None,
                                  "Retrain with your corrections, then choose the new run to rank again.")

    def retrain(self) -> None:
        if self.model_run is None:
            return
        self.saver.flush()
        self.retrain_requested.emit(self.folder, self.model_run)

    # ------------------------------------------------------------ tools

    def set_tool(self, tool: str) -> None:
        self.canvas.tool = tool
        if tool in self.tool_buttons:
            self.tool_buttons[tool].setChecked(True)
        self.canvas._show_ring(None)

    def _set_value(self, value) -> None:
        if value is None:
            return
        self.canvas.value = int(value)
        if self.folder.has_objects:  # the object's own colour beside its number
            self.object_label.setText(f'<span style="color: {self.canvas.colour_of(int(value))}">■</span> '
                                      f"drawing object {int(value)}")

    def pick(self, value: int) -> None:
        """Right click: draw on with the object (or class) under the mouse; on background, nothing changes."""
        if value == 0:
            return
        if self.folder.has_objects:
            self._set_value(value)
        else:
            self.class_box.setCurrentIndex(value - 1)
        if self.canvas.tool not in (tools.BRUSH, tools.FILL, tools.LASSO):
            self.set_tool(tools.BRUSH)

    def new_object(self) -> None:
        if self.canvas.mask is not None:
            self._set_value(editing.next_free_label(self.canvas.mask))
            if self.canvas.tool not in (tools.BRUSH, tools.FILL, tools.LASSO):
                self.set_tool(tools.BRUSH)

    # ------------------------------------------------------------ saving

    def _save(self) -> None:
        if not self.canvas.isEnabled():  # the image shown could not be opened: nothing of it to save
            return
        entry, mask, folder = self.entry, self.canvas.mask.copy(), self.folder
        self.save_state.setText("Saving…")
        self.saver.submit(entry.name, lambda: folder.save_mask(entry, mask))

    def _saved(self, name: str) -> None:
        row = next(i for i, e in enumerate(self.folder.entries) if e.name == name)
        self.image_list.item(row).setText(self._item_text(self.folder.entries[row]))
        self._update_progress()
        self.save_state.setText("All changes saved")

    def _save_failed(self, error: UserError) -> None:
        self.save_state.setText("Not saved")
        self._show_error(error)

    def _show_error(self, error) -> None:
        self.message.show_message("error", error.message, error.file, error.fix)

    def closeEvent(self, event) -> None:
        self.proposer.cancel()  # a proposal still computing has no window to go to
        self.model_loader.cancel()
        for path in self._temporary:
            shutil.rmtree(path, ignore_errors=True)
        self.saver.stop()
        super().closeEvent(event)


def _read_proposal(path: Path) -> np.ndarray:
    import tifffile

    return tifffile.imread(path)


def _slider(low: int, high: int, value: int) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setValue(value)
    slider.setMaximumWidth(110)
    return slider
