"""Reading a label stack (a z-stack's mask) as integers, without Keras: training (stack_batches.py), evaluation
and prediction (stack_recipe.py) and the window's Evaluate and Predict pages all read masks this one way."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.errors import UserError


def read_stack_mask(path, task: str) -> np.ndarray:
    """A label stack (Z, Y, X) as integers: class numbers (semantic) or object labels (instance)."""
    from petrilab.data.stacks import read_stack
    from petrilab.tasks import TASKS
    from petrilab.tasks.segmentation.masks import is_black_and_white

    path = Path(path)
    mask = read_stack(path).pixels
    if mask.shape[3] != 1:
        raise UserError(f"The mask '{path.name}' has {mask.shape[3]} channels; a mask has one.", file=path,
                        fix="Save the mask as a single-channel label stack.")
    mask = mask[..., 0]
    if np.issubdtype(mask.dtype, np.floating):
        mask = np.rint(mask)
    if TASKS[task].has_objects:
        values = np.unique(mask)
        if np.count_nonzero(values) == 1:  # one value for every object: its 3-D connected pieces are the objects
            from scipy import ndimage as ndi

            return ndi.label(mask > 0, structure=np.ones((3, 3, 3)))[0].astype(np.int32)
    elif is_black_and_white(mask):
        mask = mask // 255
    return mask.astype(np.int64 if mask.max(initial=0) > np.iinfo(np.int32).max else np.int32)
