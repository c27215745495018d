"""The files `petrilab propose-annotations` leaves for the annotation editor (model_proposal.prepare), named
here so the window can read them without importing what loads TensorFlow."""

from __future__ import annotations

from pathlib import Path

ORDER = "order.json"  # the run, and the images to do, most useful first
ERROR = "error.json"  # why the proposals could not be made (message, file, fix)


def proposals_path(out_dir: str | Path, name: str) -> Path:
    """Where the proposal for the image `name` is written."""
    return Path(out_dir) / f"{Path(name).stem}.tif"
