"""The contract every wizard page follows."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from petrilab.gui.context import AppContext


class WizardPage(QWidget):
    key = ""  # "task", "data", "split", "model", "train", "evaluate", "predict"
    title = ""  # shown in the step list and as the page heading

    validity_changed = Signal()  # problem() may give another answer now

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context

    def enter(self) -> None:
        """Called each time the page is shown: refresh the controls from context.settings."""

    def problem(self) -> str | None:
        """Why the user cannot go on yet, in plain words; None when the page is complete."""
        return None
