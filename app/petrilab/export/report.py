"""report.html: one self-contained page per run for a lab notebook or a methods section.

What it holds: the task and the data (dataset summary, split counts), the
training curves, the verdict with its evidence, the test-set results each
task reports (its recipe's `report_section`, in the family's package:
tasks/<family>/report.py: a confusion matrix; per-value scores and a
predicted-vs-true plot; per-label scores; example overlays), the exact
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
from petrilab.export.report_blocks import Bullets, Charts, Code, Document, Heading, Para, Table
from petrilab.export.report_html import render_html
from petrilab.export.report_svg import svg_curves
from petrilab.tasks import DEFAULT_TASK, TASKS

METRIC_TITLES = {"accuracy": "Accuracy", "mae": "Mean absolute error (in the values' units)", "auc": "AUC",
                 "iou": "IoU", "dice": "Dice"}


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


def read_csv(path: Path) -> list[dict]:
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
    split = read_csv(run_dir / runs.SPLIT)
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


def _evaluation(evaluation: dict | None, run_dir: Path, trained) -> list:
    if not evaluation:
        return [Heading("Test set"), Para("No test-set evaluation in this run.")]
    from petrilab.recipes import get_recipe

    task = evaluation.get("task", DEFAULT_TASK)
    n = evaluation["n_images"]
    body: list = [Heading(f"Test set ({n} image{'s' if n != 1 else ''}, {evaluation['source']})")]
    body += get_recipe(task if task in TASKS else DEFAULT_TASK).report_section(evaluation, run_dir, trained)
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
