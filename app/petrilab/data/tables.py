"""Datasets whose values come from a table: regression and multi-label classification.

Layout: DATA/images/<image> + DATA/targets.csv (regression) or DATA/labels.csv
(multi-label), with a `filename` column and one column per value. Reading the
table never stops at the first bad cell: every problem is collected with its
line number, so the user can fix the file in one go. Images with a bad row
are left out of the samples; the check turns the problems into errors, so a
training never starts on a table with holes.

Each sample also gets a stratification group (`Sample.label`, named in
`Dataset.classes`) so the split keeps the spread of values in every subset:
the quarter of the first target a sample falls in (regression), or its rarest
label (multi-label).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from petrilab.data.check import ERROR, INFO, WARNING, DatasetReport, Finding, check_dataset
from petrilab.data.discovery import Dataset, Sample, open_folder
from petrilab.data import table_hints
from petrilab.data.images import is_image_file
from petrilab.errors import UserError

TABLE_TASKS = ("regression", "multilabel")
TABLE_FILES = {"regression": "targets.csv", "multilabel": "labels.csv"}
IMAGES_FOLDER = "images"
FILENAME_COLUMN = "filename"

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
# Regression groups for a stratified split: the quarters of the first target.
QUARTER_NAMES = ("lowest quarter", "second quarter", "third quarter", "highest quarter")
NO_LABEL = "(no label)"

_LAYOUTS = {
    "regression": "DATA/images/<image> + DATA/targets.csv with a 'filename' column and one column per value, "
                  "e.g. filename,x,y then bead_001.png,12.4,30.1",
    "multilabel": "DATA/images/<image> + DATA/labels.csv with a 'filename' column and one 0/1 column per label, "
                  "e.g. filename,nucleus,mitochondria then cell_001.png,1,0",
}


@dataclass
class TableSample(Sample):
    values: tuple[float, ...] = ()  # in TableDataset.columns order: targets, or 0/1 per label
    line: int = 0  # the line of the table this sample comes from (the header is line 1)


@dataclass
class TableProblem:
    """One kind of mistake in the table, with every line where it occurs."""

    kind: str  # not_a_number | empty | not_finite | not_binary | no_image | no_row | duplicate
    column: str | None
    lines: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)  # what the cells (or file names) hold, same order as lines


@dataclass
class TableDataset(Dataset):
    table: Path | None = None  # targets.csv or labels.csv
    columns: list[str] = field(default_factory=list)  # the values the model learns, in order
    available: list[str] = field(default_factory=list)  # every value column of the table
    ignored: list[str] = field(default_factory=list)  # columns with no numbers at all (e.g. notes)
    problems: list[TableProblem] = field(default_factory=list)
    row_numbers: list[str] = field(default_factory=list)  # id-like columns (id, cell_id, 1..N), not picked
    booleans: list[str] = field(default_factory=list)  # chosen columns written TRUE/FALSE, read as 1/0

    def values(self) -> np.ndarray:
        """(n_samples, n_columns) float array of the samples' values."""
        if not self.samples:
            return np.zeros((0, len(self.columns)))
        return np.array([s.values for s in self.samples], dtype=np.float64).reshape(len(self.samples), -1)

    def excluding(self, paths) -> "TableDataset":
        drop = {Path(p) for p in paths}
        kept = [s for s in self.samples if s.path not in drop]
        return TableDataset(self.task, self.root, kept, list(self.classes), list(self.skipped), self.table,
                            list(self.columns), list(self.available), list(self.ignored), list(self.problems),
                            list(self.row_numbers), list(self.booleans))


