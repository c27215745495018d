"""Data page, for tasks whose values come from a table (regression, multi-label).

Which columns the network learns (data.target_columns; all ticked = every
value column, the default), and how their values are spread: a histogram per
target, or how many images carry each label.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QVBoxLayout, QWidget

from petrilab import help as help_texts
from petrilab.errors import UserError
from petrilab.gui.context import AppContext
from petrilab.tasks import TASKS
from petrilab.tasks.tables.check import TableReport

COLUMNS_PER_ROW = 5


def contents_words(report: TableReport) -> str:
    """'2 values (x, y)' or '3 labels (nucleus, spots, membrane)': what the images come with."""
    names = report.columns
    kind = TASKS[report.task].item  # a value or a label
    shown = ", ".join(names[:6]) + (", …" if len(names) > 6 else "")
    return f"{len(names)} {kind}{'s' if len(names) != 1 else ''} ({shown})"


class ValuesPanel(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.columns_box = QWidget()
        self.columns_grid = QGridLayout(self.columns_box)
        self.columns_grid.setContentsMargins(0, 0, 0, 0)
        self.columns_grid.setHorizontalSpacing(14)
        self.checkboxes: dict[str, QCheckBox] = {}
        self.histograms = None  # made with the first table report: their modules load pyqtgraph
        self.frequencies = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.note)
        layout.addWidget(self.columns_box)
        self.report: TableReport | None = None

    def _make_charts(self) -> None:
        from petrilab.gui.tasks.classification.label_stats import LabelFrequencies
        from petrilab.gui.tasks.regression.regression_plots import TargetHistograms

        self.histograms = TargetHistograms()
        self.frequencies = LabelFrequencies()
        self.layout().addWidget(self.histograms)
        self.layout().addWidget(self.frequencies)

    def show_report(self, report) -> bool:
        """Show a table task's report; False (and hidden) for any other report."""
        if not isinstance(report, TableReport):
            self.report = None
            self.hide()
            return False
        self.report = report
        if self.histograms is None:
            self._make_charts()
        regression = TASKS[report.task].has_targets
        self.histograms.setVisible(regression)
        self.frequencies.setVisible(not regression)
        if regression:
            self.histograms.set_targets(report.targets)
            self.note.setText("The dashed line is each value's mean: a model must do clearly better than always "
                              "answering it.")
        else:
            self.frequencies.set_frequencies(report.labels, report.labels_per_image, report.n_images)
            self.note.setText("Each label is learnt on its own: an image can have none, one or several. Rare labels "
                              "(orange) are hard to learn and to measure.")
        self._show_columns(report)
        self.show()
        return True

    def _show_columns(self, report: TableReport) -> None:
        """One tick box per value column of the table; shown only when there is a choice to make."""
        for box in self.checkboxes.values():
            self.columns_grid.removeWidget(box)
            box.deleteLater()
        self.checkboxes = {}
        candidates = [c for c in report.available if c not in report.ignored]
        for i, name in enumerate(candidates):
            box = QCheckBox(name)
            box.setChecked(name in report.columns)
            box.setToolTip(help_texts.explanation("data.target_columns"))
            box.toggled.connect(self._choose)
            self.columns_grid.addWidget(box, i // COLUMNS_PER_ROW, i % COLUMNS_PER_ROW)
            self.checkboxes[name] = box
        self.columns_box.setVisible(len(candidates) > 1)

    def _choose(self) -> None:
        chosen = [name for name, box in self.checkboxes.items() if box.isChecked()]
        if not chosen:  # at least one value to learn: undo the last untick
            sender = self.sender()
            if isinstance(sender, QCheckBox):
                sender.blockSignals(True)
                sender.setChecked(True)
                sender.blockSignals(False)
            return
        everything = self.report is not None and chosen == [c for c in self.report.available
                                                            if c not in self.report.ignored]
        try:
            self.context.set_value("data.target_columns", [] if everything else chosen)
        except UserError:
            pass  # a list of names is always a valid value
