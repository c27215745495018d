"""One control per settings key, built from a small table, each writing exactly its key.

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

from petrilab import help as help_texts
from petrilab.settings import AUTO_NUMBERS, CHOICES, RANGES

# words for the choices users see (the settings file keeps the keys)
CHOICE_WORDS = {
    "model.activation": {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh", "gelu": "GELU", "silu": "SiLU (swish)"},
    "model.backbone": {"mobilenetv2": "MobileNetV2 (small, fast)", "vgg16": "VGG16 (large, slow)"},
    "model.weights": {"imagenet": "ImageNet (pretrained)", "random": "random (from scratch)"},
    "training.optimizer": {"sgd": "SGD", "momentum": "SGD with momentum (0.9)", "adam": "Adam",
                           "rmsprop": "RMSprop"},
    "training.loss": {"auto": "automatic (from the task)", "binary_crossentropy": "binary cross-entropy",
                      "categorical_crossentropy": "categorical cross-entropy",
                      "crossentropy": "cross-entropy", "weighted_crossentropy": "weighted cross-entropy",
                      "dice": "Dice", "crossentropy_dice": "cross-entropy + Dice", "focal": "focal",
                      "mse": "mean squared error (MSE)", "mae": "mean absolute error (MAE)", "huber": "Huber"},
    "training.device": {"auto": "automatic", "cpu": "processor (CPU)", "gpu": "graphics card (GPU)"},
    "training.devices": {"auto": "all of them", "one": "one"},
    "training.mixed_precision": {"auto": "automatic", "on": "on", "off": "off"},
    "training.backend": {"auto": "automatic", "tensorflow": "TensorFlow", "torch": "PyTorch"},
    "data.channels": {0: "automatic (from the data)", 1: "1 (grey)", 2: "2", 3: "3 (RGB)", 4: "4"},
    "data.normalisation": {"scale": "scale to 0–1", "mean_std": "mean 0, std 1 (per image)",
                           "percentile": "percentiles (per image)"},
    "data.load": {"auto": "automatic", "memory": "in memory", "stream": "stream from disk"},
    "augmentation.geometric": {"auto": "let PetriLab test it", "yes": "yes", "no": "no"},
}
# (step, decimals) of number fields
FLOAT_FORMAT = {
    "model.dropout": (0.05, 2),
    "model.l1": (0.0001, 5),
    "model.l2": (0.0001, 5),
    "augmentation.rotation": (5.0, 0),
    "augmentation.brightness": (0.05, 2),
    "augmentation.contrast": (0.05, 2),
    "augmentation.noise": (0.01, 2),
    "augmentation.zoom": (0.05, 2),
    "training.learning_rate": (0.0001, 6),
    "data.percentile_low": (0.5, 1),
    "data.percentile_high": (0.1, 1),
}
USUAL_NUMBER = {"training.learning_rate": 0.001}
INT_LISTS = ("model.dense_layers", "model.filters", "model.head_units")
BOOLS = ("model.batch_norm", "augmentation.flip_horizontal", "augmentation.flip_vertical", "augmentation.rotate_90",
         "training.early_stopping", "data.class_weights")
INTS = {"model.fine_tune_layers": None, "training.epochs": None, "training.batch_size": None,
        "training.patience": None, "training.seed": (0, 2_147_483_647), "split.seed": (0, 2_147_483_647)}


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
        box = QCheckBox(help_texts.label(key))
        super().__init__(key, box)
        box.toggled.connect(lambda v: self._emit(bool(v)))

    def _show(self, value) -> None:
        self.widget.setChecked(bool(value))


class _Choice(SettingControl):
    def __init__(self, key: str, choices, editable: bool = False):
        combo = QComboBox()
        words = CHOICE_WORDS.get(key, {})
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
        step, decimals = FLOAT_FORMAT.get(key, (0.1, 3))
        spin = QDoubleSpinBox()
        spin.setDecimals(decimals)
        spin.setRange(low, high)
        spin.setSingleStep(step)
        if key == "training.learning_rate":
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
        self.number.show_value(USUAL_NUMBER.get(self.key, 0.0) if automatic else value)


class _IntList(SettingControl):
    """Neurons or filters per layer, typed as '16, 32, 64'."""

    PATTERN = re.compile(r"^\s*(\d+\s*(,\s*\d+\s*)*)?,?\s*$")

    def __init__(self, key: str):
        edit = QLineEdit()
        edit.setPlaceholderText("none" if key == "model.dense_layers" else "e.g. 16, 32, 64")
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
        box = QWidget()
        h = QHBoxLayout(box)
        h.setContentsMargins(0, 0, 0, 0)
        self.height, self.width = QSpinBox(), QSpinBox()
        for spin in (self.height, self.width):
            spin.setRange(8, 4096)
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
    if key == "model.start_from":
        return _ModelPath(key)
    if key == "data.image_size":
        return _ImageSize(key)
    if key in INT_LISTS:
        return _IntList(key)
    if key in BOOLS:
        return _Bool(key)
    if key == "model.weights":
        return _Choice(key, ("imagenet", "random"), editable=True)
    if key in CHOICES:
        return _Choice(key, CHOICES[key])
    if key in AUTO_NUMBERS:
        low, high = RANGES[key]
        return _AutoFloat(key, float(low), float(high))
    if key in INTS:
        low, high = INTS[key] or RANGES[key]
        return _Int(key, int(low), int(high))
    if key in RANGES:
        low, high = RANGES[key]
        return _Float(key, float(low), float(high))
    raise KeyError(f"no control for the setting {key!r}")


def form_label(key: str, control: SettingControl) -> str:
    """The text left of the control in a form (check boxes carry their own)."""
    return "" if isinstance(control, _Bool) else help_texts.label(key) + ":"

