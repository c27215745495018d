"""An inline, plain-language message (error, warning or note) shown on a page instead of a pop-up."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

STYLES = {
    "error": ("#fdecea", "#c62828", "#5f1111"),
    "warning": ("#fff4e0", "#e0a030", "#5a3b00"),
    "note": ("#e8f1fb", "#5c8fd6", "#0d2f5a"),
    "success": ("#e6f4ea", "#4caf50", "#1b4d1e"),
}


class InlineMessage(QFrame):
    """A coloured box with a message, the file concerned and what to do; hidden when empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inlineMessage")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.label)
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
        if details:
            parts.append(f"<pre style='font-size: 10px'>{html.escape(details)}</pre>")
        self.label.setText("<br>".join(parts))
        self.show()

    def clear(self) -> None:
        if self._shown is None and self.isHidden():
            return
        self._shown = None
        self.kind = ""
        self.label.clear()
        self.hide()

    def text(self) -> str:
        return self.label.text()
