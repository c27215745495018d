"""report.html: one self-contained page per run for a lab notebook or a methods section.

What it holds: the task and the data (dataset summary, split counts), the
training curves, the verdict with its evidence, the test-set results each
task reports (confusion matrix; per-value scores and a predicted-vs-true
plot; per-label scores; example overlays for segmentation), the exact
settings, software versions and seeds. No plotting library: charts are
inline SVG and pictures inline PNG, so the page opens anywhere, offline, and
prints cleanly (and `petrilab report --pdf` turns it into a PDF).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import platform
import time
from collections import Counter
from pathlib import Path

from petrilab import __version__, runs
from petrilab.events import read_all

CURVE_COLOURS = {"train": "#1f77b4", "validation": "#d62728"}
METRIC_TITLES = {"accuracy": "Accuracy", "mae": "Mean absolute error (in the values' units)", "auc": "AUC",
                 "iou": "IoU", "dice": "Dice"}
TASK_TITLES = {"classification": "Image classification", "multilabel": "Multi-label classification",
               "regression": "Regression from images", "semantic": "Semantic segmentation",
               "instance": "Instance segmentation"}
TEST_PREDICTIONS = "test_predictions.csv"
EXAMPLES = 3  # segmentation overlays shown


def esc(value) -> str:
    return html.escape(str(value))


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# ---------------------------------------------------------------- drawing


def _tick(value: float, other: float) -> str:
    """`value` with enough digits to differ from `other` (a loss going from 1.0987 to 1.0981)."""
    for digits in range(3, 8):
        if f"{value:.{digits}g}" != f"{other:.{digits}g}":
            return f"{value:.{digits}g}"
    return f"{value:.3g}"


def _svg_curves(history: list[dict], metric: str, title: str, width=440, height=250) -> str:
    series = {"train": [h.get(metric) for h in history], "validation": [h.get(f"val_{metric}") for h in history]}
    values = [v for s in series.values() for v in s if isinstance(v, float) and math.isfinite(v)]
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        high = low + 1e-9
    left, pad = 48, 30
    n = max(len(history) - 1, 1)

    def point(i, v):
        x = left + (width - left - pad) * i / n
        y = height - pad - (height - 2 * pad) * (v - low) / (high - low)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{esc(title)}</text>',
             f'<line x1="{left}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>',
             f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{height - pad}" stroke="#888"/>',
             f'<text x="{left - 4}" y="{pad + 4}" text-anchor="end" font-size="10">{_tick(high, low)}</text>',
             f'<text x="{left - 4}" y="{height - pad}" text-anchor="end" font-size="10">{_tick(low, high)}</text>',
             f'<text x="{left}" y="{height - pad + 14}" font-size="10">1</text>',
             f'<text x="{width - pad}" y="{height - pad + 14}" text-anchor="end" font-size="10">epoch {len(history)}</text>',
             f'<text x="{(left + width - pad) / 2}" y="{height - pad + 14}" text-anchor="middle" font-size="10">epochs</text>']
    for k, (name, vals) in enumerate(series.items()):
        pts = [point(i, v) for i, v in enumerate(vals) if isinstance(v, float) and math.isfinite(v)]
        if pts:
            parts.append(f'<polyline fill="none" stroke="{CURVE_COLOURS[name]}" stroke-width="2" points="{" ".join(pts)}"/>')
            if len(pts) == 1:
                x, y = pts[0].split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{CURVE_COLOURS[name]}"/>')
            parts.append(f'<text x="{left + 90 * k}" y="{height - 4}" font-size="11" '
                         f'fill="{CURVE_COLOURS[name]}">— {name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_scatter(true: list[float], pred: list[float], title: str, size=260) -> str:
    """Predicted against true, with the diagonal a perfect model would follow."""
    pairs = [(t, p) for t, p in zip(true, pred) if math.isfinite(t) and math.isfinite(p)]
    if not pairs:
        return ""
    low = min(min(t, p) for t, p in pairs)
    high = max(max(t, p) for t, p in pairs)
    if high == low:
        high = low + 1e-9
    pad = 40

    def xy(t, p):
        x = pad + (size - 2 * pad) * (t - low) / (high - low)
        y = size - pad - (size - 2 * pad) * (p - low) / (high - low)
        return x, y

    (x0, y0), (x1, y1) = xy(low, low), xy(high, high)
    parts = [f'<svg width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img" aria-label="{esc(title)}">',
             f'<text x="{size / 2}" y="16" text-anchor="middle" font-size="13">{esc(title)}</text>',
             f'<rect x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}" fill="none" stroke="#888"/>',
             f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#aaa" stroke-dasharray="4 3"/>',
             f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle" font-size="10">true</text>',
             f'<text x="12" y="{size / 2}" text-anchor="middle" font-size="10" '
             f'transform="rotate(-90 12 {size / 2})">predicted</text>',
             f'<text x="{pad}" y="{size - pad + 12}" font-size="9">{low:.3g}</text>',
             f'<text x="{size - pad}" y="{size - pad + 12}" text-anchor="end" font-size="9">{high:.3g}</text>']
    for t, p in pairs:
        x, y = xy(t, p)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#1f77b4" fill-opacity="0.6"/>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_bars(values: dict[str, float], title: str, width=440) -> str:
    """Horizontal bars from 0 to 1 (scores per label or class)."""
    if not values:
        return ""
    row, left = 20, 120
    height = 30 + row * len(values)
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="13">{esc(title)}</text>']
    span = width - left - 50
    for i, (name, v) in enumerate(values.items()):
        y = 24 + i * row
        v = v if isinstance(v, float) and math.isfinite(v) else 0.0
        parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" font-size="11">{esc(name[:18])}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{max(span * min(max(v, 0), 1), 1):.1f}" height="{row - 6}" '
                     'fill="#1f77b4"/>')
        parts.append(f'<text x="{left + span * min(max(v, 0), 1) + 4:.1f}" y="{y + 12}" font-size="10">{v:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[list], header: list[str] | None = None, cls: str = "") -> str:
    out = [f"<table class='{cls}'>" if cls else "<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _confusion(classes: list[str], matrix: list[list[int]]) -> str:
    """The confusion matrix with each cell shaded by its share of the true class's images."""
    out = ["<table class='confusion'><tr><th>true ↓ / predicted →</th>"
           + "".join(f"<th>{esc(c)}</th>" for c in classes) + "</tr>"]
    for c, row in zip(classes, matrix):
        total = max(sum(row), 1)
        cells = []
        for j, n in enumerate(row):
            share = n / total
            colour = f"rgba(31,119,180,{share:.2f})" if j == classes.index(c) else f"rgba(214,39,40,{share:.2f})"
            cells.append(f"<td style='background:{colour}'>{n}</td>")
        out.append(f"<tr><th>{esc(c)}</th>{''.join(cells)}</tr>")
    out.append("</table>")
    return "".join(out)


