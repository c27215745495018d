"""report.html: one self-contained page per run for a lab notebook or a methods section.

What it holds: the task and the data (dataset summary, split counts), the
training curves, the verdict with its evidence, the test-set results each
task reports (confusion matrix; per-value scores and a predicted-vs-true
plot; per-label scores; example overlays for segmentation), the exact
settings, software versions and seeds. No plotting library: charts are
inline SVG and pictures inline PNG, so the page opens anywhere, offline, and
prints cleanly.

The content is built here once as a list of blocks (export/report_blocks.py:
headings, paragraphs, tables, charts, pictures); export/report_html.py lays
them out as the page (charts drawn by export/report_svg.py) and export/pdf.py
as report.pdf, so both always say the same.
"""

from __future__ import annotations

import csv
import json
import math
import platform
import time
from collections import Counter
from pathlib import Path

from petrilab import __version__, runs
from petrilab.run_state import read_run
from petrilab.export.report_blocks import Bullets, Charts, Code, Confusion, Document, Figures, Heading, Para, Table
from petrilab.export.report_html import render_html
from petrilab.export.report_svg import svg_bars, svg_curves, svg_scatter
from petrilab.tasks import DEFAULT_TASK, TASKS

METRIC_TITLES = {"accuracy": "Accuracy", "mae": "Mean absolute error (in the values' units)", "auc": "AUC",
                 "iou": "IoU", "dice": "Dice"}
TEST_PREDICTIONS = "test_predictions.csv"
EXAMPLES = 3  # segmentation overlays shown


def _title(task: str) -> str:
    return TASKS[task].title if task in TASKS else task


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


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


# the packages a report names, each with the distributions that may provide it (first installed wins)
REPORTED_PACKAGES = {"keras": ("keras",), "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos",
                                                           "tf-nightly"),
                     "torch": ("torch",), "numpy": ("numpy",), "scipy": ("scipy",), "skimage": ("scikit-image",),
                     "tifffile": ("tifffile",)}


def _versions() -> list[list[str]]:
    """Installed versions, read from the packages' metadata: nothing is imported (a half-installed optional
    package, like a broken PyTorch, must not break a report, nor take seconds to load just to be named)."""
    from importlib import metadata

    rows = [["PetriLab", __version__], ["Python", platform.python_version()], ["System", platform.platform()]]
    for name, distributions in REPORTED_PACKAGES.items():
        for distribution in distributions:
            try:
                rows.append([name, metadata.version(distribution)])
                break
            except Exception:  # not installed, or metadata unreadable: not named
                continue
    return rows


def _settings(run_dir: Path):
    from petrilab import settings as settings_io
    from petrilab.errors import UserError

    try:
        return settings_io.load(run_dir / runs.SETTINGS)
    except UserError:
        return None


# ---------------------------------------------------------------- sections