# ---------------------------------------------------------------- reading the table


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """The header and (line number, cells) of every non-empty row; the delimiter found."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"The table {path.name} cannot be read ({exc.strerror}).", file=path,
                        fix="Close it in Excel or another program, and check that you may read it.") from None
    text = None
    for encoding in ("utf-8-sig", "cp1252"):  # Excel on Windows saves CSV in its own code page
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None or "\x00" in text:
        raise UserError(f"{path.name} is not a text table (CSV).", file=path,
                        fix="In Excel use File > Save As > 'CSV (comma delimited)'.")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    # Excel in French or German writes ';' between cells (the comma is the decimal mark there)
    delimiter = max((";", ",", "\t"), key=lambda d: first.count(d)) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    header: list[str] | None = None
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            continue
        rows.append((line, [c.strip() for c in cells]))
    if header is None:
        raise UserError(f"The table {path.name} is empty.", file=path,
                        fix="Add a header line (filename and one name per value), then one line per image.")
    return header, rows, delimiter


_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d*([eE][+-]?\d+)?$")


def parse_number(text: str, delimiter: str = ",") -> float | None:
    """A cell as a number (NaN and infinity included), or None when it is not one.

    With ';' or tabs between cells, a decimal comma (12,5) is read as 12.5.
    """
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if table_hints.boolean(text) is not None:  # Excel's TRUE/FALSE (VRAI/FAUX, WAHR/FALSCH): 1 and 0
        return table_hints.boolean(text)
    if delimiter != "," and _DECIMAL_COMMA.match(text):
        return float(text.replace(",", "."))
    return None


def _filename_column(header: list[str], path: Path) -> int:
    for i, name in enumerate(header):
        if name.casefold() == FILENAME_COLUMN:
            return i
    found = ", ".join(f"'{h}'" for h in header if h) or "none"
    raise UserError(f"The table {path.name} has no '{FILENAME_COLUMN}' column (its columns are: {found}).",
                    file=path,
                    fix=f"Name the column that holds the image names '{FILENAME_COLUMN}' in the first line.")


def _table_path(root: Path, task: str) -> Path:
    name = TABLE_FILES[task]
    path = root / name
    if path.is_file():
        return path
    matches = [p for p in root.iterdir() if p.is_file() and p.name.casefold() == name]
    if matches:
        return matches[0]
    hidden = table_hints.hidden_txt(root, name)
    if hidden is not None:  # accepted: the check says which file was read
        return hidden
    book = table_hints.workbook(root, name)
    if book is not None:
        raise UserError(f"The folder {root} has {book.name}, an Excel workbook; PetriLab reads the table as a CSV "
                        f"text file ({name}).", file=book,
                        fix=f"Open {book.name} in Excel and choose File > Save As > 'CSV UTF-8 (comma delimited)', "
                            f"named {name}, in the same folder.")
    other = next((t for t, n in TABLE_FILES.items() if t != task and (root / n).is_file()), None)
    hint = ""
    if other is not None:
        hint = (f" It has a {TABLE_FILES[other]}, which is the layout of "
                f"{'multi-label classification' if other == 'multilabel' else 'regression'}.")
    raise UserError(f"The folder {root} has no {name}.{hint}", file=root / name,
                    fix=f"Put the table next to the images folder: {_LAYOUTS[task]}.")


def _images(root: Path, task: str) -> tuple[dict[str, Path], list[Path]]:
    """The images in DATA/images (by file name), and the other files found there."""
    folder = root / IMAGES_FOLDER
    if not folder.is_dir():
        candidates = [p for p in root.iterdir() if p.is_dir() and p.name.casefold() == IMAGES_FOLDER]
        if not candidates:
            loose = any(is_image_file(p) for p in root.iterdir() if p.is_file())
            where = "the images lie directly in it" if loose else "it has no 'images' sub-folder"
            raise UserError(f"In {root}, {where}.", file=root,
                            fix=f"Put the images in a sub-folder called 'images': {_LAYOUTS[task]}.")
        folder = candidates[0]
    images, others = {}, []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.name.lower() in ("thumbs.db", "desktop.ini"):
            continue
        if p.is_dir():
            if any(is_image_file(q) for q in p.rglob("*")):
                raise UserError(f"The images folder has a sub-folder '{p.name}' with images; PetriLab only reads "
                                f"images placed directly in '{IMAGES_FOLDER}'.", file=p,
                                fix=f"Move those images up into '{IMAGES_FOLDER}' (and give each a row in the "
                                    f"table), or move the sub-folder out of the data folder.")
            others.append(p)
        elif is_image_file(p):
            images[p.name] = p
        else:
            others.append(p)
    if not images:
        raise UserError(f"The folder {folder} has no images.", file=folder,
                        fix="PetriLab reads TIFF, PNG, JPEG and BMP files.")
    return images, others


def _choose_columns(task: str, table: Path, value_columns: list[str], numeric: set[str],
                    wanted: list[str] | None) -> list[str]:
    if wanted:
        missing = [c for c in wanted if c not in value_columns]
        if missing:
            listed = ", ".join(f"'{c}'" for c in value_columns) or "none"
            raise UserError(f"The table {table.name} has no column '{missing[0]}'.", file=table,
                            fix=f"Its value columns are: {listed}. Choose among them "
                                f"('data.target_columns'), or leave the choice empty to use them all.")
        if len(set(wanted)) != len(wanted):
            raise UserError("The same column is chosen twice in 'data.target_columns'.", file=table,
                            fix="List each column once.")
        return list(wanted)
    chosen = [c for c in value_columns if c in numeric]
    if not chosen:
        what = "value" if task == "regression" else "0/1 label"
        raise UserError(f"The table {table.name} has no {what} column next to '{FILENAME_COLUMN}'.", file=table,
                        fix=f"Add one column per {'value' if task == 'regression' else 'label'}: {_LAYOUTS[task]}.")
    return chosen


def discover_table(task: str, folder, columns: list[str] | None = None) -> TableDataset:
    """The images and their values, or a UserError when the layout itself is wrong.

    Bad cells do not raise: they are collected in `problems` (the check
    reports them) and their rows left out of the samples.
    """
    if task not in TABLE_TASKS:
        raise ValueError(f"{task!r} is not a table task; use one of {TABLE_TASKS}")
    root = open_folder(folder)
    images, skipped = _images(root, task)
    table = _table_path(root, task)
    header, rows, delimiter = _read_rows(table)
    file_index = _filename_column(header, table)
    names = [h for i, h in enumerate(header) if i != file_index]
    if any(not n for n in names):
        raise UserError(f"A column of {table.name} has no name in the first line.", file=table,
                        fix="Give every column a name in the first line (the header), or delete the empty column.")
    repeated = [n for n, k in Counter(names).items() if k > 1]
    if repeated:
        raise UserError(f"The column '{repeated[0]}' appears twice in {table.name}.", file=table,
                        fix="Give each column its own name.")
    if not rows:
        raise UserError(f"The table {table.name} has a header but no rows.", file=table,
                        fix=f"Add one line per image: {_LAYOUTS[task]}.")
    index = {name: i for i, name in enumerate(header)}

    # a column counts as values when at least one of its cells is a number (a 'notes' column is ignored)
    numeric = {n for n in names
               if any(parse_number(cells[index[n]], delimiter) is not None
                      for _, cells in rows if index[n] < len(cells) and cells[index[n]])}
    # a row number (id, cell_id, 1..N) is no measurement: never picked on its own, said by the check
    row_numbers = [n for n in names if n in numeric and table_hints.looks_like_row_number(
        n, [cells[index[n]] for _, cells in rows if index[n] < len(cells)])]
    chosen = _choose_columns(task, table, names, numeric - (set(row_numbers) if len(numeric) > len(row_numbers)
                                                              else set()), columns)
    ignored = [n for n in names if n not in numeric and n not in chosen]

    problems: dict[tuple[str, str | None], TableProblem] = {}

    def problem(kind: str, column: str | None, line: int, value: str) -> None:
        entry = problems.setdefault((kind, column), TableProblem(kind, column))
        entry.lines.append(line)
        entry.values.append(value)

    seen: dict[str, int] = {}
    parsed: list[tuple[Path, tuple[float, ...], int]] = []
    casefolded = {name.casefold(): name for name in images}
    for line, cells in rows:
        name = cells[file_index] if file_index < len(cells) else ""
        key = Path(name.replace("\\", "/")).name if name else ""  # 'images/a.png' and 'a.png' both name a.png
        if not key:
            problem("empty", FILENAME_COLUMN, line, "")
            continue
        if key in seen:
            problem("duplicate", FILENAME_COLUMN, line, f"{key} (also on line {seen[key]})")
            continue
        seen[key] = line
        if key not in images:
            near = casefolded.get(key.casefold())
            problem("no_image", FILENAME_COLUMN, line, f"{name} (the folder has {near})" if near else name)
            continue
        values, good = [], True
        for column in chosen:
            cell = cells[index[column]] if index[column] < len(cells) else ""
            number = parse_number(cell, delimiter) if cell else None
            if not cell:
                problem("empty", column, line, "")
            elif number is None:
                problem("not_a_number", column, line, cell)
            elif not math.isfinite(number):
                problem("not_finite", column, line, cell)
            elif task == "multilabel" and number not in (0.0, 1.0):
                problem("not_binary", column, line, cell)
            else:
                values.append(number)
                continue
            good = False
        if good:
            parsed.append((images[key], tuple(values), line))
    for name, path in images.items():
        if name not in seen:
            problem("no_row", None, 0, name)

    if task == "regression":
        classes, groups = _regression_groups(chosen, [v for _, v, _ in parsed])
    else:
        classes, groups = _label_groups(chosen, [v for _, v, _ in parsed])
    samples = [TableSample(path, group, values=values, line=line)
               for (path, values, line), group in zip(parsed, groups)]
    dataset = TableDataset(task=task, root=root, samples=samples, classes=classes, skipped=skipped, table=table,
                           columns=chosen, available=names, ignored=ignored, problems=list(problems.values()))
    dataset.row_numbers = row_numbers
    dataset.booleans = [c for c in chosen if any(table_hints.boolean(cells[index[c]]) is not None
                                                 for _, cells in rows if index[c] < len(cells))]
    return dataset


# ---------------------------------------------------------------- groups for the split


def _regression_groups(columns: list[str], values: list[tuple[float, ...]]) -> tuple[list[str], list[int]]:
    """The quarter of the first target each sample falls in.

    The names do not depend on the numbers, so a separate test folder gets
    the same groups as the training folder.
    """
    classes = [f"{columns[0]}: {q}" for q in QUARTER_NAMES]
    if not values:
        return classes, []
    first = np.array([v[0] for v in values], dtype=np.float64)
    # rank-based, so many equal values (counts) still fill the quarters evenly
    ranks = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    groups = (ranks * len(QUARTER_NAMES) // len(first)).astype(int)
    return classes, [int(g) for g in groups]


def _label_groups(columns: list[str], values: list[tuple[float, ...]]) -> tuple[list[str], list[int]]:
    """The rarest label each sample carries (so rare labels reach every subset); no label: its own group."""
    classes = list(columns) + [NO_LABEL]
    if not values:
        return classes, []
    matrix = np.array(values, dtype=np.float64).reshape(len(values), -1)
    frequency = matrix.sum(axis=0)
    groups = []
    for row in matrix:
        present = np.flatnonzero(row > 0.5)
        groups.append(int(present[np.argmin(frequency[present])]) if present.size else len(columns))
    return classes, groups


# ---------------------------------------------------------------- the check


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
    if dataset.task == "regression":
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
    what = "a number" if dataset.task == "regression" else "0 or 1"
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
    if len(dataset.columns) > 1 and dataset.task == "regression" and n >= 3:
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
