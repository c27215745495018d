"""Regression metrics per target, next to the trivial baseline that always answers the training mean.

A model is only worth something if it beats that baseline: an R² near 0
means the model does no better than ignoring the image.
"""

from __future__ import annotations

import numpy as np

# Fewer test images than this and the numbers move a lot with one image more or less.
FEW_TEST_IMAGES = 20


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y_true - y_pred))) if len(y_true) else float("nan")


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2))) if len(y_true) else float("nan")


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """1 − (squared error of the model) / (squared error of the test set's own mean); nan if all equal."""
    if len(y_true) < 2:
        return float("nan")
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    if total == 0:
        return float("nan")
    return 1.0 - float(np.sum((y_true - y_pred) ** 2)) / total


def regression_metrics(y_true, y_pred, targets: list[str], training_mean) -> dict:
    """{"metrics": {"mae", "rmse", "r2", "baseline_mae", "baseline_rmse", "per_target": {...}}, "warnings"}.

    y_true, y_pred: (N, n_targets) in the targets' own units. The overall
    numbers average the targets (meaningful when they share a unit, e.g. x, y
    in pixels); per_target has each one with its baseline.
    """
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1, len(targets))
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1, len(targets))
    mean = np.asarray(training_mean, dtype=np.float64).reshape(len(targets))
    per_target = {}
    for j, name in enumerate(targets):
        t, p = y_true[:, j], y_pred[:, j]
        base = np.full_like(t, mean[j])
        per_target[name] = {
            "mae": mae(t, p), "rmse": rmse(t, p), "r2": r2(t, p),
            "baseline_mae": mae(t, base), "baseline_rmse": rmse(t, base), "baseline_r2": r2(t, base),
            "training_mean": float(mean[j]), "n": int(len(t)),
        }

    def average(key: str) -> float:
        values = [v[key] for v in per_target.values() if np.isfinite(v[key])]
        return float(np.mean(values)) if values else float("nan")

    metrics = {key: average(key) for key in ("mae", "rmse", "r2", "baseline_mae", "baseline_rmse")}
    metrics["per_target"] = per_target
    warnings = []
    n = len(y_true)
    if n and n < FEW_TEST_IMAGES:
        warnings.append(f"Only {n} test images: these numbers can change a lot with a few images more or less.")
    worse = [name for name, v in per_target.items() if n and v["mae"] >= v["baseline_mae"]]
    if worse:
        names = ", ".join(f"'{w}'" for w in worse)
        warnings.append(f"For {names} the model does no better than always answering the training mean: it has "
                        f"not learnt these values from the images.")
    return {"metrics": metrics, "warnings": warnings}


def summary_line(result: dict) -> str:
    """One line for the command line: the error per target next to the baseline's."""
    parts = []
    for name, v in result["metrics"]["per_target"].items():
        parts.append(f"{name}: MAE {v['mae']:.4g} (baseline {v['baseline_mae']:.4g}), R² {v['r2']:.3f}")
    return f"{result['n_images']} images ({result['source']}): " + "; ".join(parts)
