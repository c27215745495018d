"""What both annotation windows do with their controls: which may take the keyboard, and the button that
hands the labels to the main window for training."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QComboBox, QPushButton, QWidget


def bind_keys(widget: QWidget, keys: dict) -> None:
    """Each key (a QKeySequence or its text) calls its slot while the window of `widget` has the focus."""
    for key, slot in keys.items():
        shortcut = QShortcut(QKeySequence(key), widget)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(slot)


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
