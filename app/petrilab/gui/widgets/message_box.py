"""An inline, plain-language message (error, warning or note) shown on a page instead of a pop-up."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

STYLES = {
    "error": ("#fdecea", "#c62828", "#5f1111"),
    "warning": ("#fff4e0", "#e0a030", "#5a3b00"),
    "note": ("#e8f1fb", "#5c8fd6", "#0d2f5a"),
    "success": ("#e6f4ea", "#4caf50", "#1b4d1e"),
}


class InlineMessage(QFrame):
    """A coloured box with a message, the file concerned and what to do; hidden when empty.

    Technical details (a log's last lines) are for whoever supports PetriLab, not for the user: they stay
    folded behind "Show details", and "Copy details" puts them on the clipboard for a report."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inlineMessage")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_text = QPlainTextEdit()
        self.details_text.setReadOnly(True)
        self.details_text.setMaximumHeight(140)
        self.details_text.hide()
        self.show_details_button = QPushButton("Show details")
        self.show_details_button.setCheckable(True)
        self.show_details_button.toggled.connect(self._toggle_details)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy the message and the technical details, to paste into an e-mail "
                                    "to whoever supports PetriLab")
        self.copy_button.clicked.connect(self.copy_details)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.show_details_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        self.details_row = QWidget()
        self.details_row.setLayout(buttons)
        self.details_row.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.label)
        layout.addWidget(self.details_row)
        layout.addWidget(self.details_text)
        self.kind = ""
        self._shown: tuple | None = None
        self.hide()

    def show_message(self, kind: str, message: str, file: str | None = None, fix: str | None = None,
                     details: str | None = None) -> None:
        shown = (kind, message, file, fix, details)
        if shown == self._shown:
            return  # the same message again (pages refresh often): restyling costs a relayout
        self._shown = shown
        background, border, text = STYLES.get(kind, STYLES["note"])
        self.kind = kind
        self.setStyleSheet(f"#inlineMessage {{ background: {background}; border: 1px solid {border}; "
                           f"border-radius: 6px; }} QLabel {{ color: {text}; }}")
        parts = [f"<b>{html.escape(message)}</b>"]
        if file:
            parts.append(f"File: {html.escape(str(file))}")
        if fix:
            parts.append(f"What to do: {html.escape(fix)}")
        self.label.setText("<br>".join(parts))
        self.details_text.setPlainText(details or "")
        self.show_details_button.setChecked(False)
        self.details_row.setVisible(bool(details))
        self.show()

    def _toggle_details(self, shown: bool) -> None:
        self.details_text.setVisible(shown)
        self.show_details_button.setText("Hide details" if shown else "Show details")

    def copy_details(self) -> str:
        """The whole message as plain text, details included, on the clipboard (also returned)."""
        if self._shown is None:
            return ""
        kind, message, file, fix, details = self._shown
        lines = [message]
        if file:
            lines.append(f"File: {file}")
        if fix:
            lines.append(f"What to do: {fix}")
        if details:
            lines += ["", "Details:", details]
        text = "\n".join(lines)
        QGuiApplication.clipboard().setText(text)
        return text

    def clear(self) -> None:
        if self._shown is None and self.isHidden():
            return
        self._shown = None
        self.kind = ""
        self.label.clear()
        self.details_text.clear()
        self.details_row.hide()
        self.details_text.hide()
        self.hide()

    def text(self) -> str:
        return self.label.text()
