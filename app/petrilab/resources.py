"""Where PetriLab's bundled files are: in the repository, or inside the frozen app."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from petrilab.errors import UserError
from petrilab.tasks import DEFAULT_TASK, TASKS, Task


def resources_dir() -> Path:
    """The resources/ folder: next to app/ in a checkout, inside the bundle when frozen (PyInstaller)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def user_data_dir() -> Path:
    return Path.home() / "PetriLab"


def _complete(folder: Path, task: Task) -> bool:
    """Whether `folder` holds demo data in the task's layout (a half-made one does not count)."""
    if task.data == "folders":
        return folder.is_dir() and sum(1 for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) >= 2
    if task.data == "table":
        return (folder / task.table).is_file() and (folder / "images").is_dir()
    if task.data == "images":  # restoration: the noisy images (and their clean targets, in the demo)
        return (folder / "images").is_dir() and (folder / "targets").is_dir()
    return (folder / "images").is_dir() and (folder / "masks").is_dir()


def demo_data(task: str = DEFAULT_TASK) -> Path:
    """The demo data folder for `task`.

    The bundled copy when there is one; otherwise (e.g. PetriLab installed
    without its resources) it is generated once into ~/PetriLab/demo-data/.
    """
    if task not in TASKS:
        raise UserError(f"There is no demo data for the task '{task}' yet.",
                        fix="Try the classification, regression or segmentation demos for now.")
    bundled = resources_dir() / "demo" / task
    if _complete(bundled, TASKS[task]):
        return bundled
    target = user_data_dir() / "demo-data" / task
    if _complete(target, TASKS[task]):
        return target
    from petrilab.demo import make_demo
    from petrilab.file_modes import share_folder

    # generate next to the target, then rename: a second PetriLab starting at the same
    # moment, or a crash half-way, never leaves a half-made demo folder in place
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{task}-", dir=target.parent))
    try:
        share_folder(scratch)  # mkdtemp made it 0700
        make_demo(task, scratch)
        try:
            os.replace(scratch, target)
        except OSError:
            if not _complete(target, TASKS[task]):
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)  # our own scratch folder, never user data
    return target
