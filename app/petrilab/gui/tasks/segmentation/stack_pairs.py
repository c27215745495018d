"""A z-stack and its label stack for the data page: the middle plane for a thumbnail, the whole
stack (x, y thinned to the view's size, one contrast) for the stack viewer; and whether a run learnt
from stacks (the Evaluate page then counts voxels).

read_stack_pair runs in the gallery's background threads; nothing here touches a widget.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.tasks import has_objects


def is_stack(path: str) -> bool:
    """A TIFF holding several planes (its header only: cheap for a thumbnail's decision)."""
    from petrilab.data.stacks import stack_planes

    try:
        return stack_planes(path) > 1
    except Exception:  # unreadable: the 2-D reader names the problem
        return False


def trained_on_stacks(run_dir) -> bool:
    """Whether a run learnt from z-stacks (as its settings say); False when they cannot be read."""
    from petrilab import runs, settings as settings_io
    from petrilab.errors import UserError

    if run_dir is None:
        return False
    try:
        # as stack_recipe.is_stacks decides (that module reaches the model catalogue, which the window may not)
        return settings_io.load(Path(run_dir) / runs.SETTINGS).data.dimensions == "3d"
    except (UserError, OSError):
        return False


def read_stack_pair(task: str, image_path: str, mask_path: str | None, longest: int, whole: bool) -> dict:
    """As gallery.read_pair, for a stack: 'image'/'labels' the middle plane; with `whole`, 'stack' (the display
    picture, (Z, Y, X, 3) uint8), 'stack_labels' and 'voxel' for the stack viewer."""
    from petrilab.data.stacks import read_stack
    from petrilab.errors import UserError
    from petrilab.gui.widgets.stack_viewer import display_stack
    from petrilab.tasks.segmentation.stack_masks import read_stack_mask

    stack = read_stack(image_path)
    step = max(1, int(np.ceil(max(stack.pixels.shape[1:3]) / max(1, longest))))
    pixels = stack.pixels[:, ::step, ::step]
    result = {"labels": None, "note": "", "problem": False, "voxel": None}
    labels = None
    if mask_path is None:
        result.update(note="no mask", problem=True)
    else:
        try:
            mask = read_stack_mask(mask_path, task)
        except UserError as exc:
            result.update(note="mask cannot be used", problem=True, error=exc.message)
        else:
            if mask.shape != stack.pixels.shape[:3]:
                z, y, x = mask.shape
                result.update(note=f"mask {z}×{y}×{x}, stack {'×'.join(map(str, stack.pixels.shape[:3]))}",
                              problem=True)
            else:
                labels = mask[:, ::step, ::step].astype(np.int64)
                result["note"] = _contents(task, labels, stack.pixels.shape[0])
    middle = pixels.shape[0] // 2
    result["image"] = pixels[middle, :, :, 0] if pixels.shape[3] == 1 else pixels[middle]
    result["labels"] = None if labels is None else labels[middle]
    if whole:
        result.update(stack=display_stack(pixels), stack_labels=labels,
                      voxel=None if stack.voxel is None else (stack.voxel[0], stack.voxel[1] * step,
                                                              stack.voxel[2] * step))
    return result


def _contents(task: str, labels: np.ndarray, planes: int) -> str:
    values = np.unique(labels)
    values = values[values != 0]
    if has_objects(task):
        return f"{len(values)} object{'s' if len(values) != 1 else ''} in {planes} planes"
    return f"{float(np.mean(labels > 0)):.0%} foreground in {planes} planes"
