"""The data folder the user meant: choosing DATA/images itself means DATA.

Regression, multi-label and segmentation data keep their images in a
sub-folder called 'images' (beside a table, or a 'masks' folder). A user who
picks that 'images' folder in the dialog would be told to put the images in a
sub-folder called 'images' — where they already are. The Data page uses the
folder above instead, and says so.
"""

from __future__ import annotations

from pathlib import Path

from petrilab.tasks import MASK_TASKS as SEGMENTATION_TASKS, RESTORATION_TASKS, TABLE_TASKS

IMAGES, MASKS = "images", "masks"


def _has_sub(folder: Path, name: str) -> bool:
    try:
        return any(p.is_dir() and p.name.casefold() == name for p in folder.iterdir())
    except OSError:
        return False


def meant_folder(task: str, folder: str | Path) -> tuple[str, str | None]:
    """(the folder to use, a sentence saying why it differs from the one chosen, or None)."""
    if not folder or (task not in SEGMENTATION_TASKS and task not in TABLE_TASKS and task not in RESTORATION_TASKS):
        return str(folder), None
    chosen = Path(folder)
    name = chosen.name.casefold()
    parent = chosen.parent
    if not chosen.is_dir() or parent == chosen or _has_sub(chosen, IMAGES):
        return str(folder), None  # it holds an images folder itself: it is the data folder
    if name == IMAGES or (name == MASKS and task in SEGMENTATION_TASKS and _has_sub(parent, IMAGES)):
        return str(parent), (f"You chose the '{chosen.name}' folder itself; PetriLab uses the folder above it, "
                             f"{parent}, which holds it.")
    return str(folder), None
