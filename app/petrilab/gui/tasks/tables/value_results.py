"""Evaluate page, for tasks whose values come from a table: the pictures next to the page's own tables.

Regression: predicted-vs-true and residual plots, one value at a time.
Multi-label: precision, recall and F1 of each label as bars.
"""

from __future__ import annotations

from PySide6.QtWidgets import QStackedWidget, QWidget

from petrilab.gui.tasks.classification.label_stats import LabelScoreChart
from petrilab.gui.tasks.regression.regression_plots import RegressionPlots
from petrilab.tasks import TASKS

# by what the task answers (Task.answer): the tasks whose values come from a table
TITLES = {"values": ("Predicted against true", "Each point is a test image"),
          "labels": ("Scores per label", "At each label's decision threshold, chosen on the validation images")}


class ValueResults(QStackedWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.regression = RegressionPlots()
        self.labels = LabelScoreChart()
        self.addWidget(self.regression)
        self.addWidget(self.labels)

    def show_evaluation(self, evaluation: dict, rows: list[dict]) -> bool:
        """Show `evaluation` if it is a regression or multi-label one (True); otherwise nothing (False)."""
        task = evaluation.get("task")
        if task not in TASKS or TASKS[task].answer not in TITLES:
            return False
        if TASKS[task].has_targets:
            self.regression.show_evaluation(evaluation, rows)
            self.setCurrentWidget(self.regression)
        else:
            self.labels.show_evaluation(evaluation)
            self.setCurrentWidget(self.labels)
        return True


def prediction_summary(rows: list[dict], columns: list[str]) -> str | None:
    """One line about a regression or multi-label predictions.csv; None for other tables."""
    good = [r for r in rows if not r.get("problem")]
    if "labels" in columns:  # multi-label: file, labels, p_<label>, <label> …
        labels = [c for c in columns if f"p_{c}" in columns]
        counts = ", ".join(f"{label} {sum(r.get(label) == '1' for r in good)}" for label in labels)
        return f"{len(rows)} images · images given each label: {counts}"
    values = [c for c in columns if c not in ("file", "problem")]
    if "predicted_class" in columns or not values:
        return None
    parts = []
    for name in values:
        numbers = [float(r[name]) for r in good if r.get(name) not in (None, "")]
        if numbers:
            parts.append(f"{name} {min(numbers):.4g} … {max(numbers):.4g} (mean {sum(numbers) / len(numbers):.4g})")
    return f"{len(rows)} images · predicted " + "; ".join(parts)
