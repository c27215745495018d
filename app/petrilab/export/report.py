"""report.html: one self-contained page per run for a lab notebook or a methods section.

No plotting library: the curves are drawn as inline SVG so the page opens
anywhere, offline, and prints cleanly.
"""

from __future__ import annotations

import html
import json
import math
import platform
from pathlib import Path

from petrilab import __version__, runs
from petrilab.events import read_all

CURVE_COLOURS = {"train": "#1f77b4", "validation": "#d62728"}


def _svg_curves(history: list[dict], metric: str, title: str, width=420, height=240) -> str:
    series = {"train": [h.get(metric) for h in history], "validation": [h.get(f"val_{metric}") for h in history]}
    values = [v for s in series.values() for v in s if isinstance(v, float) and math.isfinite(v)]
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        high = low + 1e-9
    pad = 36
    n = max(len(history) - 1, 1)

    def point(i, v):
        x = pad + (width - 2 * pad) * i / n
        y = height - pad - (height - 2 * pad) * (v - low) / (high - low)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{title}">',
             f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{html.escape(title)}</text>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#888"/>',
             f'<text x="{pad - 4}" y="{pad + 4}" text-anchor="end" font-size="10">{high:.3g}</text>',
             f'<text x="{pad - 4}" y="{height - pad}" text-anchor="end" font-size="10">{low:.3g}</text>',
             f'<text x="{width - pad}" y="{height - pad + 14}" text-anchor="end" font-size="10">epoch {len(history)}</text>']
    for k, (name, vals) in enumerate(series.items()):
        pts = [point(i, v) for i, v in enumerate(vals) if isinstance(v, float) and math.isfinite(v)]
        if pts:
            parts.append(f'<polyline fill="none" stroke="{CURVE_COLOURS[name]}" stroke-width="2" points="{" ".join(pts)}"/>')
            parts.append(f'<text x="{width - pad}" y="{pad + 14 * k}" text-anchor="end" font-size="11" '
                         f'fill="{CURVE_COLOURS[name]}">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[list], header: list[str] | None = None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _versions() -> list[list[str]]:
    rows = [["PetriLab", __version__], ["Python", platform.python_version()], ["System", platform.platform()]]
    for name in ("keras", "tensorflow", "numpy", "skimage", "tifffile"):
        try:
            module = __import__(name)
            rows.append([name, getattr(module, "__version__", "?")])
        except ImportError:
            pass
    return rows


METRIC_TITLES = {"accuracy": "Accuracy", "mae": "Mean absolute error (in the values' units)", "auc": "AUC"}


def _values_evaluation(evaluation: dict) -> list[str]:
    """The test-set tables of regression (per target, with the mean-answering baseline) and multi-label (per label)."""
    m = evaluation["metrics"]
    body = [f"<h2>Test set ({evaluation['n_images']} images, {html.escape(evaluation['source'])})</h2>"]
    if evaluation["task"] == "regression":
        body.append(_table([[t, f"{v['mae']:.4g}", f"{v['rmse']:.4g}", f"{v['r2']:.3f}", f"{v['baseline_mae']:.4g}",
                             f"{v['baseline_rmse']:.4g}"] for t, v in m["per_target"].items()],
                           ["value", "MAE", "RMSE", "R²", "baseline MAE", "baseline RMSE"]))
        body.append("<p>Baseline: always answering the training images' mean.</p>")
    else:
        body.append(_table([["exact match", f"{m['exact_match']:.3f}"], ["Hamming loss", f"{m['hamming_loss']:.3f}"],
                            ["macro F1", f"{m['macro_f1']:.3f}"], ["macro AUC", f"{m['macro_auc']:.3f}"]]))
        body.append(_table([[label, f"{v['threshold']:.3f}", f"{v['precision']:.3f}", f"{v['recall']:.3f}",
                             f"{v['f1']:.3f}", f"{v['auc']:.3f}", v["support"]] for label, v in m["per_label"].items()],
                           ["label", "threshold", "precision", "recall", "F1", "AUC", "images"]))
    for w in evaluation.get("warnings", []):
        body.append(f"<p class='warn'>{html.escape(w)}</p>")
    return body


def write_report(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    settings_text = (run_dir / runs.SETTINGS).read_text(encoding="utf-8") if (run_dir / runs.SETTINGS).exists() else ""
    history = runs.read_history(run_dir / runs.HISTORY) if (run_dir / runs.HISTORY).exists() else []
    diagnosis = _load_json(run_dir / runs.DIAGNOSIS)
    evaluation = _load_json(run_dir / runs.EVALUATION)
    check = _load_json(run_dir / runs.DATASET_CHECK)
    started = next((e for e in read_all(run_dir / runs.EVENTS) if e.get("event") == "started"), {})

    body = [f"<h1>PetriLab run {html.escape(run_dir.name)}</h1>"]
    if started:
        body.append(_table([["Device", started.get("device")], ["Parameters", f"{started.get('parameters', 0):,}"],
                            ["Images (train / validation / test)",
                             f"{started.get('n_train')} / {started.get('n_validation')} / {started.get('n_test')}"],
                            ["Data fingerprint (SHA-256 of all input files)", started.get("data_fingerprint")]]))
    if check:
        body.append("<h2>Dataset</h2>")
        body.append(_table([[k, v] for k, v in check.get("counts", {}).items()], ["class", "images"]))
        findings = check.get("findings", [])
        if findings:
            body.append("<ul>" + "".join(f"<li>{html.escape(f['level'])}: {html.escape(f['message'])}</li>"
                                         for f in findings) + "</ul>")
    if history:
        body.append("<h2>Training curves</h2><div class='plots'>")
        body.append(_svg_curves(history, "loss", "Loss"))
        main = started.get("main_metric") or "accuracy"
        if main in history[0]:
            body.append(_svg_curves(history, main, METRIC_TITLES.get(main, main)))
        body.append("</div>")
    if diagnosis:
        body.append(f"<h2>Diagnosis: {html.escape(diagnosis.get('title', diagnosis.get('verdict', '')))}</h2>")
        body.append(f"<p>{html.escape(diagnosis.get('summary', ''))}</p>")
        body.append("<ul>" + "".join(f"<li>{html.escape(e)}</li>" for e in diagnosis.get("evidence", [])) + "</ul>")
        advice = diagnosis.get("advice", [])
        if advice:
            body.append("<p>Advice:</p><ul>" + "".join(f"<li>{html.escape(a['text'])}</li>" for a in advice) + "</ul>")
    if evaluation and evaluation.get("task") in ("regression", "multilabel"):
        body += _values_evaluation(evaluation)
    elif evaluation:
        m = evaluation["metrics"]
        body.append(f"<h2>Test set ({evaluation['n_images']} images, {html.escape(evaluation['source'])})</h2>")
        body.append(_table([["accuracy", f"{m['accuracy']:.3f}"], ["balanced accuracy", f"{m['balanced_accuracy']:.3f}"],
                            ["macro F1", f"{m['macro_f1']:.3f}"]]))
        body.append(_table([[c, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]]
                            for c, v in m["per_class"].items()], ["class", "precision", "recall", "F1", "images"]))
        classes = evaluation["classes"]
        body.append("<p>Confusion matrix (rows: true class, columns: predicted class)</p>")
        body.append(_table([[c, *row] for c, row in zip(classes, evaluation["confusion_matrix"])], ["", *classes]))
        for w in evaluation.get("warnings", []):
            body.append(f"<p class='warn'>{html.escape(w)}</p>")
    body.append("<h2>Settings</h2><pre>" + html.escape(settings_text) + "</pre>")
    body.append("<h2>Software</h2>" + _table(_versions()))

    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>PetriLab report</title><style>"
            "body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
            "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
            ".plots{display:flex;gap:1em;flex-wrap:wrap}.warn{color:#a40}pre{background:#f6f6f6;padding:1em}"
            "</style></head><body>" + "".join(body) + "</body></html>")
    return runs.atomic_write_text(run_dir / runs.REPORT, page)
