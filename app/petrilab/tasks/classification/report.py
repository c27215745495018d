"""Classification's test-set section of report.html and report.pdf (classes, and multi-label's labels)."""

from __future__ import annotations

from petrilab.export.report import fmt
from petrilab.export.report_blocks import Charts, Confusion, Para, Table
from petrilab.export.report_svg import svg_bars


def classification_section(evaluation: dict) -> list:
    """Accuracy, per-class scores and the confusion matrix."""
    m = evaluation["metrics"]
    body: list = [Table([["accuracy", fmt(m["accuracy"])], ["balanced accuracy", fmt(m["balanced_accuracy"])],
                         ["macro F1", fmt(m["macro_f1"])]], facts=True),
                  Table([[c, fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]), v["support"]]
                         for c, v in m["per_class"].items()], ["class", "precision", "recall", "F1", "images"])]
    if evaluation.get("confusion_matrix"):
        body.append(Para("Confusion matrix (rows: true class, columns: predicted class; shade: share of the row)"))
        body.append(Confusion(evaluation["classes"], evaluation["confusion_matrix"]))
    return body


def multilabel_section(evaluation: dict) -> list:
    """Exact match, Hamming loss, per-label scores and thresholds, F1 and AUC per label as bars."""
    m = evaluation["metrics"]
    return [Table([["exact match", fmt(m["exact_match"])], ["Hamming loss", fmt(m["hamming_loss"])],
                   ["macro F1", fmt(m["macro_f1"])], ["macro AUC", fmt(m["macro_auc"])]], facts=True),
            Table([[label, fmt(v["threshold"]), fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]), fmt(v["auc"]),
                    v["support"]] for label, v in m["per_label"].items()],
                  ["label", "threshold", "precision", "recall", "F1", "AUC", "images"]),
            Charts([svg_bars({k: v["f1"] for k, v in m["per_label"].items()}, "F1 per label"),
                    svg_bars({k: v["auc"] for k, v in m["per_label"].items()}, "AUC per label")])]
