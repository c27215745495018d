"""Sorting images into classes, one image at a time: a key per class, S to skip, U when unsure.

Multi-label folders: the keys switch labels on and off, and Enter says the image is done (with no label
at all, too). Each choice is saved at once in the background (a copy of the image, its class folder or
its row of labels.csv, then annotation.json), and the next image not yet done is shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from petrilab.annotation.folder import SKIPPED, SORTED, TAGGED, TO_DO, UNSURE, AnnotationFolder, Entry
from petrilab.errors import UserError
from petrilab.gui.annotation.controls import bind_keys, keep_keys_for_the_view, train_button
from petrilab.gui.annotation.hints import SORTING_KEYS, TAGGING_KEYS, hint_text
from petrilab.gui.annotation.saver import Saver
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.gui.widgets.theme import ACCENT
from petrilab.gui.widgets.overlay_view import to_qimage
from petrilab.prediction.overlay import display_image


class ClassSorter(QWidget):
    train_requested = Signal(object)  # the AnnotationFolder, every choice on disk: train on it

    def __init__(self, folder: AnnotationFolder, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder = folder
        self.multi = folder.multi_label  # labels switched on and off, then Enter; else one key sorts
        self.entry: Entry | None = None
        self.saver = Saver(self)
        self.saver.saved.connect(self._saved)
        self.saver.failed.connect(self._failed)
        self._pixmap: QPixmap | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the keys sort, whatever was clicked last
        self._build()
        self._shortcuts()
        keep_keys_for_the_view(self)
        if folder.entries:
            self.show_image(self._next_to_do(-1) if self._next_to_do(-1) is not None else 0)

    def _build(self) -> None:
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(200, 200)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setStyleSheet("background: #20242a;")
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        buttons = QGridLayout()
        self.class_buttons: list[QPushButton] = []
        per_row = 5
        for k, name in enumerate(self.folder.classes):  # keys for the first nine, a button for every one
            button = QPushButton(f"{k + 1}  {name}" if k < 9 else name)
            button.setCheckable(self.multi)
            # a label switched on must show at a glance
            button.setStyleSheet(f"QPushButton:checked {{ background: {ACCENT}; color: white; font-weight: 600; }}")
            button.clicked.connect(lambda _c=False, n=name: self.choose(n, from_button=True))
            buttons.addWidget(button, k // per_row, k % per_row)
            self.class_buttons.append(button)
        last = (len(self.folder.classes) - 1) // per_row + 1
        for k, (choice, text) in enumerate([(SKIPPED, "S  skip"), (UNSURE, "U  unsure")]):
            button = QPushButton(text)
            button.clicked.connect(lambda _c=False, c=choice: self.choose(c))
            buttons.addWidget(button, last, k)
        if self.multi:
            self.done_button = QPushButton("Enter  done: these labels, next image")
            self.done_button.setObjectName("primary")
            self.done_button.clicked.connect(self.confirm)
            buttons.addWidget(self.done_button, last, 2, 1, 3)
        self.image_list = QListWidget()
        self.image_list.setMaximumWidth(260)
        for entry in self.folder.entries:
            self.image_list.addItem(QListWidgetItem(self._item_text(entry)))
        self.image_list.currentRowChanged.connect(lambda row: row >= 0 and row != self._row() and self.show_image(row))
        self.progress = QLabel()
        self.message = InlineMessage()
        self.save_state = QLabel("")
        self.save_state.setObjectName("muted")
        self.hints = QLabel(hint_text(TAGGING_KEYS if self.multi else SORTING_KEYS))
        self.hints.setWordWrap(True)
        self.hints.setObjectName("muted")

        side = QVBoxLayout()
        side.addWidget(self.progress)
        side.addWidget(self.image_list, 1)
        side.addWidget(train_button(self))
        main = QVBoxLayout()
        main.addWidget(self.picture, 1)
        main.addWidget(self.caption)
        main.addLayout(buttons)
        middle = QHBoxLayout()
        middle.addLayout(side)
        middle.addLayout(main, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(middle, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.hints, 1)
        bottom.addWidget(self.save_state)
        layout.addLayout(bottom)
        self._update_progress()

    def _shortcuts(self) -> None:
        keys = {str(k + 1): (lambda n=name: self.choose(n)) for k, name in enumerate(self.folder.classes[:9])}
        keys |= {"S": lambda: self.choose(SKIPPED), "U": lambda: self.choose(UNSURE),
                 "Right": lambda: self.step(1), "Left": lambda: self.step(-1)}
        if self.multi:
            keys |= {"Return": self.confirm, "Enter": self.confirm}
        bind_keys(self, keys)

    # ------------------------------------------------------------ images

    def _row(self) -> int:
        return self.folder.entries.index(self.entry) if self.entry is not None else -1

    def _item_text(self, entry: Entry) -> str:
        # what was chosen first, so a narrow list still shows it
        if entry.status == SORTED:
            return f"[{entry.label}]  {entry.name}"
        if entry.status == TAGGED:
            return f"[{', '.join(entry.tags) or 'no label'}]  {entry.name}"
        return ("" if entry.status == TO_DO else f"({entry.status})  ") + entry.name

    def _update_progress(self) -> None:
        self.progress.setText(f"<b>{self.folder.done()} of {len(self.folder.entries)}</b> images "
                              + ("labelled" if self.multi else "sorted"))
        self.train_button.setEnabled(self.folder.done() > 0)  # an empty dataset would only be refused

    def _next_to_do(self, after: int) -> int | None:
        return next((i for i in range(after + 1, len(self.folder.entries))
                     if self.folder.entries[i].status == TO_DO), None)

    def step(self, delta: int) -> None:
        row = self._row() + delta
        if 0 <= row < len(self.folder.entries):
            self.show_image(row)

    def show_image(self, row: int) -> None:
        self.entry = self.folder.entries[row]
        self.image_list.setCurrentRow(row)
        self.message.clear()
        try:
            image = self.folder.read_image(self.entry)
        except UserError as exc:
            self._pixmap = None
            self.picture.clear()
            self._failed(exc)
        else:
            self._pixmap = QPixmap.fromImage(to_qimage(display_image(image)))
            self._fit_picture()
        for button, name in zip(self.class_buttons, self.folder.classes):
            button.setChecked(self.multi and name in (self.entry.tags or []))
        chosen = {SORTED: self.entry.label, TAGGED: ", ".join(self.entry.tags or []) or "no label"}.get(
            self.entry.status, self.entry.status)
        now = f" — now: {chosen}" if self.entry.status != TO_DO else ""
        self.caption.setText(f"<b>{self.entry.name}</b>{now}")

    def _fit_picture(self) -> None:
        if self._pixmap is not None:
            size = self.picture.size()
            mode = (Qt.TransformationMode.FastTransformation if self._pixmap.width() < size.width()
                    else Qt.TransformationMode.SmoothTransformation)  # small images: pixels, not blur
            self.picture.setPixmap(self._pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_picture()

    # ------------------------------------------------------------ choosing

    def choose(self, choice: str, from_button: bool = False) -> None:
        """Put the image shown into class `choice` (or skip it, or mark it unsure), then show the next one.
        Multi-label: a label switches on or off (a button's click has already switched it)."""
        entry, folder = self.entry, self.folder
        if entry is None:
            return
        if self.multi and choice in folder.classes:
            if not from_button:
                button = self.class_buttons[folder.classes.index(choice)]
                button.setChecked(not button.isChecked())
            return
        self.save_state.setText("Saving…")
        self.saver.submit(entry.name, lambda: folder.sort(entry, choice))
        self._go_on()

    def confirm(self) -> None:
        """Multi-label: the image has the labels switched on (perhaps none); saved, then the next image."""
        entry, folder = self.entry, self.folder
        if entry is None:
            return
        tags = [name for button, name in zip(self.class_buttons, folder.classes) if button.isChecked()]
        self.save_state.setText("Saving…")
        self.saver.submit(entry.name, lambda: folder.tag(entry, tags))
        self._go_on()

    def _go_on(self) -> None:
        folder = self.folder
        row = self._row()
        following = self._next_to_do(row)
        if following is not None:
            self.show_image(following)
        elif row + 1 < len(folder.entries):
            self.show_image(row + 1)

    def _saved(self, name: str) -> None:
        row = next(i for i, e in enumerate(self.folder.entries) if e.name == name)
        self.image_list.item(row).setText(self._item_text(self.folder.entries[row]))
        self._update_progress()
        self.save_state.setText("All choices saved")

    def _failed(self, error: UserError) -> None:
        self.save_state.setText("")
        self.message.show_message("error", error.message, error.file, error.fix)

    def closeEvent(self, event) -> None:
        self.saver.stop()
        super().closeEvent(event)
