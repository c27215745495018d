"""Is the evaluation honest? Images the model trained on, and test images changed since the split.

split.csv holds the SHA-256 of every file the run used. Evaluating on a
folder whose images were in training or validation measures memory, not the
model: the score looks better than it is. A test image whose bytes changed
since the split is no longer the image the run was tested on.
"""

from __future__ import annotations

import csv
from pathlib import Path

from petrilab import runs
from petrilab.data.split import fingerprint

SHOWN = 5


def _rows(run_dir: Path) -> list[dict]:
    path = run_dir / runs.SPLIT
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _names(paths: list[str]) -> str:
    shown = ", ".join(f"'{Path(p).name}'" for p in paths[:SHOWN])
    return shown + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def _hash(path) -> str | None:
    try:
        return fingerprint(path)
    except Exception:  # missing or unreadable: the evaluation itself says so
        return None


def trained_on(run_dir: Path, samples: list, folder) -> list[str]:
    """Warnings for the images of `folder` that are byte for byte images the run trained or validated on."""
    seen = {r.get("sha256"): r["subset"] for r in _rows(run_dir) if r.get("sha256") and r["subset"] != "test"}
    if not seen:
        return []
    used = [str(s.path) for s in samples if _hash(s.path) in seen]
    if not used:
        return []
    return [f"{len(used)} of the {len(samples)} images in {folder} were used to train this model (same file, "
            f"byte for byte): {_names(used)}. On them the scores look better than the model really is; evaluate "
            f"on images it never saw."]


def changed_since_split(run_dir: Path, samples: list) -> list[str]:
    """Warnings for the test images whose bytes are not the ones recorded in split.csv."""
    recorded = {r["file"]: r.get("sha256") for r in _rows(run_dir) if r["subset"] == "test"}
    changed = [str(s.path) for s in samples
               if recorded.get(str(s.path)) and _hash(s.path) != recorded[str(s.path)]]
    if not changed:
        return []
    return [f"{len(changed)} test image(s) changed since the run was split and trained: {_names(changed)}. "
            f"The scores are for the files as they are now, not for those the run was tested on."]
