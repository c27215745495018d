"""Classification metrics: accuracy, balanced accuracy, per-class precision/recall/F1, confusion matrix."""

from __future__ import annotations

import numpy as np

# Accuracy misleads when one class dominates: a model that always answers
# the majority class scores its share. Warn when that share is this high.
IMBALANCE_WARNING_SHARE = 0.6


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return matrix


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def classification_metrics(y_true, y_pred, classes: list[str]) -> dict:
    y_true = np.asarray(y_true, int)
    y_pred = np.asarray(y_pred, int)
    n = len(classes)
    matrix = confusion_matrix(y_true, y_pred, n)
    tp = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    per_class = {}
    recalls = []
    for i, name in enumerate(classes):
        precision = _ratio(tp[i], predicted[i])
        recall = _ratio(tp[i], support[i])
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": int(support[i])}
        if support[i]:
            recalls.append(recall)
    total = int(matrix.sum())
    metrics = {
        "accuracy": _ratio(tp.sum(), total),
        "balanced_accuracy": float(np.mean(recalls)) if recalls else 0.0,
        "macro_f1": float(np.mean([c["f1"] for c in per_class.values()])) if per_class else 0.0,
        "per_class": per_class,
    }
    warnings = []
    if total:
        majority = int(support.argmax())
        share = support[majority] / total
        if share >= IMBALANCE_WARNING_SHARE:
            warnings.append(
                f"{share:.0%} of the test images are '{classes[majority]}': a model that always answers "
                f"'{classes[majority]}' would reach {share:.0%} accuracy. Judge the model by its balanced "
                f"accuracy ({metrics['balanced_accuracy']:.1%}) and the recall of each class."
            )
        missing = [classes[i] for i in range(n) if support[i] == 0]
        if missing:
            warnings.append(f"The test images contain no '{', '.join(missing)}': these classes are not evaluated.")
        if total < 10 * n:
            warnings.append(f"Only {total} test images: these numbers can change a lot with a few images more or less.")
    return {"metrics": metrics, "confusion_matrix": matrix.tolist(), "warnings": warnings}
