"""Multi-label metrics: each label is its own yes/no question, plus how often a whole image is right.

- per label: precision, recall, F1 at the label's decision threshold, and the
  AUC of its probabilities (1 = perfectly ranked, 0.5 = guessing);
- exact-match ratio: the share of images whose every label is right;
- Hamming loss: the share of (image, label) decisions that are wrong.
"""

from __future__ import annotations

import numpy as np

FEW_TEST_IMAGES = 20
# Thresholds tried when tuning a label's decision on the validation images.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a positive image scores above a negative one (ties: half)."""
    y_true = np.asarray(y_true, dtype=bool)
    pos, neg = scores[y_true], scores[~y_true]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="stable")
    values = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(values))
    # average rank of tied values
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or values[end] != values[start]:
            ranks[start:end] = (start + end + 1) / 2.0
            start = end
    rank_of = np.empty(len(values))
    rank_of[order] = ranks
    return float((rank_of[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def f1_score(y_true: np.ndarray, decided: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, F1) of one label's 0/1 decisions."""
    y_true, decided = np.asarray(y_true, bool), np.asarray(decided, bool)
    tp = float(np.sum(y_true & decided))
    precision = _ratio(tp, float(decided.sum()))
    recall = _ratio(tp, float(y_true.sum()))
    return precision, recall, _ratio(2 * precision * recall, precision + recall)


def best_threshold(y_true: np.ndarray, probabilities: np.ndarray, default: float = 0.5) -> float:
    """The threshold with the best F1 on these images; ties go to the one nearest `default`.

    A label absent (or present everywhere) in these images gives no evidence: `default` is kept.
    """
    y_true = np.asarray(y_true, bool)
    if y_true.all() or not y_true.any():
        return float(default)
    scores = [(f1_score(y_true, probabilities >= t)[2], -abs(t - default), float(t)) for t in THRESHOLD_GRID]
    return max(scores)[2]


def multilabel_metrics(y_true, probabilities, labels: list[str], thresholds) -> dict:
    """{"metrics": {...}, "warnings": [...]}; y_true (N, L) of 0/1, probabilities (N, L), thresholds (L,)."""
    n_labels = len(labels)
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1, n_labels) > 0.5
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1, n_labels)
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(n_labels)
    decided = probabilities >= thresholds
    n = len(y_true)
    per_label = {}
    for j, name in enumerate(labels):
        precision, recall, f1 = f1_score(y_true[:, j], decided[:, j])
        per_label[name] = {"precision": precision, "recall": recall, "f1": f1, "auc": auc(y_true[:, j],
                                                                                            probabilities[:, j]),
                           "support": int(y_true[:, j].sum()), "predicted": int(decided[:, j].sum()),
                           "threshold": float(thresholds[j])}
    tp = float(np.sum(y_true & decided))
    micro_p, micro_r = _ratio(tp, float(decided.sum())), _ratio(tp, float(y_true.sum()))
    present = [v for v in per_label.values() if v["support"]]
    aucs = [v["auc"] for v in per_label.values() if np.isfinite(v["auc"])]
    metrics = {
        "exact_match": float(np.mean(np.all(y_true == decided, axis=1))) if n else 0.0,
        "hamming_loss": float(np.mean(y_true != decided)) if n else 0.0,
        "macro_f1": float(np.mean([v["f1"] for v in present])) if present else 0.0,
        "micro_f1": _ratio(2 * micro_p * micro_r, micro_p + micro_r),
        "macro_auc": float(np.mean(aucs)) if aucs else float("nan"),
        "per_label": per_label,
    }
    warnings = []
    if n and n < FEW_TEST_IMAGES:
        warnings.append(f"Only {n} test images: these numbers can change a lot with a few images more or less.")
    missing = [name for name, v in per_label.items() if not v["support"]]
    if missing:
        warnings.append(f"No test image has the label(s) {', '.join(repr(m) for m in missing)}: their recall and "
                        f"F1 cannot be measured and are left out of the macro F1.")
    if n:
        empty = float(np.mean(~y_true.any(axis=1)))
        if metrics["hamming_loss"] < 0.1 and y_true.mean() < 0.15:
            warnings.append(f"Most labels are absent from most images, so answering 'no' everywhere already gets "
                            f"{1 - y_true.mean():.0%} of the decisions right: judge the model by its F1 per label "
                            f"and its AUC, not by the Hamming loss alone.")
        elif empty > 0.5:
            warnings.append(f"{empty:.0%} of the test images carry no label at all.")
    return {"metrics": metrics, "warnings": warnings}


def summary_line(result: dict) -> str:
    m = result["metrics"]
    return (f"{result['n_images']} images ({result['source']}): exact match {m['exact_match']:.3f}, "
            f"Hamming loss {m['hamming_loss']:.3f}, macro F1 {m['macro_f1']:.3f}, macro AUC {m['macro_auc']:.3f}")
