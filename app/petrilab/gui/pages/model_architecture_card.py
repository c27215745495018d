"""Model page: 'Architecture': one button per network, the chosen one's description from the model helper's
catalogue, and the U-Net's shape in words."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton

from petrilab.gui.widgets import theme
from petrilab.gui.widgets.card import Card
from petrilab.settings import CHOICES, Settings

ARCHITECTURE_CARD_STYLE = f"""
QPushButton#archCard {{ background: {theme.PANEL}; border: 1px solid {theme.BORDER}; border-radius: 6px;
                        padding: 8px 10px; text-align: left; }}
QPushButton#archCard:hover {{ border-color: {theme.ACCENT}; }}
QPushButton#archCard:checked {{ border: 2px solid {theme.ACCENT}; background: #eef4fa; font-weight: 600; }}
"""


class ArchitectureCard(Card):
    """The architectures as checkable buttons; `chosen` says which one the user clicked."""

    chosen = Signal(str)

    def __init__(self):
        super().__init__("Architecture")
        self.setStyleSheet(ARCHITECTURE_CARD_STYLE)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QPushButton] = {}
        for key in CHOICES["model.architecture"]:
            button = QPushButton(key)
            button.setMinimumWidth(60)
            button.setObjectName("archCard")
            button.setCheckable(True)
            button.setMinimumHeight(38)
            button.clicked.connect(lambda _c=False, key=key: self.chosen.emit(key))
            self.group.addButton(button)
            self.buttons[key] = button
            row.addWidget(button, 1)
        self.body.addLayout(row)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setMinimumHeight(52)
        self.text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.body.addWidget(self.text)
        self.unet_text = QLabel()  # the U-Net's shape in the workshop's words
        self.unet_text.setWordWrap(True)
        self.unet_text.setTextFormat(Qt.RichText)
        self.unet_text.hide()
        self.body.addWidget(self.unet_text)

    def check(self, architecture: str) -> None:
        for key, button in self.buttons.items():
            button.setChecked(key == architecture)

    def show_catalogue(self, catalogue: dict | None, settings: Settings, helper_note: str | None,
                       dimensions: str = "2d") -> None:
        """Which networks fit the task and the data's `dimensions` ("2d" images, "3d" z-stacks), named as the
        catalogue names them, and the chosen one's text."""
        arch = settings.model.architecture
        task = settings.task.kind
        for key, button in self.buttons.items():
            info = (catalogue or {}).get(key)
            button.setText(info["title"].split(" (")[0].removesuffix(" network") if info else key)
            # as wide as its words (the row has room for all five): never a cut name
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 34)
            fits_data = info is None or dimensions in info.get("dimensions", ["2d"])
            button.setEnabled(fits_data and (info is None or task in info.get("tasks", [task])))
            # networks for the other kind of data are not shown (the row keeps its five), unless chosen
            button.setVisible(fits_data or key == arch)
            if info:
                button.setToolTip(info["description"])
        if catalogue is None:
            self.text.setText(helper_note or "Loading the descriptions of the architectures…")
        elif arch in catalogue:
            self.text.setText(catalogue[arch]["description"])
        start_from = settings.model.start_from
        if start_from and catalogue is not None:  # the size card still describes the settings' network
            self.text.setText(
                f"Starting from the trained model {Path(start_from).name}: its own network is trained further "
                "(a run folder also brings its network settings); the output layer is replaced if your classes "
                "differ. The size shown is that of the settings' network.")
