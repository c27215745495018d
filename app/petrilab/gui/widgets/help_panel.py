"""The side panel that explains the control the user is on, from its setting's declaration (petrilab.help)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from petrilab.help import explanation, label as label_of


class HelpPanel(QFrame):
    """Shows the label and explanation of one settings key; `show_key` changes it."""

    def __init__(self, intro: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("card")
        self.intro = intro
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(6)
        self.heading = QLabel()
        self.heading.setObjectName("sectionTitle")
        self.heading.setWordWrap(True)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setObjectName("helpBody")
        self.key_label = QLabel()
        self.key_label.setObjectName("muted")
        self.key_label.setWordWrap(True)
        layout.addWidget(self.heading)
        layout.addWidget(self.body)
        layout.addWidget(self.key_label)
        layout.addStretch(1)
        self.current_key: str | None = None
        self.show_intro()

    def show_intro(self) -> None:
        self.current_key = None
        self.heading.setText("What does this do?")
        self.body.setText(self.intro or "Click or hover over a setting to read what it does and when to change it.")
        self.key_label.setText("")

    def show_key(self, key: str) -> None:
        label, text = label_of(key), explanation(key)
        self.current_key = key
        self.heading.setText(label)
        self.body.setText(text)
        self.key_label.setText(f"In the settings file: {key}")


class HelpBinder(QObject):
    """Gives controls their tooltip and shows their help in the panel when focused or hovered."""

    def __init__(self, panel: HelpPanel):
        super().__init__(panel)
        self.panel = panel
        self._keys: dict[QObject, str] = {}

    def bind(self, widget: QWidget, key: str, *also: QWidget) -> None:
        label, text = label_of(key), explanation(key)
        for w in (widget, *also):
            w.setToolTip(f"<b>{label}</b><br>{text}")
            w.installEventFilter(self)
            self._keys[w] = key
            # spin boxes and combo boxes have inner editors that take the focus
            for child in w.findChildren(QWidget):
                child.installEventFilter(self)
                self._keys[child] = key

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.FocusIn, QEvent.Enter) and watched in self._keys:
            self.panel.show_key(self._keys[watched])
        return False
