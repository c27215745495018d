"""The augmentation question, asked once in plain words with a picture (Model page, Augmentation tab).

One of the user's own images beside its flipped and turned copies (numpy flips of the pixels: the window
never loads Keras), and "Would these still be *elongated*?" with the class the image belongs to. The answer
is augmentation.geometric (yes | no | auto: a short probe decides when training starts). For regression
each value in targets.csv gets its kind instead (data.target_kinds): unchanged by flips and turns, a
position x or y that moves with the image, an angle, or something else; a value left on "decide for me"
is decided by the probe. Segmentation never asks: its masks are flipped and turned with the images.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFormLayout, QFrame, QHBoxLayout, QLabel, QRadioButton,
                               QVBoxLayout, QWidget)

from petrilab.gui.widgets import theme
from petrilab.settings import declared
from petrilab.tasks import PER_IMAGE_TASKS as ASKED_TASKS, TASKS  # a mask moves with its image: never asked

PICTURE_SIZE = 84
COPIES = (("as it is", lambda a: a), ("flipped left–right", np.fliplr), ("flipped upside down", np.flipud),
          ("turned a quarter", np.rot90))
ANSWERS = (("yes", "Yes: flipped or turned, it is still the same"),
           ("no", "No: it can become another answer (a 6 and a 9)"),
           ("auto", "Not sure: let PetriLab test it when training starts"))


def copies_of(image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The image as it is and its flipped and turned copies (8-bit grey or RGB arrays)."""
    return [(words, np.ascontiguousarray(make(image))) for words, make in COPIES]


class AugmentationQuestion(QObject):
    """A card with the picture and the question; `changed(key, value)` writes the answer."""

    changed = Signal(str, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.widget = QFrame()
        self.widget.setObjectName("card")
        layout = QVBoxLayout(self.widget)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        self.question = QLabel()
        self.question.setWordWrap(True)
        self.question.setTextFormat(Qt.RichText)
        self.question.setStyleSheet("font-size: 14px; font-weight: 600;")
        layout.addWidget(self.question)
        self.picture_row = QHBoxLayout()
        self.picture_row.setSpacing(10)
        self.pictures: list[QLabel] = []
        for words, _ in COPIES:
            cell = QVBoxLayout()
            picture = QLabel()
            picture.setFixedSize(PICTURE_SIZE, PICTURE_SIZE)
            picture.setAlignment(Qt.AlignCenter)
            picture.setStyleSheet(f"border: 1px solid {theme.BORDER}; background: #111;")
            caption = QLabel(words)
            caption.setObjectName("muted")
            caption.setAlignment(Qt.AlignHCenter | Qt.AlignTop)
            caption.setWordWrap(True)
            caption.setFixedWidth(PICTURE_SIZE)
            cell.addWidget(picture)
            cell.addWidget(caption)
            self.picture_row.addLayout(cell)
            self.pictures.append(picture)
        self.picture_row.addStretch(1)
        layout.addLayout(self.picture_row)
        self.source = QLabel()
        self.source.setObjectName("muted")
        self.source.setWordWrap(True)
        layout.addWidget(self.source)
        # classification, multi-label: one answer
        self.answers = QWidget()
        answers_layout = QVBoxLayout(self.answers)
        answers_layout.setContentsMargins(0, 0, 0, 0)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for value, words in ANSWERS:
            button = QRadioButton(words)
            self.group.addButton(button)
            self.buttons[value] = button
            answers_layout.addWidget(button)
            button.toggled.connect(lambda on, value=value: on and self._answer(value))
        layout.addWidget(self.answers)
        # regression: one kind per value
        self.kinds_box = QWidget()
        self.kinds_form = QFormLayout(self.kinds_box)
        self.kinds_form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.kinds_form.setContentsMargins(0, 0, 0, 0)
        self.kind_combos: dict[str, QComboBox] = {}
        layout.addWidget(self.kinds_box)
        self._loading = False
        self._kinds: dict[str, str] = {}

    # ------------------------------------------------------------ showing

    def show_for(self, settings, image: np.ndarray | None, image_name: str = "", answer_name: str = "",
                 columns: list[str] | None = None) -> None:
        """Show the question for these settings, with `image` (8-bit display array) of class `answer_name`;
        `columns`: the table's values (data.target_columns, or all the checked table's columns)."""
        task = settings.task.kind
        self.widget.setVisible(task in ASKED_TASKS)
        if task not in ASKED_TASKS:
            return
        self._loading = True
        try:
            self._show_pictures(image)
            regression = TASKS[task].has_targets
            self.answers.setVisible(not regression)
            self.kinds_box.setVisible(regression)
            if regression:
                self.question.setText("What happens to each value when the image is flipped or turned?")
                self._show_kinds(list(settings.data.target_columns or columns or []),
                                 dict(settings.data.target_kinds))
            else:
                named = f"<i>{answer_name}</i>" if answer_name else "the same"
                self.question.setText(f"Would these still be {named}?" if TASKS[task].answer == "class" else
                                      f"Would these still show the same labels ({answer_name or 'the labels'})?")
                self.buttons[settings.augmentation.geometric].setChecked(True)
            self.source.setText(f"One of your images ({image_name}) and its flipped and turned copies, as "
                                "training would show them." if image is not None else
                                "Check the image folder on the Data page to see one of your images here.")
        finally:
            self._loading = False

    def _show_pictures(self, image: np.ndarray | None) -> None:
        from petrilab.gui.workers import to_qimage

        for picture, (_, copy) in zip(self.pictures, copies_of(image) if image is not None else [(None, None)] * 4):
            if copy is None:
                picture.clear()
                continue
            pixmap = QPixmap.fromImage(to_qimage(copy))
            picture.setPixmap(pixmap.scaled(PICTURE_SIZE - 2, PICTURE_SIZE - 2, Qt.KeepAspectRatio,
                                            Qt.SmoothTransformation))

    def _show_kinds(self, columns: list[str], kinds: dict[str, str]) -> None:
        self._kinds = {c: k for c, k in kinds.items() if c in columns} if columns else dict(kinds)
        if list(self.kind_combos) != columns:
            while self.kinds_form.rowCount():
                self.kinds_form.removeRow(0)
            self.kind_combos = {}
            for column in columns:
                combo = QComboBox()
                for kind, words in declared("data.target_kinds").words.items():
                    combo.addItem(words, kind)
                combo.currentIndexChanged.connect(lambda _i, column=column: self._kind_chosen(column))
                self.kind_combos[column] = combo
                self.kinds_form.addRow(QLabel(f"'{column}' is"), combo)
        if not columns:
            self.question.setText("Check the data on the Data page: each value in targets.csv then gets its "
                                  "own question here.")
        for column, combo in self.kind_combos.items():
            combo.setCurrentIndex(max(0, combo.findData(kinds.get(column, ""))))

    # ------------------------------------------------------------ answering

    def _answer(self, value: str) -> None:
        if not self._loading:
            self.changed.emit("augmentation.geometric", value)

    def answer(self, value: str) -> None:
        """Choose an answer as the user would (yes | no | auto)."""
        self.buttons[value].setChecked(True)

    def _kind_chosen(self, column: str) -> None:
        if self._loading:
            return
        kind = self.kind_combos[column].currentData()
        if kind:
            self._kinds[column] = kind
        else:
            self._kinds.pop(column, None)
        self.changed.emit("data.target_kinds", dict(self._kinds))

    def choose_kind(self, column: str, kind: str) -> None:
        combo = self.kind_combos[column]
        combo.setCurrentIndex(combo.findData(kind))