def _png(rgb) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# ---------------------------------------------------------------- reading the run


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _read_csv(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def _versions() -> list[list[str]]:
    rows = [["PetriLab", __version__], ["Python", platform.python_version()], ["System", platform.platform()]]
    for name in ("keras", "tensorflow", "torch", "numpy", "scipy", "skimage", "tifffile"):
        try:
            module = __import__(name)
            rows.append([name, getattr(module, "__version__", "?")])
        except ImportError:
            pass
    return rows


def _settings(run_dir: Path):
    from petrilab import settings as settings_io
    from petrilab.errors import UserError

    try:
        return settings_io.load(run_dir / runs.SETTINGS)
    except UserError:
        return None


# ---------------------------------------------------------------- sections


def _overview(run_dir: Path, settings, started: dict, finished: dict, history: list[dict]) -> list[str]:
    task = settings.task.kind if settings else started.get("task", "")
    rows = [["Task", TASK_TITLES.get(task, task)],
            ["Experiment", settings.name if settings else run_dir.name],
            ["Started", time.strftime("%Y-%m-%d %H:%M", time.localtime(started["time"])) if started.get("time") else "—"],
            ["Status", f"{finished.get('status', 'unfinished')}, {len(history)} epochs"
                       + (f" (best: epoch {finished['best_epoch'] + 1})" if finished.get("best_epoch") is not None else "")],
            ["Device", started.get("device", "—")],
            ["Network", f"{settings.model.architecture}, {fmt(started.get('parameters', 0))} parameters "
                        f"({fmt(started.get('trainable_parameters', started.get('parameters', 0)))} trained)"
                        if settings else "—"],
            ["Images (train / validation / test)",
             f"{started.get('n_train', '—')} / {started.get('n_validation', '—')} / {started.get('n_test', '—')}"],
            ["Seeds (split / training)", f"{settings.split.seed} / {settings.training.seed}" if settings else "—"],
            ["Data fingerprint (SHA-256 of all input files)", started.get("data_fingerprint", "—")]]
    return [_table(rows, cls="facts")]


def _dataset(check: dict | None, run_dir: Path) -> list[str]:
    body = ["<h2>Dataset</h2>"]
    if check:
        task = check.get("task", "")
        kind = {"regression": "value", "multilabel": "label"}.get(task, "class")
        counts = check.get("counts", {})
        if counts:
            what = {"value": "images with the value", "label": "images with the label"}.get(kind, "images")
            body.append(_table([[k, fmt(v)] for k, v in counts.items()], [kind, what]))
        facts = []
        for key, title in (("sizes", "Image sizes"), ("channels", "Channels"), ("dtypes", "Bit depths")):
            if check.get(key):
                facts.append([title, ", ".join(f"{k}: {v}" for k, v in check[key].items())])
        if facts:
            body.append(_table(facts, cls="facts"))
        findings = check.get("findings", [])
        if findings:
            body.append("<ul>" + "".join(f"<li><b>{esc(f['level'])}</b>: {esc(f['message'])}</li>" for f in findings)
                        + "</ul>")
    split = _read_csv(run_dir / runs.SPLIT)
    if split:
        subsets = ("train", "validation", "test")
        groups = sorted({row.get("class", "") for row in split})
        by = Counter((row.get("class", ""), row.get("subset", "")) for row in split)
        body.append("<h3>Split</h3>")
        rows = [[g or "all", *[by[(g, s)] for s in subsets]] for g in groups] if len(groups) <= 30 else []
        rows.append(["total", *[sum(by[(g, s)] for g in groups) for s in subsets]])
        body.append(_table(rows, ["group", *subsets]))
    return body


def _curves(history: list[dict], started: dict) -> list[str]:
    if not history:
        return []
    body = ["<h2>Training curves</h2><div class='plots'>", _svg_curves(history, "loss", "Loss")]
    main = started.get("main_metric") or "accuracy"
    for metric in dict.fromkeys([main, "iou", "accuracy"]):
        if metric in history[0]:
            body.append(_svg_curves(history, metric, METRIC_TITLES.get(metric, metric)))
            break
    body.append("</div>")
    return body


def _diagnosis(diagnosis: dict | None) -> list[str]:
    if not diagnosis:
        return []
    body = [f"<h2>Diagnosis: {esc(diagnosis.get('title', diagnosis.get('verdict', '')))}</h2>",
            f"<p>{esc(diagnosis.get('summary', ''))}</p>"]
    evidence = diagnosis.get("evidence", [])
    if evidence:
        body.append("<p>Evidence:</p><ul>" + "".join(f"<li>{esc(e)}</li>" for e in evidence) + "</ul>")
    advice = diagnosis.get("advice", [])
    if advice:
        body.append("<p>Advice:</p><ul>" + "".join(f"<li>{esc(a.get('text', a))}</li>" for a in advice) + "</ul>")
    return body


def _classification(evaluation: dict) -> list[str]:
    m = evaluation["metrics"]
    body = [_table([["accuracy", fmt(m["accuracy"])], ["balanced accuracy", fmt(m["balanced_accuracy"])],
                    ["macro F1", fmt(m["macro_f1"])]], cls="facts"),
            _table([[c, fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]), v["support"]]
                    for c, v in m["per_class"].items()], ["class", "precision", "recall", "F1", "images"])]
    if evaluation.get("confusion_matrix"):
        body.append("<p>Confusion matrix (rows: true class, columns: predicted class; shade: share of the row)</p>")
        body.append(_confusion(evaluation["classes"], evaluation["confusion_matrix"]))
    return body


