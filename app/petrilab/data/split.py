"""Splitting the images into training, validation and test sets.

The split is stratified by class (each set keeps the class proportions) and
reproducible from its seed. It is saved as split.csv in the run folder with a
sha256 of every file, so a result is tied to the exact images it came from.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from petrilab.data.discovery import Dataset, Sample
from petrilab.errors import UserError
from petrilab.file_names import from_shown

SUBSETS = ("train", "validation", "test")
SPLIT_COLUMNS = ["file", "class", "subset", "sha256"]

_SUBSET_WORDS = {"train": "training", "validation": "validation", "test": "test"}


@dataclass
class Split:
    assignments: list[tuple[Sample, str]]

    def subset(self, name: str) -> list[Sample]:
        if name not in SUBSETS:
            raise ValueError(f"unknown subset {name!r}; use one of {SUBSETS}")
        return [s for s, subset in self.assignments if subset == name]

    def counts(self, classes: list[str]) -> dict[str, dict[str, int]]:
        table = {name: {c: 0 for c in classes} for name in SUBSETS}
        for sample, subset in self.assignments:
            table[subset][classes[sample.label]] += 1
        return table


# ---------------------------------------------------------------- making a split


def _portions(n: int, validation: float, test: float) -> tuple[int, int]:
    """How many of n images go to validation and test.

    Rounded from the fractions, then adjusted so that a class with at least
    two images has one validation image, one with three or more has a test
    image when a test set is asked for, and training always keeps one.
    """
    n_val = int(np.floor(n * validation + 0.5))  # halves round up, not to the even number
    n_test = int(np.floor(n * test + 0.5))
    if n >= 2 and validation > 0:
        n_val = max(n_val, 1)
    if n >= 3 and test > 0:
        n_test = max(n_test, 1)
    while n_val + n_test > n - 1 and (n_val + n_test) > 0:
        if n_test > 0 and (n_test >= n_val or n_val <= 1):
            n_test -= 1
        else:
            n_val -= 1
    return n_val, n_test


def _assign(samples: list[Sample], n_val: int, n_test: int, rng: np.random.Generator) -> list[tuple[Sample, str]]:
    order = rng.permutation(len(samples))
    out = []
    for rank, index in enumerate(order):
        subset = "test" if rank < n_test else "validation" if rank < n_test + n_val else "train"
        out.append((samples[index], subset))
    return out


def make_split(dataset: Dataset, split_settings, test_dataset: Dataset | None = None) -> Split:
    """Assign every image to train, validation or test.

    With `test_dataset` (a separate test folder) all of it is the test set and
    `dataset` gives train and validation; otherwise the test set is cut from
    `dataset` too. A test fraction of 0 without a test folder means no test set,
    on purpose; any other empty set is an error.
    """
    table_columns = getattr(dataset, "columns", None)  # regression / multi-label: the table's value columns
    if test_dataset is not None and table_columns is not None and test_dataset.columns != table_columns:
        raise UserError(
            f"The test folder's table has the columns {', '.join(test_dataset.columns)}; the training folder's has "
            f"{', '.join(table_columns)}.",
            file=test_dataset.table,
            fix="Give both tables the same value columns, or choose the columns to learn ('data.target_columns').",
        )
    if test_dataset is not None and list(test_dataset.classes) != list(dataset.classes):
        raise UserError(
            f"The test folder's classes ({', '.join(test_dataset.classes)}) are not the training folder's "
            f"({', '.join(dataset.classes)}).",
            file=test_dataset.root,
            fix="Give the test folder the same class sub-folders, with the same names.",
        )
    rng = np.random.default_rng(int(split_settings.seed))
    validation = float(split_settings.validation_fraction)
    test = 0.0 if test_dataset is not None else float(split_settings.test_fraction)
    samples = list(dataset.samples)

    assignments: list[tuple[Sample, str]] = []
    if split_settings.stratify:
        for label in range(len(dataset.classes)):
            members = [s for s in samples if s.label == label]
            n_val, n_test = _portions(len(members), validation, test)
            assignments += _assign(members, n_val, n_test, rng)
    else:
        n_val, n_test = _portions(len(samples), validation, test)
        assignments = _assign(samples, n_val, n_test, rng)
        assignments = _every_class_validated(assignments, rng)

    assignments = keep_twins_together(assignments)
    if test_dataset is not None:
        assignments += [(s, "test") for s in test_dataset.samples]
    split = Split(assignments)
    _refuse_empty(split, dataset, asked_for_test=test_dataset is not None or test > 0)
    return split


def keep_twins_together(assignments: list[tuple[Sample, str]]) -> list[tuple[Sample, str]]:
    """Byte-identical files go to one subset (the one of the first by name): a copy in training and
    its twin in the test set would be a leak that inflates the test score. The check names them."""
    groups: dict[str, list[int]] = {}
    for i, (sample, _) in enumerate(assignments):
        try:
            groups.setdefault(fingerprint(sample.path), []).append(i)
        except (UserError, OSError):  # missing or unreadable: the check reports it, nothing to keep together
            continue
    out = list(assignments)
    for members in groups.values():
        if len(members) < 2 or len({out[i][1] for i in members}) == 1:
            continue
        first = min(members, key=lambda i: str(out[i][0].path))
        for i in members:
            out[i] = (out[i][0], out[first][1])
    return out


def _every_class_validated(assignments: list[tuple[Sample, str]], rng) -> list[tuple[Sample, str]]:
    """Without stratification, chance may leave a class out of validation: move one of its training images."""
    by_label: dict[int, list[int]] = {}
    for i, (sample, _) in enumerate(assignments):
        by_label.setdefault(sample.label, []).append(i)
    assignments = list(assignments)
    for label, indices in sorted(by_label.items()):
        subsets = [assignments[i][1] for i in indices]
        if len(indices) >= 2 and "validation" not in subsets:
            training = [i for i in indices if assignments[i][1] == "train"]
            if len(training) >= 2:
                chosen = training[int(rng.integers(len(training)))]
                assignments[chosen] = (assignments[chosen][0], "validation")
    return assignments


def _refuse_empty(split: Split, dataset: Dataset, asked_for_test: bool) -> None:
    for name in SUBSETS:
        if name == "test" and not asked_for_test:
            continue
        if not split.subset(name):
            fraction = {"validation": "split.validation_fraction", "test": "split.test_fraction"}.get(name)
            fix = "Add images to the data folder"
            if fraction:
                fix += f", or raise '{fraction}'"
            raise UserError(
                f"With {len(dataset.samples)} images, the split leaves none for the {_SUBSET_WORDS[name]} set.",
                file=dataset.root,
                fix=fix + ".",
            )


# ---------------------------------------------------------------- fingerprints

_hash_cache: dict[tuple[str, int, int], str] = {}


def fingerprint(path) -> str:
    """sha256 (hex) of a file's bytes. Remembered while the file's size and date stay the same."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise UserError(f"The image '{path.name}' does not exist (any more).", file=path,
                        fix="Check that the data folder was not moved or renamed.") from None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _hash_cache:
        return _hash_cache[key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    _hash_cache[key] = digest.hexdigest()
    return _hash_cache[key]


def data_fingerprint(split: Split) -> str:
    """One sha256 over every file's hash, class and subset: the same value means the same data, split alike."""
    lines = sorted(f"{fingerprint(s.path)} {s.label} {subset}" for s, subset in split.assignments)
    return hashlib.sha256("\n".join(lines).encode("ascii")).hexdigest()


# ---------------------------------------------------------------- split.csv


def save_split(split: Split, path, classes: list[str], with_fingerprints: bool = True) -> Path:
    """Write split.csv (file, class, subset, sha256), one row per image.

    Rows go class by class, in class order, so reading the file back gives
    the classes in the same order (and so the same class numbers).
    """
    from petrilab.runs import atomic_write_csv

    rank = {name: i for i, name in enumerate(SUBSETS)}
    ordered = sorted(split.assignments, key=lambda a: (a[0].label, rank[a[1]], str(a[0].path)))
    rows = [
        [str(sample.path), classes[sample.label], subset, fingerprint(sample.path) if with_fingerprints else ""]
        for sample, subset in ordered
    ]
    return atomic_write_csv(path, SPLIT_COLUMNS, rows)


def load_split(path) -> tuple[Split, list[str]]:
    """Read a split.csv back (any task): the split and the classes in their original order."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"The split file {path} does not exist.", file=path,
                        fix="Choose a run folder that holds a split.csv.")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("file", "class", "subset") if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"The split file {path} has no column '{missing[0]}'.", file=path,
                            fix=f"A split file has the columns {', '.join(SPLIT_COLUMNS)}.")
        rows = list(reader)
    classes: list[str] = []
    assignments = []
    for line, row in enumerate(rows, start=2):
        subset = row["subset"]
        if subset not in SUBSETS:
            raise UserError(f"Line {line} of {path} has the subset '{subset}'.", file=path,
                            fix=f"The subset must be one of: {', '.join(SUBSETS)}.")
        name = row["class"]
        if name not in classes:
            classes.append(name)
        assignments.append((Sample(Path(from_shown(row["file"])), classes.index(name)), subset))
    return Split(assignments), classes


def changed_files(path) -> list[str]:
    """The files of a split.csv that are missing or whose bytes changed since it was written."""
    changed = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            file = from_shown(row["file"])
            expected = row.get("sha256") or ""
            if not os.path.isfile(file):
                changed.append(file)
            elif expected and fingerprint(file) != expected:
                changed.append(file)
    return changed
