"""The fit diagnosis as the workshop taught it: a verdict, its evidence, and advice to apply in one click.

The diagnosis itself is computed by the engine (a `diagnosis` event, and
diagnosis.json in the run folder); this panel only shows the dictionary.
"""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QVBoxLayout,
                               QWidget)

# verdict -> (background, text) colours of the badge
VERDICT_COLOURS = {
    "good_fit": ("#e3f4e6", "#1b5e20"),
    "not_finished": ("#e3effb", "#0d47a1"),
    "overfitting": ("#fdecea", "#b71c1c"),
    "underfitting": ("#fdecea", "#b71c1c"),
    "unrepresentative_validation": ("#fff4e0", "#8a4b00"),
    "unrepresentative_training": ("#fff4e0", "#8a4b00"),
    "diverged": ("#f3e5f5", "#6a1b9a"),  # the loss blew up: fix the learning rate before reading anything else
}
NEUTRAL = ("#eeeeee", "#333333")
PAGE_NAMES = {"task": "Task", "data": "Data", "split": "Split", "model": "Model", "train": "Train"}


def _evidence_text(item) -> str:
    if isinstance(item, dict):
        if "text" in item:
            return str(item["text"])
        return ", ".join(f"{k}: {v}" for k, v in item.items())
    return str(item)


class DiagnosisPanel(QScrollArea):
    """Shows a Diagnosis.to_dict(); emits `advice_applied(advice)` when the user presses Apply."""

    advice_applied = Signal(dict)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("diagnosisBody")
        self.setWidget(body)
        self._layout = QVBoxLayout(body)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(8)

        heading = QLabel("Diagnosis of the training curves")
        heading.setStyleSheet("font-weight: 600; color: #444;")
        self.stage = QLabel()
        self.stage.setStyleSheet("color: #666;")
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setObjectName("verdict")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.evidence_heading = QLabel("Evidence")
        self.evidence_heading.setStyleSheet("font-weight: 600; color: #444; margin-top: 6px;")
        self.evidence = QLabel()
        self.evidence.setWordWrap(True)
        self.evidence.setTextFormat(Qt.TextFormat.RichText)
        self.advice_heading = QLabel("What to try")
        self.advice_heading.setStyleSheet("font-weight: 600; color: #444; margin-top: 6px;")
        self.advice_box = QVBoxLayout()
        self.advice_box.setSpacing(6)
        for widget in (heading, self.stage, self.verdict, self.summary, self.evidence_heading, self.evidence,
                       self.advice_heading):
            self._layout.addWidget(widget)
        self._layout.addLayout(self.advice_box)
        self._layout.addStretch(1)
        self.advice_buttons: list[QPushButton] = []
        self.current: dict = {}
        self._badge_colours: tuple | None = None
        self._advice_shown: tuple | None = None
        self.show_diagnosis({})

    def show_diagnosis(self, diagnosis: dict, epoch: int | None = None, can_resume: bool = True) -> None:
        self.current = dict(diagnosis or {})
        d = self.current
        if not d:
            self.stage.setText("The verdict appears after a few epochs.")
            self._badge("Waiting for the first epochs", NEUTRAL)
            self.summary.setText("PetriLab reads the loss curves as the workshop taught: good fit, overfitting, "
                                 "underfitting, not finished, or a validation or training set that does not "
                                 "represent the data; and it says when training diverged.")
            self.evidence_heading.hide()
            self.evidence.hide()
            self._set_advice([], can_resume)
            return
        final = bool(d.get("final"))
        if final:
            self.stage.setText("Final verdict")
        else:
            self.stage.setText(f"So far (after epoch {epoch})" if epoch else "So far")
        title = d.get("title") or str(d.get("verdict", "")).replace("_", " ").capitalize()
        self._badge(title, VERDICT_COLOURS.get(d.get("verdict"), NEUTRAL))
        self.summary.setText(str(d.get("summary") or ""))
        evidence = [_evidence_text(e) for e in d.get("evidence") or []]
        self.evidence_heading.setVisible(bool(evidence))
        self.evidence.setVisible(bool(evidence))
        self.evidence.setText("<ul style='margin-left: -20px'>" +
                              "".join(f"<li>{html.escape(e)}</li>" for e in evidence) + "</ul>")
        self._set_advice(d.get("advice") or [], can_resume)

    def _badge(self, text: str, colours: tuple[str, str]) -> None:
        background, foreground = colours
        self.verdict.setText(text)
        if colours == self._badge_colours:
            return  # a style sheet change re-polishes the panel: only when the colour changes
        self._badge_colours = colours
        self.verdict.setStyleSheet(f"background: {background}; color: {foreground}; border-radius: 6px; "
                                   f"padding: 8px 10px; font-size: 15px; font-weight: 600;")

    def _set_advice(self, advice: list[dict], can_resume: bool) -> None:
        shown = (json.dumps(advice, sort_keys=True, default=str), can_resume)
        if shown == self._advice_shown:
            return  # the same advice as after the last epoch: keep the rows (rebuilding them costs a relayout)
        self._advice_shown = shown
        while self.advice_box.count():
            item = self.advice_box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.advice_buttons = []
        self.advice_heading.setVisible(bool(advice))
        for tip in advice:
            self.advice_box.addWidget(self._advice_row(tip, can_resume))

    def _advice_row(self, tip: dict, can_resume: bool) -> QWidget:
        row = QFrame()
        row.setObjectName("adviceRow")
        row.setStyleSheet("#adviceRow { background: #fafafa; border: 1px solid #dddddd; border-radius: 6px; }")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(8, 6, 8, 6)
        text = QLabel(str(tip.get("text", "")))
        text.setWordWrap(True)
        text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(text, 1)
        actionable = bool(tip.get("changes") or tip.get("page") or tip.get("resume"))
        if actionable:
            resume = bool(tip.get("resume"))
            if resume:
                label = "Continue training"
            elif tip.get("changes"):
                label = "Apply"
            else:
                label = f"Go to {PAGE_NAMES.get(tip.get('page'), str(tip.get('page')).capitalize())}"
            button = QPushButton(label)
            button.setToolTip(self._describe_changes(tip))
            button.setEnabled(can_resume or not resume)
            button.clicked.connect(lambda _=False, t=dict(tip): self.advice_applied.emit(t))
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            self.advice_buttons.append(button)
        return row

    @staticmethod
    def _describe_changes(tip: dict) -> str:
        changes = tip.get("changes") or {}
        lines = [f"{key} → {value}" for key, value in changes.items()]
        if tip.get("resume"):
            lines.append("then continue this run from its last epoch")
        elif tip.get("page") and tip.get("page") != "train":
            lines.append(f"then go to the {PAGE_NAMES.get(tip['page'], tip['page'])} page")
        return "\n".join(lines) or "Apply this advice"