def _overview(run_dir: Path, settings, started: dict, finished: dict, history: list[dict]) -> list:
    task = settings.task.kind if settings else started.get("task", "")
    rows = [["Task", _title(task)],
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
    if started.get("start_from"):
        head = {"kept": "its output layer kept", "replaced": "a new output layer for these classes"}
        rows.append(["Started from (fine-tuning)", f"{started['start_from']} ({head.get(started.get('start_from_head'), '')}; "
                                                   f"SHA-256 {started.get('start_from_sha256', '—')})"])
    return [Table(rows, facts=True)]


def _dataset(check: dict | None, run_dir: Path) -> list:
    body: list = [Heading("Dataset")]
    if check:
        task = check.get("task", "")
        kind = TASKS[task].item if task in TASKS else "class"
        counts = check.get("counts", {})
        if counts:
            what = {"value": "images with the value", "label": "images with the label"}.get(kind, "images")
            body.append(Table([[k, fmt(v)] for k, v in counts.items()], [kind, what]))
        facts = []
        for key, title in (("sizes", "Image sizes"), ("channels", "Channels"), ("dtypes", "Bit depths")):
            if check.get(key):
                facts.append([title, ", ".join(f"{k}: {v}" for k, v in check[key].items())])
        if facts:
            body.append(Table(facts, facts=True))
        findings = check.get("findings", [])
        if findings:
            body.append(Bullets([f"{f['level']}: {f['message']}" for f in findings]))
    split = _read_csv(run_dir / runs.SPLIT)
    if split:
        subsets = ("train", "validation", "test")
        groups = sorted({row.get("class", "") for row in split})
        by = Counter((row.get("class", ""), row.get("subset", "")) for row in split)
        body.append(Heading("Split", 3))
        rows = [[g or "all", *[by[(g, s)] for s in subsets]] for g in groups] if len(groups) <= 30 else []
        rows.append(["total", *[sum(by[(g, s)] for g in groups) for s in subsets]])
        body.append(Table(rows, ["group", *subsets]))
    return body


def _curves(history: list[dict], started: dict) -> list:
    if not history:
        return []
    charts = [svg_curves(history, "loss", "Loss")]
    main = started.get("main_metric") or "accuracy"
    for metric in dict.fromkeys([main, "iou", "accuracy"]):
        if metric in history[0]:
            charts.append(svg_curves(history, metric, METRIC_TITLES.get(metric, metric)))
            break
    return [Heading("Training curves"), Charts([c for c in charts if c])]


def _diagnosis(diagnosis: dict | None) -> list:
    if not diagnosis:
        return []
    body: list = [Heading(f"Diagnosis: {diagnosis.get('title', diagnosis.get('verdict', ''))}"),
                  Para(diagnosis.get("summary", ""))]
    evidence = diagnosis.get("evidence", [])
    if evidence:
        body.append(Bullets([str(e) for e in evidence], "Evidence:"))
    advice = diagnosis.get("advice", [])
    if advice:
        body.append(Bullets([str(a.get("text", a)) if isinstance(a, dict) else str(a) for a in advice], "Advice:"))
    return body


def _classification(evaluation: dict) -> list:
    m = evaluation["metrics"]
    body: list = [Table([["accuracy", fmt(m["accuracy"])], ["balanced accuracy", fmt(m["balanced_accuracy"])],
                         ["macro F1", fmt(m["macro_f1"])]], facts=True),
                  Table([[c, fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]), v["support"]]
                         for c, v in m["per_class"].items()], ["class", "precision", "recall", "F1", "images"])]
    if evaluation.get("confusion_matrix"):
        body.append(Para("Confusion matrix (rows: true class, columns: predicted class; shade: share of the row)"))
        body.append(Confusion(evaluation["classes"], evaluation["confusion_matrix"]))
    return body


def _regression(evaluation: dict, run_dir: Path) -> list:
    m = evaluation["metrics"]
    body: list = [Table([[t, fmt(v["mae"], 4), fmt(v["rmse"], 4), fmt(v["r2"]), fmt(v["baseline_mae"], 4),
                          fmt(v["baseline_rmse"], 4)] for t, v in m["per_target"].items()],
                        ["value", "MAE", "RMSE", "R²", "baseline MAE", "baseline RMSE"]),
                  Para("Baseline: always answering the training images' mean. A useful model has errors well "
                       "below it.")]
    rows = _read_csv(run_dir / TEST_PREDICTIONS)
    plots = []
    for target in m["per_target"]:
        try:
            true = [float(r[f"true_{target}"]) for r in rows]
            pred = [float(r[f"predicted_{target}"]) for r in rows]
        except (KeyError, ValueError):
            continue
        plots.append(svg_scatter(true, pred, f"{target}: predicted vs true"))
    plots = [p for p in plots if p]
    if plots:
        body.append(Charts(plots))
    return body


def _multilabel(evaluation: dict) -> list:
    m = evaluation["metrics"]
    return [Table([["exact match", fmt(m["exact_match"])], ["Hamming loss", fmt(m["hamming_loss"])],
                   ["macro F1", fmt(m["macro_f1"])], ["macro AUC", fmt(m["macro_auc"])]], facts=True),
            Table([[label, fmt(v["threshold"]), fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]), fmt(v["auc"]),
                    v["support"]] for label, v in m["per_label"].items()],
                  ["label", "threshold", "precision", "recall", "F1", "AUC", "images"]),
            Charts([svg_bars({k: v["f1"] for k, v in m["per_label"].items()}, "F1 per label"),
                    svg_bars({k: v["auc"] for k, v in m["per_label"].items()}, "AUC per label")])]


