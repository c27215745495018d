"""Pixels that are not numbers (NaN, +inf, -inf) in floating-point images.

A 32-bit float TIFF can hold NaN (Fiji's Image Calculator dividing by zero,
a stitching gap, a masked region) or infinity. One such pixel is enough to
ruin a training silently: normalisation turns the whole image into NaN, the
weights follow within a few epochs, and every image then gets the same
answer. So every image read for training, evaluation or prediction goes
through `fill`: each non-finite pixel becomes the median of the finite
pixels of its channel (0 when a channel has none). The file is never
changed; the dataset check names the images (`count`), and predictions.csv
gets a `nonfinite_pixels` column when any image had some (`Noticed`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import threading
from pathlib import Path

import numpy as np

COLUMN = "nonfinite_pixels"  # predictions.csv: how many pixels of the image were replaced (empty: none)
MAX_NAMED = 5  # file names spelled out in one message; all are in the check's `nonfinite` list

WHAT_WE_DO = ("PetriLab replaces each of them by the median of the image's other pixels whenever it reads the "
              "image (training, evaluation, prediction); the file itself is not changed.")
FIX = ("Nothing, if those pixels do not matter. Otherwise open the image in Fiji to see where they are (often a "
       "division by zero or a stitching gap) and save it again without them.")


def count(array: np.ndarray) -> int:
    """How many values of `array` are NaN or infinite (0 at once for whole-number images)."""
    if array.dtype.kind not in "fc":
        return 0
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def fill(array: np.ndarray, path=None) -> np.ndarray:
    """`array` (H, W, C) with its non-finite pixels replaced by their channel's median of finite pixels.

    Returns `array` itself when every pixel is finite (the usual case costs one pass of isfinite);
    otherwise a copy, and the file is reported to a `Noticed` collection if one is open.
    """
    if array.dtype.kind != "f":
        return array
    good = np.isfinite(array)
    if good.all():
        return array
    out = np.array(array, copy=True)
    for c in range(out.shape[-1]):
        plane, ok = out[..., c], good[..., c]
        plane[~ok] = np.median(plane[ok]) if ok.any() else 0
    _note(path, int(good.size - np.count_nonzero(good)))
    return out


def message(nonfinite: dict[str, int]) -> str:
    """The dataset check's finding: which images hold non-finite pixels, and what PetriLab does about them."""
    names = [f"'{Path(p).name}' ({n} pixel{'s' if n != 1 else ''})" for p, n in list(nonfinite.items())[:MAX_NAMED]]
    more = f" and {len(nonfinite) - MAX_NAMED} more" if len(nonfinite) > MAX_NAMED else ""
    return (f"{len(nonfinite)} image(s) have pixels that are not numbers (NaN or infinity): "
            f"{', '.join(names)}{more}. {WHAT_WE_DO}")


# ---------------------------------------------------------------- which images had some (prediction)

_open: list[dict] = []  # the collections now open (prediction opens one around its reading)
_lock = threading.Lock()  # Keras may read images from several threads


def _note(path, n: int) -> None:
    if path is None or not _open:
        return
    with _lock:
        for seen in _open:
            seen[str(Path(path).resolve())] = n


@contextlib.contextmanager
def noticed():
    """Collect {resolved path: non-finite pixels replaced} for the images read inside the `with`."""
    seen: dict[str, int] = {}
    with _lock:
        _open.append(seen)
    try:
        yield seen
    finally:
        with _lock:
            _open.remove(seen)


def flag_predictions(table: Path, input_dir: Path, seen: dict[str, int]) -> list[str]:
    """Add the `nonfinite_pixels` column to predictions.csv for the images in `seen`; return a note per image.

    The table's `file` column is relative to `input_dir`. Nothing is rewritten when no image had any.
    """
    if not seen:
        return []
    from petrilab.runs import atomic_write_csv

    raw = table.read_text(encoding="utf-8")
    bom = raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"), newline="")))
    if not rows or "file" not in rows[0] or COLUMN in rows[0]:
        return []
    where = rows[0].index("file")
    rows[0].append(COLUMN)
    notes = []
    for row in rows[1:]:
        n = seen.get(str((input_dir / row[where]).resolve())) if len(row) > where else None
        row.append(str(n) if n else "")
        if n:
            notes.append(f"The image '{row[where]}' has {n} pixel(s) that are not numbers (NaN or infinity); "
                         f"they were replaced by the median of its other pixels before predicting "
                         f"(column {COLUMN} in {table.name}).")
    atomic_write_csv(table, rows[0], rows[1:], excel=bom)  # a table written for Excel stays so
    return notes
