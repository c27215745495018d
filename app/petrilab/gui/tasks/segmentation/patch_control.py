"""The control for data.patch_size: "from the data" (an empty list) or a height × width in pixels.

Writes exactly data.patch_size through the SettingControl contract: [] when
"from the data" is ticked, else [height, width]. `set_resolved` shows what
"from the data" becomes for the folder checked on the data page.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from petrilab import help as help_texts
from petrilab.gui.widgets.setting_controls import SettingControl
from petrilab.settings import RANGES
from petrilab.tasks.segmentation.masks import DEFAULT_PATCH, PATCH_STEP

KEY = "data.patch_size"


class PatchSizeControl(SettingControl):
    def __init__(self):
        box = QWidget()
        h = QHBoxLayout(box)
        h.setContentsMargins(0, 0, 0, 0)
        h.setSpacing(6)
        self.from_data = QCheckBox("from the data")
        self.height, self.width = QSpinBox(), QSpinBox()
        for spin in (self.height, self.width):
            spin.setRange(*RANGES[KEY])
            spin.setSingleStep(PATCH_STEP)
            spin.setKeyboardTracking(False)
            spin.setSuffix(" px")
            spin.setMinimumWidth(90)
            spin.setValue(DEFAULT_PATCH)
        self.times = QLabel("×")
        self.resolved = QLabel()
        self.resolved.setObjectName("muted")
        h.addWidget(self.from_data)
        h.addWidget(self.height)
        h.addWidget(self.times)
        h.addWidget(self.width)
        h.addWidget(self.resolved)
        h.addStretch(1)
        super().__init__(KEY, box, self.from_data)
        tip = help_texts.explanation(KEY)
        for w in (box, self.from_data, self.height, self.width):
            w.setToolTip(tip)
        self.from_data.toggled.connect(self._toggled)
        self.height.valueChanged.connect(self._sizes)
        self.width.valueChanged.connect(self._sizes)
        self._resolved: list[int] | None = None
        self._show_enabled()

    def _toggled(self, checked: bool) -> None:
        self._show_enabled()
        self._emit([] if checked else [int(self.height.value()), int(self.width.value())])

    def _sizes(self, _value) -> None:
        if not self.from_data.isChecked():
            self._emit([int(self.height.value()), int(self.width.value())])

    def _show(self, value) -> None:
        value = list(value or [])
        self.from_data.setChecked(not value)
        if value:
            self.height.setValue(int(value[0]))
            self.width.setValue(int(value[1]))
        elif self._resolved:  # unticking then starts from what the data gave
            self.height.setValue(self._resolved[0])
            self.width.setValue(self._resolved[1])
        self._show_enabled()

    def set_resolved(self, side: list[int] | None) -> None:
        """What 'from the data' is for the checked folder (None: not known yet)."""
        self._resolved = list(side) if side else None
        if self._resolved and self.from_data.isChecked():
            self._loading = True
            try:
                self.height.setValue(self._resolved[0])
                self.width.setValue(self._resolved[1])
            finally:
                self._loading = False
        self._show_enabled()

    def _show_enabled(self) -> None:
        automatic = self.from_data.isChecked()
        for w in (self.height, self.times, self.width):
            w.setVisible(not automatic or self._resolved is not None)
            w.setEnabled(not automatic)
        if automatic:
            self.resolved.setText("" if self._resolved else "(the data page's check decides)")
        else:
            self.resolved.setText("")
