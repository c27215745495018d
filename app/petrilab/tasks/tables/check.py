"""The check of a dataset whose values come from a table (dataset.py reads it): the image check plus the
table's own findings (bad cells by line, too few images, constant or rare values, the same image twice,
the table's name), and the values' statistics the data page draws."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from petrilab.data.check import ERROR, INFO, WARNING, DatasetReport, Finding, check_dataset
from petrilab.tasks import TASKS
from petrilab.tasks.tables.dataset import FILENAME_COLUMN, IMAGES_FOLDER, TABLE_FILES, TableDataset

# Rows listed one by one in a message; beyond this they are counted.
MAX_LISTED = 8
# Fewer images than this cannot be split into training, validation and test sets worth the name.
MIN_IMAGES = 5
# Fewer than this and the curves get noisy and the model overfits quickly.
FEW_IMAGES = 30
# A label with fewer positive images than this is hard to learn and to measure.
FEW_POSITIVES = 5
# Bins of the histograms the data page draws.
HISTOGRAM_BINS = 20


@dataclass
class TableReport(DatasetReport):
    table: str | None = None
    columns: list[str] = field(default_factory=list)  # what the model learns
    available: list[str] = field(default_factory=list)  # every value column of the table
    ignored: list[str] = field(default_factory=list)  # columns without numbers, left out
    # regression: column -> {"n", "min", "max", "mean", "std", "edges": [..], "counts": [..]}
    targets: dict[str, dict] = field(default_factory=dict)
    # multi-label: label -> {"positives", "share"}; and how many images carry 0, 1, 2… labels
    labels: dict[str, dict] = field(default_factory=dict)
    labels_per_image: dict[str, int] = field(default_factory=dict)

    def to_text(self) -> str:
        lines = [f"{self.n_images} readable images, values from {Path(self.table).name if self.table else 'the table'}."]
        for name, t in self.targets.items():
            lines.append(f"  {name}: {t['min']:.4g} … {t['max']:.4g} (mean {t['mean']:.4g}, std {t['std']:.4g})")
        for name, t in self.labels.items():
            lines.append(f"  {name}: {t['positives']} images ({t['share']:.0%})")
        body = super().to_text().splitlines()[1 + len(self.classes):]  # sizes, channels, findings…
        return "\n".join(lines + body)


def check_table(dataset: TableDataset, progress: Callable[[int, int], None] | None = None) -> TableReport:
    """The image check (sizes, channels, bit depth, unreadable files) plus the table's own findings."""
    base = check_dataset(dataset, progress=progress, by_class=False)
    fields = {k: v for k, v in base.__dict__.items()}
    report = TableReport(**fields, table=str(dataset.table), columns=list(dataset.columns),
                         available=list(dataset.available), ignored=list(dataset.ignored))
    unreadable = set(base.unreadable)
    usable = dataset.excluding(unreadable)
    report.classes = list(dataset.columns)
    values = usable.values()
    if TASKS[dataset.task].has_targets:
        report.targets = target_statistics(dataset.columns, values)
        report.counts = {c: int(values.shape[0]) for c in dataset.columns}
    else:
        report.labels = label_frequencies(dataset.columns, values)
        report.counts = {c: report.labels[c]["positives"] for c in dataset.columns}
        per_image = Counter(int(k) for k in values.sum(axis=1)) if len(values) else Counter()
        report.labels_per_image = {str(k): int(per_image[k]) for k in sorted(per_image)}
    report.n_images = int(values.shape[0])
    findings = _problem_findings(dataset) + _amount_findings(dataset, report)
    findings += _value_findings(dataset, report) + _same_image_findings(dataset)
    findings += table_findings(dataset, report)
    report.findings = findings + report.findings
    return report