def _regression(evaluation: dict, run_dir: Path) -> list[str]:
    m = evaluation["metrics"]
    body = [_table([[t, fmt(v["mae"], 4), fmt(v["rmse"], 4), fmt(v["r2"]), fmt(v["baseline_mae"], 4),
                     fmt(v["baseline_rmse"], 4)] for t, v in m["per_target"].items()],
                   ["value", "MAE", "RMSE", "R²", "baseline MAE", "baseline RMSE"]),
            "<p>Baseline: always answering the training images' mean. A useful model has errors well below it.</p>"]
    rows = _read_csv(run_dir / TEST_PREDICTIONS)
    plots = []
    for target in m["per_target"]:
        try:
            true = [float(r[f"true_{target}"]) for r in rows]
            pred = [float(r[f"predicted_{target}"]) for r in rows]
        except (KeyError, ValueError):
            continue
        plots.append(_svg_scatter(true, pred, f"{target}: predicted vs true"))
    if plots:
        body.append("<div class='plots'>" + "".join(plots) + "</div>")
    return body


def _multilabel(evaluation: dict) -> list[str]:
    m = evaluation["metrics"]
    return [_table([["exact match", fmt(m["exact_match"])], ["Hamming loss", fmt(m["hamming_loss"])],
                    ["macro F1", fmt(m["macro_f1"])], ["macro AUC", fmt(m["macro_auc"])]], cls="facts"),
            _table([[label, fmt(v["threshold"]), fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]), fmt(v["auc"]),
                     v["support"]] for label, v in m["per_label"].items()],
                   ["label", "threshold", "precision", "recall", "F1", "AUC", "images"]),
            "<div class='plots'>" + _svg_bars({k: v["f1"] for k, v in m["per_label"].items()}, "F1 per label")
            + _svg_bars({k: v["auc"] for k, v in m["per_label"].items()}, "AUC per label") + "</div>"]


