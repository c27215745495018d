"""Segmentation scores: pixels (IoU, Dice per class) and objects (one-to-one matching by IoU).

Pixel accuracy is reported but never the headline: when the background
covers most of the image, a network that finds nothing scores high (the
workshop's "88 % accuracy, 0 % of the bacteria found"). IoU and Dice of the
foreground classes say what was found.

Objects are matched one to one, true against predicted, by their overlap
(IoU). A match counts at a threshold when its IoU reaches it. The pairing is
an optimal assignment (Hungarian algorithm), not a greedy one, so a split or
merged object never steals the partner of its neighbour. Average precision
is TP / (TP + FP + FN), the definition used by StarDist and Cellpose for one
image (not the area under a precision-recall curve).

Both come as a one-image function and a tally that sums counts over images,
so a test set's score is the score of all its pixels or objects, not a mean
of per-image ratios.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components

THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.5, 0.55, …, 0.95
SUMMARY_THRESHOLD = 0.5

# Below this share of foreground pixels, pixel accuracy says little: a model
# that answers "background" everywhere scores at least 1 - share.
RARE_FOREGROUND_SHARE = 0.2


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def _percent(value: float) -> str:
    return f"{100 * value:.0f} %" if value >= 0.01 or value == 0 else f"{100 * value:.1g} %"


# ---------------------------------------------------------------- pixels


class PixelTally:
    """Counts of (true class, predicted class) pixels summed over images; `scores()` at the end."""

    def __init__(self, classes: list[str]):
        if len(classes) < 2:
            raise ValueError("pixel scores need at least two classes (background first)")
        self.classes = list(classes)
        self.matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
        self.n_images = 0

    def add(self, true: np.ndarray, pred: np.ndarray) -> None:
        self.matrix += _pixel_confusion(true, pred, len(self.classes))
        self.n_images += 1

    def scores(self) -> dict:
        return _pixel_scores_from_matrix(self.matrix, self.classes)


def _pixel_confusion(true: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    true = np.asarray(true)
    pred = np.asarray(pred)
    if true.shape != pred.shape:
        raise ValueError(f"true mask {true.shape} and predicted mask {pred.shape} differ in size")
    t = true.ravel().astype(np.int64, copy=False)
    p = pred.ravel().astype(np.int64, copy=False)
    for name, values in (("true", t), ("predicted", p)):
        if values.size and (values.min() < 0 or values.max() >= n):
            raise ValueError(f"{name} mask has values outside 0 … {n - 1} (the class indices)")
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def pixel_scores(true: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict:
    """Scores of one predicted class mask against the true one (pixel values = class index, 0 = background).

    Returns {"metrics": {mean_iou, mean_dice, pixel_accuracy, foreground_share,
    per_class: {name: {iou, dice, precision, recall, support, predicted}}},
    "confusion_matrix": rows true, columns predicted, "warnings": [sentences]}.
    A class neither present nor predicted has None scores and is left out of the means.
    """
    tally = PixelTally(classes)
    tally.add(true, pred)
    return tally.scores()


def _pixel_scores_from_matrix(matrix: np.ndarray, classes: list[str]) -> dict:
    tp = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    fp = predicted - tp
    fn = support - tp
    per_class = {}
    for i, name in enumerate(classes):
        scored = tp[i] + fp[i] + fn[i] > 0
        per_class[name] = {
            "iou": _ratio(tp[i], tp[i] + fp[i] + fn[i]) if scored else None,
            "dice": _ratio(2 * tp[i], 2 * tp[i] + fp[i] + fn[i]) if scored else None,
            "precision": _ratio(tp[i], predicted[i]) if scored else None,
            "recall": _ratio(tp[i], support[i]) if scored else None,
            "support": int(support[i]),
            "predicted": int(predicted[i]),
        }
    foreground = [per_class[c] for c in classes[1:] if per_class[c]["iou"] is not None]
    total = int(matrix.sum())
    share = _ratio(support[1:].sum(), total)
    metrics = {
        "mean_iou": float(np.mean([c["iou"] for c in foreground])) if foreground else None,
        "mean_dice": float(np.mean([c["dice"] for c in foreground])) if foreground else None,
        "pixel_accuracy": _ratio(tp.sum(), total),
        "foreground_share": share,
        "per_class": per_class,
    }
    warnings = _pixel_warnings(metrics, classes, total)
    return {"metrics": metrics, "confusion_matrix": matrix.tolist(), "warnings": warnings}


def _pixel_warnings(metrics: dict, classes: list[str], total: int) -> list[str]:
    warnings = []
    if not total:
        return ["No pixels were scored."]
    share = metrics["foreground_share"]
    accuracy = metrics["pixel_accuracy"]
    per_class = metrics["per_class"]
    if share < RARE_FOREGROUND_SHARE:
        found = [f"{_percent(per_class[c]['recall'])} of the '{c}' pixels" for c in classes[1:]
                 if per_class[c]["support"]]
        found_text = f" It found {', '.join(found)}." if found else ""
        warnings.append(
            f"Only {_percent(share)} of the pixels are foreground: a model that finds nothing would still "
            f"reach {_percent(1 - share)} pixel accuracy. This one reaches {_percent(accuracy)}.{found_text} "
            f"Judge it by the IoU and Dice of each class, not by the accuracy."
        )
    else:
        unfound = [c for c in classes[1:] if per_class[c]["support"] and per_class[c]["recall"] < 0.1]
        if unfound:
            warnings.append(f"The model found less than 10 % of the '{', '.join(unfound)}' pixels, "
                            f"whatever its pixel accuracy ({_percent(accuracy)}).")
    missing = [c for c in classes[1:] if per_class[c]["support"] == 0]
    if missing:
        warnings.append(f"The true masks contain no '{', '.join(missing)}' pixels: "
                        f"{'this class is' if len(missing) == 1 else 'these classes are'} not evaluated.")
    return warnings


# ---------------------------------------------------------------- objects


def _sequential(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels renumbered 1..n (0 stays background), and n. Fast for any label values."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iub":
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError("a label image must hold whole numbers")
        labels = labels.astype(np.int64)
    if labels.dtype == bool:
        labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError("a label image cannot hold negative values")
    top = int(labels.max()) if labels.size else 0
    if top < 4 * labels.size + 1024:  # a lookup table costs less than sorting every pixel
        present = np.bincount(labels.ravel().astype(np.int64, copy=False), minlength=top + 1) > 0
        present[0] = False
        table = np.zeros(top + 1, dtype=np.int64)
        table[present] = np.arange(1, int(present.sum()) + 1)
        return table[labels], int(present.sum())
    values, inverse = np.unique(labels.ravel(), return_inverse=True)
    offset = 0 if values[0] == 0 else 1
    return (inverse + offset).reshape(labels.shape), int(len(values) - (1 - offset))


def _overlaps(true_labels: np.ndarray, pred_labels: np.ndarray):
    """Every (true, predicted) pair that shares pixels, with its IoU; objects' areas.

    Sparse: only pixels where both images have an object are paired, so
    thousands of objects cost no more than the pixels themselves.
    """
    if np.shape(true_labels) != np.shape(pred_labels):
        raise ValueError(f"true labels {np.shape(true_labels)} and predicted labels "
                         f"{np.shape(pred_labels)} differ in size")
    t, n_true = _sequential(true_labels)
    p, n_pred = _sequential(pred_labels)
    t = t.ravel()
    p = p.ravel()
    true_area = np.bincount(t, minlength=n_true + 1)
    pred_area = np.bincount(p, minlength=n_pred + 1)
    both = (t > 0) & (p > 0)
    keys = t[both] * (n_pred + 1) + p[both]
    if n_true * (n_pred + 1) + n_pred < 4 * keys.size + 1024:
        counts = np.bincount(keys, minlength=(n_true + 1) * (n_pred + 1))
        pairs = np.flatnonzero(counts)
        inter = counts[pairs]
    else:
        pairs, inter = np.unique(keys, return_counts=True)
    rows, cols = np.divmod(pairs, n_pred + 1)
    iou = inter / (true_area[rows] + pred_area[cols] - inter)
    return rows - 1, cols - 1, iou, n_true, n_pred


def _assign(rows: np.ndarray, cols: np.ndarray, iou: np.ndarray, threshold: float,
            n_true: int, n_pred: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The most matches with IoU >= threshold (then the highest total IoU), one to one.

    Solved with the Hungarian algorithm on each cluster of objects linked by
    candidate pairs: above an IoU of 0.5 a cluster is a single pair, below it
    the clusters stay small, so no dense n_true × n_pred matrix is built.
    """
    keep = iou >= threshold
    rows, cols, iou = rows[keep], cols[keep], iou[keep]
    if not len(rows):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    # one graph: true objects are nodes 0..n_true-1, predicted ones n_true..
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols + n_true)), shape=(n_true + n_pred,) * 2)
    _, component = connected_components(graph, directed=False)
    pair_component = component[rows]
    single = np.bincount(pair_component)[pair_component] == 1
    out_rows, out_cols, out_iou = [rows[single]], [cols[single]], [iou[single]]
    crowded = ~single
    if crowded.any():
        r, c, s, comp = rows[crowded], cols[crowded], iou[crowded], pair_component[crowded]
        order = np.argsort(comp, kind="stable")
        r, c, s, comp = r[order], c[order], s[order], comp[order]
        starts = np.flatnonzero(np.r_[True, comp[1:] != comp[:-1]])
        for start, end in zip(starts, np.r_[starts[1:], len(comp)]):
            rr, row_index = np.unique(r[start:end], return_inverse=True)
            cc, col_index = np.unique(c[start:end], return_inverse=True)
            # a match is worth 1 plus a tie-breaking share of its IoU too small to outweigh one more match
            gain = np.zeros((len(rr), len(cc)))
            gain[row_index, col_index] = 1.0 + s[start:end] / (min(len(rr), len(cc)) + 1)
            chosen_r, chosen_c = linear_sum_assignment(gain, maximize=True)
            real = gain[chosen_r, chosen_c] > 0
            lookup = np.zeros((len(rr), len(cc)))
            lookup[row_index, col_index] = s[start:end]
            out_rows.append(rr[chosen_r[real]])
            out_cols.append(cc[chosen_c[real]])
            out_iou.append(lookup[chosen_r[real], chosen_c[real]])
    return np.concatenate(out_rows), np.concatenate(out_cols), np.concatenate(out_iou)


