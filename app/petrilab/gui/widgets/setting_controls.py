"""One control per settings key, built from the key's declaration, each writing exactly its key.

`make_control(key)` returns a `SettingControl`: the widget, how to show a
value in it, and a `changed` signal carrying the value to write. Pages wire
`changed` to `context.set_value(key, value)`; the tests set each widget and
check that the key changed.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout,
                               QLabel, QLineEdit, QMenu, QPushButton, QSpinBox, QWidget)

from petrilab.settings import Settings, declared, get_value

# Everything a control shows (its label, help, choices and the words for them, range, steps) is declared on
# the setting's field (settings_data.py, settings_training.py); this module only turns it into a widget.


class SettingControl(QObject):
    """A widget for one settings key."""

    changed = Signal(str, object)  # key, value to write

    def __init__(self, key: str, widget: QWidget, editor: QWidget | None = None):
        super().__init__(widget)
        self.key = key
        self.widget = widget  # what goes into the form
        self.editor = editor or widget  # what the user types or clicks in
        self._loading = False

    def show_value(self, value) -> None:
        self._loading = True
        try:
            self._show(value)
        finally:
            self._loading = False

    def _emit(self, value) -> None:
        if not self._loading:
            self.changed.emit(self.key, value)

    def _show(self, value) -> None:  # overridden
        raise NotImplementedError


class _Bool(SettingControl):
    def __init__(self, key: str):
        box = QCheckBox(declared(key).label)
        super().__init__(key, box)
        box.toggled.connect(lambda v: self._emit(bool(v)))

    def _show(self, value) -> None:
        self.widget.setChecked(bool(value))


class _Choice(SettingControl):
    def __init__(self, key: str, choices, editable: bool = False):
        combo = QComboBox()
        words = declared(key).words
        for choice in choices:
            combo.addItem(str(words.get(choice, choice)), choice)
        combo.setEditable(editable)
        super().__init__(key, combo)
        combo.currentIndexChanged.connect(lambda i: self._emit(combo.itemData(i)))
        if editable:  # e.g. a path to a weights file
            combo.lineEdit().editingFinished.connect(self._typed)

    def _typed(self) -> None:
        combo = self.widget
        text = combo.currentText().strip()
        index = combo.findText(text)
        self._emit(combo.itemData(index) if index >= 0 else text)

    def _show(self, value) -> None:
        index = self.widget.findData(value)
        if index >= 0:
            self.widget.setCurrentIndex(index)
        elif self.widget.isEditable():
            self.widget.setEditText(str(value))


class _Int(SettingControl):
    def __init__(self, key: str, low: int, high: int):
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setStepType(QAbstractSpinBox.AdaptiveDecimalStepType)
        spin.setKeyboardTracking(False)  # write when the user pauses, not at every digit
        spin.setMinimumWidth(110)
        super().__init__(key, spin)
        spin.valueChanged.connect(lambda v: self._emit(int(v)))

    def _show(self, value) -> None:
        self.widget.setValue(int(value))


class _Float(SettingControl):
    def __init__(self, key: str, low: float, high: float):
        setting = declared(key)
        spin = QDoubleSpinBox()
        spin.setDecimals(3 if setting.decimals is None else setting.decimals)
        spin.setRange(low, high)
        spin.setSingleStep(setting.step or 0.1)
        if setting.auto:  # a learning rate: steps that follow its size
            spin.setStepType(QAbstractSpinBox.AdaptiveDecimalStepType)
        spin.setKeyboardTracking(False)
        spin.setMinimumWidth(110)
        super().__init__(key, spin)
        spin.valueChanged.connect(lambda v: self._emit(float(v)))

    def _show(self, value) -> None:
        self.widget.setValue(float(value))


class _AutoFloat(SettingControl):
    """A number PetriLab can also choose itself ("auto"): a check box 'automatic' beside the number field."""

    def __init__(self, key: str, low: float, high: float):
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.auto = QCheckBox("automatic")
        self.auto.setToolTip("PetriLab chooses it with a short test when training starts")
        self.number = _Float(key, low, high)
        row.addWidget(self.auto)
        row.addWidget(self.number.widget)
        row.addStretch(1)
        super().__init__(key, box, self.number.widget)
        self.auto.toggled.connect(self._toggled)
        self.number.changed.connect(lambda _k, v: self._emit(v))

    def _toggled(self, on: bool) -> None:
        self.number.widget.setEnabled(not on)
        self._emit("auto" if on else float(self.number.widget.value()))

    def _show(self, value) -> None:
        automatic = isinstance(value, str)
        self.auto.setChecked(automatic)
        self.number.widget.setEnabled(not automatic)
        # "auto": the number waiting underneath is the usual start (what unticking 'automatic' gives)
        self.number.show_value((declared(self.key).usual or 0.0) if automatic else value)


class _IntList(SettingControl):
    """Neurons or filters per layer, typed as '16, 32, 64'."""

    PATTERN = re.compile(r"^\s*(\d+\s*(,\s*\d+\s*)*)?,?\s*$")

    def __init__(self, key: str):
        edit = QLineEdit()
        edit.setPlaceholderText(declared(key).placeholder)
        edit.setMinimumWidth(150)
        super().__init__(key, edit)
        edit.textChanged.connect(self._typed)

    def _typed(self, text: str) -> None:
        if not self.PATTERN.match(text):
            self.widget.setStyleSheet("border: 1px solid #c53030;")
            return
        self.widget.setStyleSheet("")
        self._emit([int(n) for n in re.findall(r"\d+", text)])

    def _show(self, value) -> None:
        self.widget.setText(", ".join(str(n) for n in value))


class _ImageSize(SettingControl):
    """[height, width] as two spin boxes."""

    def __init__(self, key: str):
        setting = declared(key)
        box = QWidget()
        h = QHBoxLayout(box)
        h.setContentsMargins(0, 0, 0, 0)
        self.height, self.width = QSpinBox(), QSpinBox()
        for spin in (self.height, self.width):
            spin.setRange(int(setting.minimum), int(setting.maximum))
            spin.setKeyboardTracking(False)
            spin.setSuffix(" px")
            spin.setMinimumWidth(90)
        h.addWidget(self.height)
        h.addWidget(QLabel("×"))
        h.addWidget(self.width)
        h.addStretch(1)
        super().__init__(key, box, self.height)
        self.height.valueChanged.connect(self._both)
        self.width.valueChanged.connect(self._both)

    def _both(self, _value) -> None:
        self._emit([int(self.height.value()), int(self.width.value())])

    def _show(self, value) -> None:
        self.height.setValue(int(value[0]))
        self.width.setValue(int(value[1]))


class _ModelPath(SettingControl):
    """model.start_from: a trained model (run folder or .keras file) chosen with a dialog, or typed; Clear empties it."""

    def __init__(self, key: str):
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("none: train from scratch")
        self.edit.setMinimumWidth(200)
        choose = QPushButton("Choose…")
        menu = QMenu(choose)
        menu.addAction("A run folder (a finished or imported run)…", self._choose_folder)
        menu.addAction("A model file (.keras, bioimage.io .zip)…", self._choose_file)
        choose.setMenu(menu)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Train from scratch (random weights)")
        self.clear_button.clicked.connect(lambda: self.choose(""))
        for w in (self.edit, choose, self.clear_button):
            row.addWidget(w)
        super().__init__(key, box, self.edit)
        self.edit.editingFinished.connect(lambda: self.choose(self.edit.text()))

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.widget, "The run folder to start from", self.edit.text())
        if folder:
            self.choose(folder)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.widget, "The model to start from", self.edit.text(),
                                              "Trained models (*.keras *.zip)")
        if path:
            self.choose(path)

    def choose(self, path: str) -> None:
        path = path.strip()
        self._show(path)
        self._emit(path)

    def _show(self, value) -> None:
        self.edit.setText(str(value))
        self.clear_button.setEnabled(bool(value))


def make_control(key: str) -> SettingControl:
    """The control its declaration asks for: a kind named by `control`, else by its choices and type."""
    setting = declared(key)
    if setting is None:
        raise KeyError(f"no control for the setting {key!r}")
    kinds = {"model": _ModelPath, "size": _ImageSize, "numbers": _IntList}
    if setting.control in kinds:
        return kinds[setting.control](key)
    if setting.suggestions:  # e.g. a path to a weights file besides the usual words
        return _Choice(key, setting.suggestions, editable=True)
    if setting.choices:
        return _Choice(key, setting.choices)
    default = get_value(Settings(), key)
    if isinstance(default, bool):
        return _Bool(key)
    if setting.minimum is None:
        raise KeyError(f"no control for the setting {key!r}")
    if setting.auto:
        return _AutoFloat(key, float(setting.minimum), float(setting.maximum))
    if isinstance(default, int):
        return _Int(key, int(setting.minimum), int(setting.maximum))
    return _Float(key, float(setting.minimum), float(setting.maximum))


def form_label(key: str, control: SettingControl) -> str:
    """The text left of the control in a form (check boxes carry their own)."""
    return "" if isinstance(control, _Bool) else declared(key).label + ":"