def _segmentation(evaluation: dict, run_dir: Path, trained) -> list[str]:
    m = evaluation["metrics"]
    names = {"iou": "IoU (foreground)", "dice": "Dice (foreground)", "pixel_accuracy": "pixel accuracy",
             "foreground_share": "foreground share of the pixels", "object_precision": "object precision (IoU ≥ 0.5)",
             "object_recall": "object recall (IoU ≥ 0.5)", "object_f1": "object F1 (IoU ≥ 0.5)",
             "average_precision": "average precision (IoU ≥ 0.5)",
             "average_precision_50_95": "average precision (IoU 0.5 to 0.95)", "mean_matched_iou": "mean IoU of matched objects"}
    body = [_table([[names.get(k, k.replace("_", " ")), fmt(v)] for k, v in m.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)], cls="facts")]
    if evaluation.get("threshold") is not None:
        body.append(f"<p>Foreground threshold: {fmt(evaluation['threshold'])}.</p>")
    per_class = m.get("per_class", {})
    if per_class:
        body.append(_table([[c, fmt(v.get("iou")), fmt(v.get("dice")), fmt(v.get("precision")), fmt(v.get("recall"))]
                            for c, v in per_class.items()], ["class", "IoU", "Dice", "precision", "recall"]))
    examples = _segmentation_examples(run_dir, trained)
    if examples:
        body.append("<h3>Examples from the test images</h3><p>Outlines: <span style='color:#0a5'>true</span>, "
                    "<span style='color:#c0c'>predicted</span>, <span style='color:#b90'>both</span>.</p>"
                    "<div class='plots'>" + "".join(examples) + "</div>")
    return body


def _segmentation_examples(run_dir: Path, trained) -> list[str]:
    """A few test images with true and predicted outlines (needs the model: skipped when it cannot be run)."""
    try:
        from petrilab.data.images import read_image
        from petrilab.data.masks import read_mask
        from petrilab.prediction.overlay import comparison_overlay
        from petrilab.prediction.trained_model import TrainedModel

        rows = [r for r in _read_csv(run_dir / runs.SPLIT) if r.get("subset") == "test"][:EXAMPLES]
        if not rows:
            return []
        trained = trained or TrainedModel(run_dir)
        task = trained.settings.task.kind
        figures = []
        for row in rows:
            path = Path(row["file"])
            image = read_image(path)
            found = trained.recipe.predict_image(trained, image)
            masks = path.parent.parent / "masks"  # DATA/images/<name> + DATA/masks/<same name, any extension>
            mask = next((m for m in sorted(masks.glob(path.stem + ".*")) if m.stem == path.stem), masks / path.name)
            true = read_mask(mask, task)
            if task == "semantic":
                from skimage.measure import label

                true, pred = label(true > 0), label(found["mask"] > 0)
            else:
                pred = found["labels"]
            overlay = comparison_overlay(image, true, pred)
            figures.append(f"<figure><img src='{_png(overlay)}' width='{min(360, max(overlay.shape[1], 240))}'>"
                           f"<figcaption>{esc(path.name)}</figcaption></figure>")
        return figures
    except Exception as exc:  # a report never fails because an example could not be drawn
        return [f"<p class='warn'>Examples could not be drawn ({esc(exc.__class__.__name__)}).</p>"]


