"""The white panel with a heading that the Data, Split and Model pages are built of."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout


class Card(QFrame):
    """A white panel with a heading; fill `body` below it."""

    def __init__(self, title: str):
        super().__init__()
        self.setObjectName("card")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(14, 12, 14, 12)
        self.body.setSpacing(8)
        self.heading = QLabel(title)
        self.heading.setObjectName("sectionTitle")
        self.body.addWidget(self.heading)


def card(title: str) -> tuple[QFrame, QVBoxLayout]:
    """A white panel with a heading; returns it and the layout to fill."""
    frame = Card(title)
    return frame, frame.body
