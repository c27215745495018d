"""Step 3: how the images are divided into training, validation and test sets, with live counts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QSlider,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from petrilab import help as help_texts
from petrilab.data.split import SUBSETS, Split, make_split
from petrilab.errors import UserError
from petrilab.gui import dataset_state
from petrilab.gui.context import AppContext
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.widgets import theme
from petrilab.gui.widgets.card import card
from petrilab.gui.widgets.help_panel import HelpBinder, HelpPanel
from petrilab.settings import RANGES
from petrilab.tasks import TASKS, is_per_pixel, is_table_task

SUBSET_TITLES = {"train": "Training", "validation": "Validation", "test": "Test"}
FEW_VALIDATION = 5  # fewer validation images of a class than this: its curve will be noisy


class PercentControl(QWidget):
    """A fraction edited as a percentage, with a slider and a spin box that follow each other."""

    def __init__(self, low: float, high: float, parent: QWidget | None = None):
        super().__init__(parent)
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Horizontal)
        self.spin = QSpinBox()
        for w in (self.slider, self.spin):
            w.setRange(int(round(low * 100)), int(round(high * 100)))
        self.spin.setSuffix(" %")
        self.spin.setFixedWidth(80)
        self.slider.valueChanged.connect(self.spin.setValue)
        self.spin.valueChanged.connect(self.slider.setValue)
        h.addWidget(self.slider, 1)
        h.addWidget(self.spin)

    def fraction(self) -> float:
        return self.spin.value() / 100.0

    def set_fraction(self, value: float) -> None:
        self.spin.setValue(int(round(value * 100)))


class SplitPage(WizardPage):
    key = "split"
    title = "Split"

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.split: Split | None = None
        self.error: UserError | None = None
        self._computed_for: tuple | None = None  # the dataset and split settings the counts are for
        self._loading = False

        columns = QHBoxLayout(self)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.setSpacing(14)
        left = QVBoxLayout()
        left.setSpacing(12)

        controls, controls_layout = card("Subsets")
        intro = QLabel("The network learns from the training images only. The validation images check it after "
                       "every epoch; the test images are kept aside until the very end.")
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        controls_layout.addWidget(intro)
        form = QFormLayout()
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        self.validation = PercentControl(*RANGES["split.validation_fraction"])
        self.test = PercentControl(*RANGES["split.test_fraction"])
        self.seed = QSpinBox()
        self.seed.setRange(*RANGES["split.seed"])
        self.seed.setFixedWidth(120)
        self.stratify = QCheckBox(help_texts.label("split.stratify"))
        form.addRow(help_texts.label("split.validation_fraction") + ":", self.validation)
        form.addRow(help_texts.label("split.test_fraction") + ":", self.test)
        form.addRow(help_texts.label("split.seed") + ":", self.seed)
        form.addRow("", self.stratify)
        controls_layout.addLayout(form)
        self.test_note = QLabel()
        self.test_note.setWordWrap(True)
        self.test_note.setObjectName("muted")
        controls_layout.addWidget(self.test_note)
        left.addWidget(controls)

        counts, counts_layout = card("Images in each subset")
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.NoSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setFocusPolicy(Qt.NoFocus)
        self.table.setAlternatingRowColors(True)
        counts_layout.addWidget(self.table)
        self.note = QLabel()
        self.note.setWordWrap(True)
        counts_layout.addWidget(self.note)
        left.addWidget(counts)
        left.addStretch(1)
        columns.addLayout(left, 3)

        self.help_panel = HelpPanel("Hover over or click a setting to read what it does.")
        self.help_panel.setFixedWidth(290)
        columns.addWidget(self.help_panel, 0, Qt.AlignTop)
        binder = HelpBinder(self.help_panel)
        binder.bind(self.validation, "split.validation_fraction", self.validation.slider, self.validation.spin)
        binder.bind(self.test, "split.test_fraction", self.test.slider, self.test.spin)
        binder.bind(self.seed, "split.seed")
        binder.bind(self.stratify, "split.stratify")

        # each control writes exactly its settings key
        self.controls = {
            "split.validation_fraction": self.validation.spin,
            "split.test_fraction": self.test.spin,
            "split.seed": self.seed,
            "split.stratify": self.stratify,
        }
        self.validation.spin.valueChanged.connect(
            lambda _v: self._write("split.validation_fraction", self.validation.fraction()))
        self.test.spin.valueChanged.connect(lambda _v: self._write("split.test_fraction", self.test.fraction()))
        self.seed.valueChanged.connect(lambda v: self._write("split.seed", int(v)))
        self.stratify.toggled.connect(lambda v: self._write("split.stratify", bool(v)))
        context.settings_changed.connect(self._settings_changed)
        self.enter()

    # ------------------------------------------------------------ settings ↔ controls

    def enter(self) -> None:
        self._loading = True
        s = self.context.settings.split
        self.validation.set_fraction(s.validation_fraction)
        self.test.set_fraction(s.test_fraction)
        self.seed.setValue(s.seed)
        self.stratify.setChecked(s.stratify)
        self._loading = False
        self.recompute()

    def _settings_changed(self) -> None:
        if not self._loading:
            self.enter()

    def _write(self, key: str, value) -> None:
        if self._loading:
            return
        self._loading = True
        try:
            self.context.set_value(key, value)
        finally:
            self._loading = False
        self.recompute()

    # ------------------------------------------------------------ the counts

    def _inputs(self) -> tuple:
        s = self.context.settings.split
        checked = dataset_state.current(self.context)
        return (id(checked), s.validation_fraction, s.test_fraction, s.seed, s.stratify)

    def recompute(self, notify: bool = True) -> None:
        checked = dataset_state.current(self.context)
        self._checked_seen = checked  # held, so that its id() in _inputs() cannot be reused
        self._computed_for = self._inputs()
        self.split, self.error = None, None
        test_folder = checked.test_dataset is not None if checked else bool(self.context.settings.data.test_folder)
        self.test.setEnabled(not test_folder)
        # segmentation: every image holds every class, so there are no class proportions to keep
        self.stratify.setVisible(not is_per_pixel(self.context.settings.task.kind))
        if test_folder:
            n = len(checked.usable_test().samples) if checked else None
            self.test_note.setText("A separate test folder is set"
                                   + (f" ({n} images)" if n is not None else "")
                                   + ": it is the test set, so the test fraction is not used.")
        else:
            self.test_note.setText("No separate test folder: the test set is cut from your images.")
        if checked is None:
            self._fill_table(None, [])
            self.note.setText("The counts appear once the data has been checked (step 2).")
            self.note.setStyleSheet(f"color: {theme.MUTED};")
        else:
            try:
                self.split = make_split(checked.usable(), self.context.settings.split, checked.usable_test())
            except UserError as exc:
                self.error = exc
            self._fill_table(self.split, checked.dataset.classes)
            self._show_note(checked.dataset.classes)
        if notify:
            self.validity_changed.emit()

    def _fill_table(self, split: Split | None, classes: list[str]) -> None:
        # regression and multi-label split by groups of values (quarters of a value, rarest label), not classes
        word = "group" if is_table_task(self.context.settings.task.kind) else "class"
        segmentation = is_per_pixel(self.context.settings.task.kind)
        headers = ["" if segmentation else word.capitalize()] + [SUBSET_TITLES[s] for s in SUBSETS] + ["Total"]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for column in range(1, len(headers)):
            header.setSectionResizeMode(column, QHeaderView.ResizeToContents)
            header.setMinimumSectionSize(90)
        if split is None:
            self.table.setRowCount(0)
            self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + 4)
            return
        table = split.counts(classes)
        rows = [(name, [table[s][name] for s in SUBSETS]) for name in classes]
        totals = [sum(table[s].values()) for s in SUBSETS]
        rows.append(("All classes" if word == "class" else "All images", totals))
        if segmentation:  # every image holds every class: one row of images
            rows = [(f"Images with their {_companion(self.context.settings.task.kind)}", totals)]
        self.table.setRowCount(len(rows))
        grand = sum(totals)
        for r, (name, numbers) in enumerate(rows):
            bold = r == len(rows) - 1
            self._cell(r, 0, name, bold, Qt.AlignLeft)
            for c, n in enumerate(numbers, start=1):
                share = f"  ({100 * n / max(sum(numbers), 1):.0f} %)" if not bold else \
                    f"  ({100 * n / max(grand, 1):.0f} %)"
                self._cell(r, c, f"{n}{share}", bold, Qt.AlignRight)
            self._cell(r, len(numbers) + 1, str(sum(numbers)), bold, Qt.AlignRight)
        height = self.table.horizontalHeader().sizeHint().height() + 4
        height += sum(self.table.rowHeight(r) for r in range(len(rows)))
        self.table.setFixedHeight(min(height, 420))

    def _cell(self, row: int, column: int, text: str, bold: bool, align) -> None:
        item = QTableWidgetItem(text)
        item.setTextAlignment(align | Qt.AlignVCenter)
        if bold:
            font = item.font()
            font.setBold(True)
            item.setFont(font)
        self.table.setItem(row, column, item)

    def _show_note(self, classes: list[str]) -> None:
        if self.error is not None:
            self.note.setText(f"{self.error.message} {self.error.fix or ''}")
            self.note.setStyleSheet(f"color: {theme.LEVEL_COLOURS['error']};")
            return
        table = self.split.counts(classes)
        thin = [c for c in classes if 0 < table["validation"][c] < FEW_VALIDATION]
        if is_per_pixel(self.context.settings.task.kind):
            n = sum(table["validation"].values())
            few = n < FEW_VALIDATION
            self.note.setText((f"Only {n} validation images: the validation curve will be noisy. A larger validation "
                               "fraction (or more images) makes it steadier." if few else
                               f"{n} validation images.") + " Each image goes whole, with its "
                              f"{_companion(self.context.settings.task.kind)[:-1]}, to one subset; "
                              "training cuts patches from the training images only.")
            self.note.setStyleSheet(f"color: {theme.LEVEL_COLOURS['warning' if few else 'ok']};")
            return
        if thin:
            self.note.setText(f"Few validation images for {', '.join(thin)}: the validation curve will be noisy. "
                              "A larger validation fraction (or more images) makes it steadier.")
            self.note.setStyleSheet(f"color: {theme.LEVEL_COLOURS['warning']};")
        else:
            word = "group of values" if is_table_task(self.context.settings.task.kind) else "class"
            self.note.setText(f"Each {word} is represented in every subset.")
            self.note.setStyleSheet(f"color: {theme.LEVEL_COLOURS['ok']};")

    # ------------------------------------------------------------ the contract

    def problem(self) -> str | None:
        if dataset_state.current(self.context) is None:
            return "Check the data first (step 2)."
        if self._computed_for != self._inputs():  # the data was checked again since: count again
            self.recompute(notify=False)
        if self.error is not None:
            return self.error.message
        s = self.context.settings.split
        if s.validation_fraction + s.test_fraction >= 0.9:
            return "The validation and test fractions leave almost nothing to train on."
        return None


def _companion(kind: str) -> str:
    """What goes with each image of a per-pixel task: its masks, or (restoration) its clean targets if any."""
    return "targets" if TASKS[kind].restores else "masks"
