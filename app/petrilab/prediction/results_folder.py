"""The output folder of a prediction: complete results or none, earlier results replaced only when asked.

The results are built in a hidden temporary folder inside the output folder
(the same disk, so moving them in is a rename that cannot run out of space)
and moved in only when everything was written. A full disk, a crash or Ctrl+C
leaves the folder as it was. Every prediction folder gets `prediction.json`,
the record of what was predicted with what (issue #16) and of the files
PetriLab wrote there: a later prediction into the same folder is refused
unless the user asks to replace them (--overwrite), and then removes exactly
those files first, so the table and the masks always agree and nothing
PetriLab did not write is ever deleted.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from pathlib import Path

from petrilab.command_events import PREDICTION_EVENTS
from petrilab.errors import UserError
from petrilab.file_names import from_shown, shown
from petrilab.prediction.folder_lock import LOCK, FolderLock

RECORD = "prediction.json"
PREDICTIONS = "predictions.csv"
STAGING_PREFIX = ".petrilab-partial-"
# what PetriLab versions without the record wrote: the tables, and the files their rows name
# (and the events file: ours by its name, should a folder's prediction.json be lost)
_OLD_TABLES = (PREDICTIONS, "objects.csv", PREDICTION_EVENTS)
_OLD_FILE_COLUMNS = ("mask_file", "overlay_file")
_OLD_FOLDERS = ("masks", "labels", "overlays", "probabilities")


def _record_outputs(folder: Path) -> list[Path] | None:
    import json

    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        names = [str(n) for n in record["outputs"]] if record.get("written_by") == "PetriLab" else None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    if names is None:
        return None  # a prediction.json of someone else's: not ours to delete
    return [folder / RECORD] + [folder / from_shown(n) for n in names]


def _old_outputs(folder: Path) -> list[Path]:
    """The files an earlier PetriLab without the record wrote: the tables, the files their rows name and
    each image's probability map."""
    found = [folder / name for name in _OLD_TABLES]
    try:
        with open(folder / PREDICTIONS, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        rows = []
    for row in rows:
        found += [folder / from_shown(row[c]) for c in _OLD_FILE_COLUMNS if row.get(c)]
        if row.get("file"):
            rel = Path(from_shown(row["file"]))
            found.append(folder / "probabilities" / rel.parent / f"{rel.stem}_probabilities.tif")
    return found


def earlier_results(folder: str | Path) -> list[Path]:
    """The files of earlier PetriLab predictions in `folder` (those that exist, inside it); [] when none."""
    folder = Path(folder)
    if not (folder / RECORD).is_file() and not (folder / PREDICTIONS).is_file():
        return []
    listed = _record_outputs(folder) if (folder / RECORD).is_file() else None
    listed = listed if listed is not None else _old_outputs(folder)
    root = folder.resolve()
    kept = []
    for path in dict.fromkeys(listed):
        if path.is_file() and not path.is_symlink() and root in path.resolve().parents:
            kept.append(path)
    return kept


def _remove(files: list[Path], folder: Path) -> None:
    """Delete these files, then the folders they leave empty (never `folder` itself)."""
    parents = set()
    for path in files:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        parents.update(p for p in path.parents if p != folder and folder in p.parents)
    for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        try:
            parent.rmdir()  # only when empty: a file of the user's keeps its folder
        except OSError:
            pass


def refuse_earlier_results(folder: Path) -> None:
    if earlier_results(folder):
        raise UserError(
            f"The output folder {folder} already holds the results of an earlier prediction.",
            file=folder,
            fix="Choose another (new or empty) output folder to keep them, or add --overwrite to replace them "
                "(only the files PetriLab wrote there are removed).")


class ResultsFolder:
    """`with ResultsFolder(target, overwrite) as staging:` write everything into `staging`, then `finish()`.

    Refuses earlier results unless `overwrite`; holds the folder's lock until the end; on any failure the
    temporary folder is removed and a target folder made for this prediction is removed again.
    """

    def __init__(self, target: str | Path, overwrite: bool = False):
        self.target = Path(target)
        self.overwrite = overwrite
        self.created: list[Path] = []
        self.lock = FolderLock(self.target)
        self.staging: Path | None = None

    def __enter__(self) -> Path:
        # the folders made for this prediction (target and missing parents), removed again if it fails
        self.created = [p for p in (self.target, *self.target.parents) if not p.exists()]
        self.target.mkdir(parents=True, exist_ok=True)
        try:
            self.lock.acquire()
            for leftover in self.target.glob(f"{STAGING_PREFIX}*"):  # of a prediction killed mid-way (its
                shutil.rmtree(leftover, ignore_errors=True)          # lock was stale): only PetriLab's files
            if not self.overwrite:
                refuse_earlier_results(self.target)
            self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.target))
        except BaseException:
            self._clean_up()
            raise
        return self.staging

    def finish(self) -> list[str]:
        """Move the new results in (earlier PetriLab results removed first); return their names."""
        new = sorted(p.relative_to(self.staging) for p in self.staging.rglob("*") if p.is_file())
        earlier = set(earlier_results(self.target)) if self.overwrite else set()
        for rel in new:  # a file of the user's where a result goes: stop before anything changes
            there = self.target / rel
            if (there.exists() or there.is_symlink()) and there not in earlier:
                raise UserError(
                    f"The output folder {self.target} already holds a file {shown(rel)} that PetriLab did not "
                    f"write, where this prediction would put a result.",
                    file=there, fix="Choose another (new or empty) output folder; PetriLab does not replace your files.")
        _remove(sorted(earlier), self.target)
        for rel in new:
            (self.target / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging / rel, self.target / rel)
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging = None
        return [shown(rel.as_posix()) for rel in new]

    def _clean_up(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        self.lock.release()
        for folder in self.created:  # made for this prediction, and left empty: gone again
            try:
                folder.rmdir()
            except OSError:
                break

    def __exit__(self, *exc) -> None:
        self._clean_up()


__all__ = ["RECORD", "LOCK", "ResultsFolder", "earlier_results", "refuse_earlier_results"]
