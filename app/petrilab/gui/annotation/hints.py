"""What the annotation windows share: the line of keyboard hints under each view (written once), which
controls may take the keys, and the button that hands the labels to the main window for training."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QComboBox, QPushButton, QWidget

SEGMENTATION_KEYS = [
    ("B", "brush"), ("E", "eraser"), ("F", "fill"), ("L", "lasso (draw round, release to fill)"),
    ("[ ]", "brush size (or Ctrl + wheel)"),
    ("wheel", "zoom"), ("Space + drag", "move (or middle button)"), ("Ctrl+0", "fit"), ("Ctrl+1", "1:1"),
    ("Ctrl+Z / Ctrl+Y", "undo / redo"), ("PgUp / PgDn", "previous / next image"),
]
OBJECT_KEYS = [("N", "new object"), ("right click", "draw on with that object"), ("D", "delete object (click it)")]
CLASS_KEYS = [("1–9", "class"), ("right click", "take the class under the mouse")]
TAGGING_KEYS = [("1–9", "label on / off"), ("Enter", "done, next image"), ("S", "skip"), ("U", "unsure"),
                ("← →", "previous / next image")]
SORTING_KEYS = [("1–9", "put in class"), ("S", "skip"), ("U", "unsure"), ("← →", "previous / next image")]


def hint_text(keys: list[tuple[str, str]]) -> str:
    """Rich text: each key in bold, then what it does, separated by dots (the label word-wraps)."""
    return "  ·  ".join(f"<b>{key}</b> {what}" for key, what in keys)


def keep_keys_for_the_view(widget: QWidget) -> None:
    """Buttons, sliders and lists never keep the keyboard: Space (pan) or Enter would press the last button
    clicked again, and the arrow keys would move a slider, instead of reaching the image."""
    for child in widget.findChildren(QWidget):
        if isinstance(child, (QAbstractButton, QAbstractSlider, QComboBox)):
            child.setFocusPolicy(Qt.FocusPolicy.NoFocus)


def train_button(window: QWidget) -> QPushButton:
    """"Train on these labels": waits for every save, then emits the window's `train_requested` with its
    folder (the main window makes it the experiment's data folder)."""
    button = QPushButton("Train on these labels…")
    button.setToolTip("Make this annotation folder the data folder of the experiment in the main window, "
                      "with its task, and go to the Data page.")

    def hand_over() -> None:
        window.saver.flush()
        window.train_requested.emit(window.folder)

    button.clicked.connect(hand_over)
    window.train_button = button
    return button
