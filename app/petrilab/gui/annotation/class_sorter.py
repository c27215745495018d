"""Sorting images into classes, one image at a time: a key per class, S to skip, U when unsure.

Multi-label folders: the keys switch labels on and off, and Enter says the image is done (with no label
at all, too). Each choice is saved at once in the background (a copy of the image, its class folder or
its row of labels.csv, then annotation.json), and the next image not yet done is shown.

With a trained run chosen (single-label folders): the class the model gives each image is marked on its
button and Enter accepts it; the images to do are numbered most useful first, and after each choice the
most useful one not done yet comes next.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from petrilab.annotation.folder import SKIPPED, SORTED, TAGGED, TO_DO, UNSURE, AnnotationFolder, Entry
from petrilab.errors import UserError
from petrilab.gui.annotation.controls import bind_keys, keep_keys_for_the_view, train_button
from petrilab.gui.annotation.hints import SORTING_KEYS, TAGGING_KEYS, hint_text
from petrilab.gui.annotation.model_runs import run_proposals
from petrilab.gui.annotation.saver import Saver
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.gui.widgets.theme import ACCENT
from petrilab.gui.widgets.overlay_view import to_qimage
from petrilab.gui.workers import Background
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
        self.model_loader = Background(self)  # a child process: the run's classes and the images' order
        self.model_run: Path | None = None
        self.proposed: dict[str, tuple[str, float]] = {}  # image name → the model's class, its probability
        self.useful: list[str] = []  # the images to do, the most useful to sort first
        self._temporary: list[Path] = []
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
            # the model's class is outlined (Enter accepts it)
            button.setStyleSheet(f"QPushButton:checked {{ background: {ACCENT}; color: white; font-weight: 600; }}"
                                 f'QPushButton[proposed="true"] {{ border: 2px solid {ACCENT}; font-weight: 600; }}')
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
        if not self.multi:
            self.model_state = QLabel("No model chosen")
            self.model_state.setWordWrap(True)
            self.model_state.setObjectName("muted")
            self.model_state.setMaximumWidth(260)
            self.model_button = QPushButton("Propose from a model…")
            self.model_button.setToolTip("Choose a run you trained on these classes: its class for each image "
                                         "is marked (Enter accepts it), and the images it is least sure about "
                                         "come first.")
            self.model_button.clicked.connect(lambda: self.choose_model())
            self.next_button = QPushButton("Next most useful image (M)")
            self.next_button.clicked.connect(self.next_useful)
            self.next_button.setEnabled(False)
            for w in (self.model_state, self.model_button, self.next_button):
                side.addWidget(w)
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
        else:
            keys |= {"Return": self.accept_proposal, "Enter": self.accept_proposal, "M": self.next_useful}
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
        text = ("" if entry.status == TO_DO else f"({entry.status})  ") + entry.name
        if entry.status == TO_DO and entry.name in self.useful:  # its place in the most-useful order
            text += f"   #{self.useful.index(entry.name) + 1}"
        return text

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
        guess = self.proposed.get(self.entry.name)
        model = f" — model: <b>{guess[0]}</b> ({guess[1]:.0%}), Enter accepts" if guess else ""
        self.caption.setText(f"<b>{self.entry.name}</b>{now}{model}")
        for button, name in zip(self.class_buttons, self.folder.classes):
            button.setProperty("proposed", bool(guess) and name == guess[0])
            button.style().unpolish(button)
            button.style().polish(button)

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

    def accept_proposal(self) -> None:
        """Enter: the image goes into the class the model gives it."""
        guess = self.proposed.get(self.entry.name) if self.entry is not None else None
        if guess is not None:
            self.choose(guess[0])

    def _go_on(self) -> None:
        folder = self.folder
        row = self._row()
        if self._most_useful() is not None:  # with a model: the most useful image not done yet
            self.show_image(self._most_useful())
            return
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

    # ------------------------------------------------------------ a model's help

    def choose_model(self, run_dir=None) -> None:
        """Use a trained run: its class for each image proposed, its uncertainty to order the images."""
        if run_dir is None:
            from PySide6.QtWidgets import QFileDialog

            run_dir = QFileDialog.getExistingDirectory(self, "Choose a run you trained (its folder under runs)")
            if not run_dir:
                return
        run_dir = Path(run_dir)
        self.saver.flush()  # the child reads which images are sorted from annotation.json
        self.model_button.setEnabled(False)
        self.model_state.setText(f"Predicting every image with the run {run_dir.name}…")
        out = Path(tempfile.mkdtemp(prefix="petrilab-proposals-"))
        self._temporary.append(out)

        def done(record):
            self.model_run = run_dir
            self.proposed = {name: (c, float(p)) for name, (c, p) in record.get("proposed", {}).items()}
            self.useful = [name for name, _ in record["order"]]
            self.model_button.setEnabled(True)
            self.model_state.setText(f"Classes proposed by the run <b>{run_dir.name}</b>; {len(self.useful)} "
                                     "images to do, numbered most useful first")
            for row, entry in enumerate(self.folder.entries):
                self.image_list.item(row).setText(self._item_text(entry))
            self.next_button.setEnabled(bool(self.useful))
            if self.entry is not None:
                self.show_image(self._row())  # its proposal now

        def failed(error):
            self.model_button.setEnabled(True)
            self.model_state.setText("No model chosen" if self.model_run is None else
                                     f"Classes proposed by the run <b>{self.model_run.name}</b>")
            self._failed(error)

        self.model_loader.start(run_proposals, run_dir, self.folder.root, out, on_done=done, on_failed=failed)

    def _most_useful(self) -> int | None:
        """The row of the most useful image not done yet, other than the one shown."""
        rows = {e.name: i for i, e in enumerate(self.folder.entries)}
        return next((rows[n] for n in self.useful if self.folder.entries[rows[n]].status == TO_DO
                     and self.folder.entries[rows[n]] is not self.entry), None)

    def next_useful(self) -> None:
        row = self._most_useful()
        if row is not None:
            self.show_image(row)
        elif self.useful:
            self.message.show_message("note", "Every image the model ranked is sorted.", None,
                                      "Train on these labels, then choose the new run to rank again.")

    def closeEvent(self, event) -> None:
        self.model_loader.cancel()
        for path in self._temporary:
            shutil.rmtree(path, ignore_errors=True)
        self.saver.stop()
        super().closeEvent(event)