def target_statistics(columns: list[str], values: np.ndarray, bins: int = HISTOGRAM_BINS) -> dict[str, dict]:
    """Per target: count, range, mean, spread and a histogram (bin edges and counts)."""
    stats = {}
    for j, name in enumerate(columns):
        v = values[:, j] if values.size else np.zeros(0)
        if not len(v):
            stats[name] = {"n": 0, "min": 0.0, "max": 0.0, "mean": 0.0, "std": 0.0, "edges": [], "counts": []}
            continue
        low, high = float(v.min()), float(v.max())
        counts, edges = np.histogram(v, bins=bins, range=(low, high if high > low else low + 1.0))
        stats[name] = {"n": int(len(v)), "min": low, "max": high, "mean": float(v.mean()),
                       "std": float(v.std()), "edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
    return stats


def label_frequencies(columns: list[str], values: np.ndarray) -> dict[str, dict]:
    """Per label: how many images carry it and their share."""
    n = values.shape[0] if values.size else 0
    out = {}
    for j, name in enumerate(columns):
        positives = int(values[:, j].sum()) if n else 0
        out[name] = {"positives": positives, "share": positives / n if n else 0.0}
    return out


def _lines(lines: list[int], values: list[str] | None = None) -> str:
    """'line 4', 'lines 4, 9 and 12', 'lines 4, 9, … (31 lines)', with the cells when given."""
    shown = []
    for i, line in enumerate(lines[:MAX_LISTED]):
        cell = values[i] if values is not None else None
        shown.append(f"{line} ('{cell}')" if cell else str(line))
    text = ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else shown[0]
    if len(lines) > MAX_LISTED:
        text = ", ".join(shown) + f", … ({len(lines)} lines in all)"
    return ("lines " if len(lines) > 1 else "line ") + text


def _names(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def _problem_findings(dataset: TableDataset) -> list[Finding]:
    table = dataset.table
    name = table.name
    what = "a number" if TASKS[dataset.task].has_targets else "0 or 1"
    out = []
    for p in dataset.problems:
        col = f"column '{p.column}'"
        if p.kind == "not_a_number":
            message = f"In {name}, {col} holds text instead of a number on {_lines(p.lines, p.values)}."
            fix = (f"Write {what} in each cell (a dot as decimal mark, or save the CSV with ';' between cells "
                   f"for a decimal comma), or leave the column out.")
        elif p.kind == "empty" and p.column == FILENAME_COLUMN:
            message = f"In {name}, {_lines(p.lines)} have no file name." if len(p.lines) > 1 else \
                f"In {name}, line {p.lines[0]} has no file name."
            fix = f"Write the image's file name in the '{FILENAME_COLUMN}' column, or delete the line."
        elif p.kind == "empty":
            message = f"In {name}, {col} is empty on {_lines(p.lines)}."
            fix = f"Fill in {what} for each image, or move the images you cannot annotate out of '{IMAGES_FOLDER}' " \
                  f"and delete their lines."
        elif p.kind == "not_finite":
            message = f"In {name}, {col} holds a value that is not a finite number on {_lines(p.lines, p.values)}."
            fix = "Replace NaN or infinity by the measured value, or remove the image and its line."
        elif p.kind == "not_binary":
            message = (f"In {name}, {col} holds values other than 0 and 1 on {_lines(p.lines, p.values)}: a label "
                       f"is either present (1) or absent (0).")
            fix = "Write 1 where the image shows the label and 0 where it does not."
        elif p.kind == "duplicate":
            message = f"In {name}, the same image is listed more than once: {_lines(p.lines, p.values)}."
            fix = "Keep one line per image and delete the others."
        elif p.kind == "no_image":
            message = f"{name} names images that are not in the '{IMAGES_FOLDER}' folder: {_lines(p.lines, p.values)}."
            fix = (f"Check the spelling (upper/lower case and extension count), put the missing images in "
                   f"'{IMAGES_FOLDER}', or delete their lines.")
        elif p.kind == "no_row":
            message = (f"{len(p.values)} image(s) in '{IMAGES_FOLDER}' have no line in {name}: "
                       f"{_names(p.values)}.")
            fix = f"Add a line for each of them to {name}, or move them out of the '{IMAGES_FOLDER}' folder."
        else:  # pragma: no cover - every kind above
            continue
        out.append(Finding(ERROR, message, str(table), fix))
    return out


def _amount_findings(dataset: TableDataset, report: TableReport) -> list[Finding]:
    n = report.n_images
    if n < MIN_IMAGES:
        return [Finding(ERROR, f"Only {n} image(s) have usable values: too few to train, validate and test a model.",
                        str(dataset.table), f"Annotate more images (at least {FEW_IMAGES}, ideally hundreds).")]
    if n < FEW_IMAGES:
        return [Finding(WARNING, f"Only {n} images have values; with so few the model overfits quickly and the "
                                 f"validation curve will be noisy.", str(dataset.table),
                        "Add more images if you can. Meanwhile use a small network and fewer epochs.")]
    return []


def _value_findings(dataset: TableDataset, report: TableReport) -> list[Finding]:
    out = []
    table = str(dataset.table)
    if dataset.ignored:
        out.append(Finding(INFO, f"The column(s) {_names(dataset.ignored)} of {dataset.table.name} hold no numbers "
                                 f"and are ignored.", table))
    for name, t in report.targets.items():
        if t["n"] >= 2 and t["max"] == t["min"]:
            out.append(Finding(ERROR, f"The column '{name}' has the same value ({t['min']:g}) for every image: "
                                      f"there is nothing to learn.", table,
                               "Leave this column out ('data.target_columns'), or check the table."))
    n = report.n_images
    for name, t in report.labels.items():
        if t["positives"] == 0:
            out.append(Finding(WARNING, f"No image has the label '{name}': the model cannot learn it.", table,
                               "Annotate images that show it, or leave this label out ('data.target_columns')."))
        elif t["positives"] == n:
            out.append(Finding(WARNING, f"Every image has the label '{name}': the model cannot learn when it is "
                                        f"absent.", table,
                               "Add images without it, or leave this label out ('data.target_columns')."))
        elif t["positives"] < FEW_POSITIVES or n - t["positives"] < FEW_POSITIVES:
            rare = "present" if t["positives"] < FEW_POSITIVES else "absent"
            count = t["positives"] if rare == "present" else n - t["positives"]
            out.append(Finding(WARNING, f"The label '{name}' is {rare} in only {count} image(s): too few to learn it "
                                        f"well and to measure it.", table,
                               f"Add images where '{name}' is {rare} (at least {FEW_POSITIVES * 4})."))
    if len(dataset.columns) > 1 and TASKS[dataset.task].has_targets and n >= 3:
        stds = [t["std"] for t in report.targets.values() if t["std"] > 0]
        if stds and max(stds) / min(stds) > 100:
            out.append(Finding(INFO, "The values have very different scales; each is standardised (mean 0, spread 1) "
                                     "for training, so none dominates the loss.", table))
    return out


def _same_image_findings(dataset: TableDataset) -> list[Finding]:
    stems: dict[str, list[Path]] = {}
    for s in dataset.samples:
        stems.setdefault(s.path.stem.casefold(), []).append(s.path)
    out = []
    for paths in stems.values():
        if len(paths) > 1:
            names = ", ".join(f"'{p.name}'" for p in paths)
            out.append(Finding(WARNING, f"{names} have the same name with different extensions: probably the same "
                                        f"image saved twice. One copy could land in training and the other in the "
                                        f"test set, which makes the results look better than they are.",
                               str(paths[1]), "Keep one copy of each image (and its line in the table)."))
    return out


def table_findings(dataset: TableDataset, report: TableReport) -> list[Finding]:
    """What a spreadsheet did to the table, said once: a row-number column, TRUE/FALSE, a hidden '.txt'."""
    out, table = [], dataset.table
    row_numbers = dataset.row_numbers
    for name in row_numbers:
        if name in dataset.columns:
            out.append(Finding(WARNING, f"The column '{name}' of {table.name} looks like a row or object number "
                                        f"(an id, or 1, 2, 3 … in order), yet it is chosen as a value to learn: "
                                        f"nothing in an image tells its number.", str(table),
                               f"Leave '{name}' out of 'data.target_columns'."))
        else:
            out.append(Finding(INFO, f"The column '{name}' of {table.name} looks like a row or object number (an id, "
                                     f"or 1, 2, 3 … in order): it is not learnt.", str(table),
                               f"If '{name}' is a real measurement, choose it in 'data.target_columns'."))
    if any(n not in dataset.columns for n in row_numbers):
        report.proposals["data.target_columns"] = list(dataset.columns)  # init writes the choice down
    booleans = dataset.booleans
    if booleans:
        out.append(Finding(INFO, f"The column(s) {_names(booleans)} of {table.name} hold TRUE/FALSE (as Excel writes "
                                 f"them): read as 1 and 0.", str(table)))
    if table is not None and table.name.casefold() != TABLE_FILES[dataset.task]:
        out.append(Finding(INFO, f"The table was read from '{table.name}' (Windows hides the '.txt' at the end of "
                                 f"its name, so it looks like {TABLE_FILES[dataset.task]}).", str(table),
                           f"Nothing to do; renaming it {TABLE_FILES[dataset.task]} makes it clearer."))
    return out