def _evaluation(evaluation: dict | None, run_dir: Path, trained) -> list[str]:
    if not evaluation:
        return ["<h2>Test set</h2><p>No test-set evaluation in this run.</p>"]
    task = evaluation.get("task", "classification")
    n = evaluation["n_images"]
    body = [f"<h2>Test set ({n} image{'s' if n != 1 else ''}, {esc(evaluation['source'])})</h2>"]
    if task == "regression":
        body += _regression(evaluation, run_dir)
    elif task == "multilabel":
        body += _multilabel(evaluation)
    elif task in ("semantic", "instance"):
        body += _segmentation(evaluation, run_dir, trained)
    else:
        body += _classification(evaluation)
    for w in evaluation.get("warnings", []):
        body.append(f"<p class='warn'>{esc(w)}</p>")
    return body


STYLE = ("body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222;line-height:1.35}"
         "h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:2px;margin-top:1.4em}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
         "th{background:#f3f3f3}table.facts td:first-child{color:#555}table.confusion td{text-align:center;min-width:3em}"
         ".plots{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}figure{margin:0}"
         "figcaption{font-size:.85em;color:#555}img{image-rendering:pixelated}"
         ".warn{color:#a40}pre{background:#f6f6f6;padding:1em;font-size:.85em;white-space:pre-wrap}"
         "@media print{body{margin:0}h2{break-after:avoid}.plots,table,figure{break-inside:avoid}}")


def build_report(run_dir: str | Path, trained=None) -> str:
    """The report page as HTML text. `trained`: the model already in memory (segmentation examples)."""
    run_dir = Path(run_dir)
    settings = _settings(run_dir)
    settings_text = (run_dir / runs.SETTINGS).read_text(encoding="utf-8") if (run_dir / runs.SETTINGS).exists() else ""
    history = runs.read_history(run_dir / runs.HISTORY) if (run_dir / runs.HISTORY).exists() else []
    events = read_all(run_dir / runs.EVENTS)
    started = next((e for e in events if e.get("event") == "started"), {})
    finished = next((e for e in reversed(events) if e.get("event") == "finished"), {})
    task = settings.task.kind if settings else ""
    body = [f"<h1>PetriLab report: {esc(settings.name if settings else run_dir.name)}</h1>",
            f"<p>Run folder {esc(run_dir.name)} · {esc(TASK_TITLES.get(task, task))} · written "
            f"{time.strftime('%Y-%m-%d %H:%M')} by PetriLab {__version__}</p>"]
    body += _overview(run_dir, settings, started, finished, history)
    body += _dataset(_load_json(run_dir / runs.DATASET_CHECK), run_dir)
    body += _curves(history, started)
    body += _diagnosis(_load_json(run_dir / runs.DIAGNOSIS))
    body += _evaluation(_load_json(run_dir / runs.EVALUATION), run_dir, trained)
    body.append("<h2>Settings</h2><p>Exactly what ran (settings.toml); <code>petrilab train</code> on this file "
                "repeats the experiment.</p><pre>" + esc(settings_text) + "</pre>")
    body.append("<h2>Software</h2>" + _table(_versions()))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>PetriLab report</title><style>" + STYLE
            + "</style></head><body>" + "".join(body) + "</body></html>")


def write_report(run_dir: str | Path, trained=None) -> Path:
    run_dir = Path(run_dir)
    return runs.atomic_write_text(run_dir / runs.REPORT, build_report(run_dir, trained))
