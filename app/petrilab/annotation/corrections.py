"""What a run trained on an annotation folder records about its labels: `corrections.json` in the run
folder, which images were labelled or corrected and when, and which of them are new since the model the
run starts from (`model.start_from`) was trained — the trace of a Predict → Correct → Retrain loop."""

from __future__ import annotations

import json
import time
from pathlib import Path

from petrilab import runs
from petrilab.annotation.folder import MANIFEST, TO_DO, AnnotationFolder

FORMAT = "petrilab-corrections"
VERSION = 1


def _previous(start_from: Path | None) -> dict[str, str | None]:
    """name → saved time of the images the start-from run trained on, when it was trained on an
    annotation folder too (an empty dict otherwise: every labelled image is then new)."""
    if start_from is None:
        return {}
    folder = start_from if start_from.is_dir() else start_from.parent
    try:
        data = json.loads((folder / runs.CORRECTIONS).read_text(encoding="utf-8"))
        return {e["name"]: e.get("saved") for e in data["images"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def record(data_folder: str | Path, start_from: str | Path | None = None) -> dict | None:
    """The record for a run trained on `data_folder`, or None when it is not an annotation folder.

    Per labelled image: its name, the original's path and SHA-256, its status, when its labels were last
    saved, and `new`: labelled or changed since the start-from run was trained (saved at another time
    than in that run's own record, or absent from it)."""
    root = Path(data_folder).expanduser()
    if not (root / MANIFEST).is_file():
        return None
    folder = AnnotationFolder.open(root)
    before = _previous(Path(start_from).expanduser() if start_from else None)
    images = []
    for e in folder.entries:
        if e.status == TO_DO:
            continue
        item = {"name": e.name, "original": e.original, "sha256": e.sha256, "status": e.status,
                "saved": e.saved, "new": e.name not in before or before[e.name] != e.saved}
        if e.label is not None:
            item["label"] = e.label
        if e.tags is not None:
            item["tags"] = list(e.tags)
        images.append(item)
    return {"format": FORMAT, "version": VERSION, "annotation_folder": str(folder.root),
            "task": folder.task, "start_from": str(start_from) if start_from else None,
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "n_labelled": len(images), "n_new": sum(i["new"] for i in images), "images": images}


def write(run_dir: Path, data_folder: str | Path, start_from: str | Path | None = None) -> dict | None:
    """Write `corrections.json` into the run folder when the data is an annotation folder."""
    found = record(data_folder, start_from)
    if found is not None:
        runs.atomic_write_json(Path(run_dir) / runs.CORRECTIONS, found)
    return found