def _segmentation(evaluation: dict, run_dir: Path, trained) -> list:
    m = evaluation["metrics"]
    names = {"iou": "IoU (foreground)", "dice": "Dice (foreground)", "pixel_accuracy": "pixel accuracy",
             "foreground_share": "foreground share of the pixels", "object_precision": "object precision (IoU ≥ 0.5)",
             "object_recall": "object recall (IoU ≥ 0.5)", "object_f1": "object F1 (IoU ≥ 0.5)",
             "average_precision": "average precision (IoU ≥ 0.5)",
             "average_precision_50_95": "average precision (IoU 0.5 to 0.95)", "mean_matched_iou": "mean IoU of matched objects"}
    body: list = [Table([[names.get(k, k.replace("_", " ")), fmt(v)] for k, v in m.items()
                         if isinstance(v, (int, float)) and not isinstance(v, bool)], facts=True)]
    if evaluation.get("threshold") is not None:
        body.append(Para(f"Foreground threshold: {fmt(evaluation['threshold'])}."))
    per_class = m.get("per_class", {})
    if per_class:
        body.append(Table([[c, fmt(v.get("iou")), fmt(v.get("dice")), fmt(v.get("precision")), fmt(v.get("recall"))]
                           for c, v in per_class.items()], ["class", "IoU", "Dice", "precision", "recall"]))
    body += _segmentation_examples(run_dir, trained)
    return body


OUTLINE_LEGEND = [("#0a5", "true"), ("#c0c", "predicted"), ("#b90", "both")]


def _segmentation_examples(run_dir: Path, trained) -> list:
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
            if not TASKS[task].has_objects:  # classes per pixel: their connected regions are the objects
                from skimage.measure import label

                true, pred = label(true > 0), label(found["mask"] > 0)
            else:
                pred = found["labels"]
            figures.append((comparison_overlay(image, true, pred), path.name))
        return [Heading("Examples from the test images", 3), Figures(figures, OUTLINE_LEGEND)]
    except Exception as exc:  # a report never fails because an example could not be drawn
        return [Para(f"Examples could not be drawn ({exc.__class__.__name__}).", warn=True)]


def _evaluation(evaluation: dict | None, run_dir: Path, trained) -> list:
    if not evaluation:
        return [Heading("Test set"), Para("No test-set evaluation in this run.")]
    task = TASKS.get(evaluation.get("task", DEFAULT_TASK), TASKS[DEFAULT_TASK])
    n = evaluation["n_images"]
    body: list = [Heading(f"Test set ({n} image{'s' if n != 1 else ''}, {evaluation['source']})")]
    if task.has_targets:
        body += _regression(evaluation, run_dir)
    elif task.multi_label:
        body += _multilabel(evaluation)
    elif task.per_pixel:
        body += _segmentation(evaluation, run_dir, trained)
    else:
        body += _classification(evaluation)
    for w in evaluation.get("warnings", []):
        body.append(Para(w, warn=True))
    return body


def build_document(run_dir: str | Path, trained=None) -> Document:
    """The report's content, block by block. `trained`: the model already in memory (segmentation examples)."""
    run_dir = Path(run_dir)
    settings = _settings(run_dir)
    settings_text = (run_dir / runs.SETTINGS).read_text(encoding="utf-8") if (run_dir / runs.SETTINGS).exists() else ""
    history = runs.read_history(run_dir / runs.HISTORY) if (run_dir / runs.HISTORY).exists() else []
    state = read_run(run_dir, ask_cluster=False)  # a resumed run: its latest start, from its first start's time
    started = {**state.started, "time": state.first_started} if state.started else {}
    finished = state.finished
    task = settings.task.kind if settings else ""
    blocks: list = []
    blocks += _overview(run_dir, settings, started, finished, history)
    blocks += _dataset(_load_json(run_dir / runs.DATASET_CHECK), run_dir)
    blocks += _curves(history, started)
    blocks += _diagnosis(_load_json(run_dir / runs.DIAGNOSIS))
    blocks += _evaluation(_load_json(run_dir / runs.EVALUATION), run_dir, trained)
    blocks += [Heading("Settings"),
               Para("Exactly what ran (settings.toml); 'petrilab train' on this file repeats the experiment."),
               Code(settings_text), Heading("Software"), Table(_versions())]
    return Document(f"PetriLab report: {settings.name if settings else run_dir.name}",
                    f"Run folder {run_dir.name} · {_title(task)} · written "
                    f"{time.strftime('%Y-%m-%d %H:%M')} by PetriLab {__version__}", blocks)


def build_report(run_dir: str | Path, trained=None) -> str:
    """The report page as HTML text. `trained`: the model already in memory (segmentation examples)."""
    return render_html(build_document(run_dir, trained))


def write_report(run_dir: str | Path, trained=None) -> Path:
    run_dir = Path(run_dir)
    return runs.atomic_write_text(run_dir / runs.REPORT, build_report(run_dir, trained))
