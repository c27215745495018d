"""Where PetriLab's bundled files are: in the repository, or inside the frozen app."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from petrilab.errors import UserError


def resources_dir() -> Path:
    """The resources/ folder: next to app/ in a checkout, inside the bundle when frozen (PyInstaller)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def user_data_dir() -> Path:
    return Path.home() / "PetriLab"


def _has_classes(folder: Path) -> bool:
    return folder.is_dir() and sum(1 for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) >= 2


def _has_targets(folder: Path) -> bool:
    return (folder / "targets.csv").is_file() and (folder / "images").is_dir()


def _has_labels(folder: Path) -> bool:
    return (folder / "labels.csv").is_file() and (folder / "images").is_dir()


def _has_masks(folder: Path) -> bool:
    return (folder / "images").is_dir() and (folder / "masks").is_dir()


def demo_data(task: str = "classification") -> Path:
    """The demo data folder for `task`.

    The bundled copy when there is one; otherwise (e.g. PetriLab installed
    without its resources) it is generated once into ~/PetriLab/demo-data/.
    """
    if task not in ("classification", "multilabel", "regression", "semantic", "instance"):
        raise UserError(f"There is no demo data for the task '{task}' yet.",
                        fix="Try the classification, regression or segmentation demos for now.")
    complete = {"classification": _has_classes, "regression": _has_targets,
                "multilabel": _has_labels}.get(task, _has_masks)
    bundled = resources_dir() / "demo" / task
    if complete(bundled):
        return bundled
    target = user_data_dir() / "demo-data" / task
    if complete(target):
        return target
    from petrilab.demo import (make_classification_demo, make_multilabel_demo, make_regression_demo,
                               make_segmentation_demo)
    from petrilab.file_modes import share_folder

    make = {"classification": make_classification_demo, "regression": make_regression_demo,
            "multilabel": make_multilabel_demo}.get(
        task, lambda out: make_segmentation_demo(out, task, n_images=30))

    # generate next to the target, then rename: a second PetriLab starting at the same
    # moment, or a crash half-way, never leaves a half-made demo folder in place
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{task}-", dir=target.parent))
    try:
        share_folder(scratch)  # mkdtemp made it 0700
        make(scratch)
        try:
            os.replace(scratch, target)
        except OSError:
            if not complete(target):
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)  # our own scratch folder, never user data
    return target
