"""Datasets whose values come from a table: regression and multi-label classification.

Layout: DATA/images/<image> + DATA/targets.csv (regression) or DATA/labels.csv
(multi-label), with a `filename` column and one column per value. Reading the
table never stops at the first bad cell: every problem is collected with its
line number, so the user can fix the file in one go. Images with a bad row
are left out of the samples; the check (check.py) turns the
problems into errors, so a training never starts on a table with holes.

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

import numpy as np

from petrilab.data.discovery import Dataset, Sample, open_folder
from petrilab.data.images import is_image_file
from petrilab.errors import UserError
from petrilab.tasks import TABLE_TASKS, TASKS
from petrilab.tasks.tables import hints as table_hints

# the tasks whose data is images + a table, and each one's table (the registry says)
TABLE_FILES = {key: TASKS[key].table for key in TABLE_TASKS}
IMAGES_FOLDER = "images"
FILENAME_COLUMN = "filename"

# Regression groups for a stratified split: the quarters of the first target.
QUARTER_NAMES = ("lowest quarter", "second quarter", "third quarter", "highest quarter")
NO_LABEL = "(no label)"

# what the table looks like, by its file (a task's `table`)
_LAYOUTS = {
    "targets.csv": "DATA/images/<image> + DATA/targets.csv with a 'filename' column and one column per value, "
                  "e.g. filename,x,y then bead_001.png,12.4,30.1",
    "labels.csv": "DATA/images/<image> + DATA/labels.csv with a 'filename' column and one 0/1 column per label, "
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
                f"{TASKS[other].title.lower()}.")
    raise UserError(f"The folder {root} has no {name}.{hint}", file=root / name,
                    fix=f"Put the table next to the images folder: {_LAYOUTS[TABLE_FILES[task]]}.")


def _images(root: Path, task: str) -> tuple[dict[str, Path], list[Path]]:
    """The images in DATA/images (by file name), and the other files found there."""
    folder = root / IMAGES_FOLDER
    if not folder.is_dir():
        candidates = [p for p in root.iterdir() if p.is_dir() and p.name.casefold() == IMAGES_FOLDER]
        if not candidates:
            loose = any(is_image_file(p) for p in root.iterdir() if p.is_file())
            where = "the images lie directly in it" if loose else "it has no 'images' sub-folder"
            raise UserError(f"In {root}, {where}.", file=root,
                            fix=f"Put the images in a sub-folder called 'images': {_LAYOUTS[TABLE_FILES[task]]}.")
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
        what = "value" if TASKS[task].has_targets else "0/1 label"
        raise UserError(f"The table {table.name} has no {what} column next to '{FILENAME_COLUMN}'.", file=table,
                        fix=f"Add one column per {TASKS[task].item}: {_LAYOUTS[TABLE_FILES[task]]}.")
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
                        fix=f"Add one line per image: {_LAYOUTS[TABLE_FILES[task]]}.")
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
            elif TASKS[task].multi_label and number not in (0.0, 1.0):
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

    if TASKS[task].has_targets:
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