def _scores(tp: int, fp: int, fn: int, iou_sum: float) -> dict:
    if tp + fp + fn == 0:  # nothing to find and nothing found: no objects to score (not a perfect 1.0)
        precision = recall = f1 = ap = None
    else:
        precision = _ratio(tp, tp + fp)
        recall = _ratio(tp, tp + fn)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        ap = _ratio(tp, tp + fp + fn)
    return {"tp": int(tp), "fp": int(fp), "fn": int(fn), "precision": precision, "recall": recall, "f1": f1,
            "average_precision": ap, "mean_matched_iou": _ratio(iou_sum, tp)}


class ObjectTally:
    """Object counts summed over images: add each image, read `scores()` at the end."""

    def __init__(self, thresholds=THRESHOLDS):
        self.thresholds = tuple(float(t) for t in thresholds)
        if not self.thresholds or not all(0.0 < t <= 1.0 for t in self.thresholds):
            raise ValueError("IoU thresholds must lie in (0, 1]")
        self.counts = np.zeros((len(self.thresholds), 3), dtype=np.int64)  # tp, fp, fn
        self.iou_sums = np.zeros(len(self.thresholds))
        self.n_true = 0
        self.n_pred = 0
        self.n_images = 0

    def add(self, true_labels: np.ndarray, pred_labels: np.ndarray) -> dict:
        """Match one image's objects; add its counts; return that image's own scores."""
        one = ObjectTally(self.thresholds)
        rows, cols, iou, n_true, n_pred = _overlaps(true_labels, pred_labels)
        for i, threshold in enumerate(self.thresholds):
            _, _, matched = _assign(rows, cols, iou, threshold, n_true, n_pred)
            tp = len(matched)
            one.counts[i] = (tp, n_pred - tp, n_true - tp)
            one.iou_sums[i] = float(matched.sum())
        one.n_true, one.n_pred, one.n_images = n_true, n_pred, 1
        self.merge(one)
        return one.scores()

    def merge(self, other: "ObjectTally") -> None:
        if other.thresholds != self.thresholds:
            raise ValueError("tallies with different IoU thresholds cannot be summed")
        self.counts += other.counts
        self.iou_sums += other.iou_sums
        self.n_true += other.n_true
        self.n_pred += other.n_pred
        self.n_images += other.n_images

    def scores(self) -> dict:
        """{n_true, n_pred, per_threshold: [{iou_threshold, tp, fp, fn, precision, recall, f1,
        average_precision, mean_matched_iou}], summary: the scores at IoU 0.5 (or the lowest
        threshold given) plus average_precision_50_95 and f1_50_95 averaged over all thresholds}."""
        per = [{"iou_threshold": t, **_scores(*self.counts[i], self.iou_sums[i])}
               for i, t in enumerate(self.thresholds)]
        at = min(range(len(per)), key=lambda i: (abs(self.thresholds[i] - SUMMARY_THRESHOLD), self.thresholds[i]))
        summary = dict(per[at])
        scored = self.n_true + self.n_pred > 0  # None: no object in truth nor prediction, nothing to score
        summary["average_precision_50_95"] = float(np.mean([p["average_precision"] for p in per])) if scored else None
        summary["f1_50_95"] = float(np.mean([p["f1"] for p in per])) if scored else None
        return {"n_images": self.n_images, "n_true": self.n_true, "n_pred": self.n_pred,
                "per_threshold": per, "summary": summary}


def match_objects(true_labels: np.ndarray, pred_labels: np.ndarray, thresholds=THRESHOLDS) -> dict:
    """Match the predicted objects of one image to the true ones (label images, 0 = background).

    See `ObjectTally.scores` for what is returned.
    """
    return ObjectTally(thresholds).add(true_labels, pred_labels)


def matched_pairs(true_labels: np.ndarray, pred_labels: np.ndarray,
                  threshold: float = SUMMARY_THRESHOLD) -> list[tuple[int, int, float]]:
    """(true label, predicted label, IoU) of each match at `threshold`, in the images' own label values.

    For showing which objects were found, missed or invented.
    """
    rows, cols, iou, n_true, n_pred = _overlaps(true_labels, pred_labels)
    r, c, s = _assign(rows, cols, iou, threshold, n_true, n_pred)
    true_values = np.unique(np.asarray(true_labels)[np.asarray(true_labels) > 0])
    pred_values = np.unique(np.asarray(pred_labels)[np.asarray(pred_labels) > 0])
    order = np.argsort(r)
    return [(int(true_values[r[i]]), int(pred_values[c[i]]), float(s[i])) for i in order]
