"""Data page: the two cards the folder check fills: what it found (problems first) and the settings it suggests."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStyle, QVBoxLayout, QWidget

from petrilab import help as help_texts
from petrilab.data.check import DatasetReport
from petrilab.gui.widgets import theme
from petrilab.gui.widgets.card import Card
from petrilab.settings import Settings, declared, get_value
from petrilab.tasks import MASK_TASKS as SEGMENTATION_TASKS, RESTORATION_TASKS, is_table_task


def describe_value(key: str, value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if key in ("data.image_size", "data.patch_size"):
        return f"{value[0]} × {value[1]} pixels" if value else "from the data"
    if key == "data.classes":
        return ", ".join(f"{i} = {name}" for i, name in enumerate(value)) if value else "from the data"
    if key == "data.channels":
        return declared(key).words.get(value, str(value))
    return str(value)


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class FindingsCard(Card):
    """'What the check found': one row per finding, errors first, each with what to do."""

    def __init__(self):
        super().__init__("What the check found")
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(8)
        self.body.addLayout(self.rows_layout)
        self.rows: list[QWidget] = []

    def show_findings(self, report: DatasetReport, test_report: DatasetReport | None) -> None:
        for row in self.rows:
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        findings = [(f, "") for f in report.findings]
        if test_report is not None:
            findings += [(f, "Test folder: ") for f in test_report.findings]
        order = {"error": 0, "warning": 1, "info": 2}
        findings.sort(key=lambda pair: order.get(pair[0].level, 3))
        if not findings:
            what = ("every image has its values" if is_table_task(report.task)
                    else "every image has its mask, of the same size" if report.task in SEGMENTATION_TASKS
                    else "every image has its target, of the same size" if report.task in RESTORATION_TASKS
                    else "the classes are balanced enough")
            findings_row = self._row("ok", f"No problems found: {what}, and all images can be read.", None)
            self.rows_layout.addWidget(findings_row)
            self.rows.append(findings_row)
        for finding, prefix in findings:
            row = self._row(finding.level, prefix + finding.message, finding.fix)
            self.rows_layout.addWidget(row)
            self.rows.append(row)

    def _row(self, level: str, message: str, fix: str | None) -> QWidget:
        icons = {"error": QStyle.SP_MessageBoxCritical, "warning": QStyle.SP_MessageBoxWarning,
                 "info": QStyle.SP_MessageBoxInformation, "ok": QStyle.SP_DialogApplyButton}
        row = QWidget()
        row.setProperty("level", level)
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        h.setSpacing(10)
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(icons.get(level, QStyle.SP_MessageBoxInformation))
                       .pixmap(QSize(18, 18)))
        icon.setAlignment(Qt.AlignTop)
        icon.setFixedWidth(20)
        text = f"<span>{html(message)}</span>"
        if fix:
            text += f"<br><span style='color:{theme.MUTED}'>What to do: {html(fix)}</span>"
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        h.addWidget(icon)
        h.addWidget(label, 1)
        return row


class ProposalsCard(Card):
    """'Suggested settings': one row per proposal with its own Apply, and Apply all."""

    apply_requested = Signal(str)  # a setting's key
    apply_all_requested = Signal()

    def __init__(self):
        super().__init__("Suggested settings")
        note = QLabel("Safe changes for this data. Apply them one by one, or all at once.")
        note.setObjectName("muted")
        note.setWordWrap(True)
        self.apply_all_button = QPushButton("Apply all")
        self.apply_all_button.clicked.connect(lambda: self.apply_all_requested.emit())
        top = QHBoxLayout()  # Apply all beside the note: the card stays short at the top of the page
        top.addWidget(note, 1)
        top.addWidget(self.apply_all_button)
        self.body.addLayout(top)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(6)
        self.body.addLayout(self.rows_layout)
        self.rows: list[QWidget] = []
        self.buttons: dict[str, QPushButton] = {}

    def show_proposals(self, proposals: dict, current: Settings) -> int:
        """One row per proposal, those already applied greyed; returns how many are still to apply."""
        for row in self.rows:
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        self.buttons = {}
        pending = 0
        for key, value in proposals.items():
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            done = get_value(current, key) == value
            text = QLabel(f"<b>{help_texts.label(key)}</b>: {describe_value(key, value)}"
                          + ("" if done else f" <span style='color:{theme.MUTED}'>(now "
                             f"{describe_value(key, get_value(current, key))})</span>"))
            text.setToolTip(help_texts.explanation(key))
            text.setWordWrap(True)
            button = QPushButton("Applied" if done else "Apply")
            button.setEnabled(not done)
            button.clicked.connect(lambda _c=False, key=key: self.apply_requested.emit(key))
            h.addWidget(text, 1)
            h.addWidget(button)
            self.rows_layout.addWidget(row)
            self.rows.append(row)
            self.buttons[key] = button
            pending += not done
        self.apply_all_button.setEnabled(pending > 0)
        return pending
