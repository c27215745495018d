"""3-D training patches from z-stacks, with flips and quarter turns in the x-y plane only.

A patch is (z, y, x) voxels cut at a random place of a stack and of its mask; a stack smaller than the
patch is padded with zeros (background in the mask). Flips and turns move the mask along and never touch
z: a confocal stack is not the same seen from the side (the planes are farther apart than the pixels).
"""

from __future__ import annotations

import numpy as np


def _pad_to(array: np.ndarray, size: tuple[int, int, int]) -> np.ndarray:
    pads = [(0, max(0, s - n)) for s, n in zip(size, array.shape[:3])] + [(0, 0)] * (array.ndim - 3)
    return np.pad(array, pads) if any(p[1] for p in pads) else array


def random_patch(stack: np.ndarray, mask: np.ndarray, size: tuple[int, int, int], rng: np.random.Generator):
    """A (Z, Y, X, C) stack and its (Z, Y, X) mask, cut at one random place to `size`."""
    stack, mask = _pad_to(stack, size), _pad_to(mask, size)
    corner = [int(rng.integers(0, n - s + 1)) for n, s in zip(stack.shape[:3], size)]
    cut = tuple(slice(c, c + s) for c, s in zip(corner, size))
    return stack[cut], mask[cut]


def flip_turn_xy(stack: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
    """A random flip and quarter turn in the x-y plane (axes 1 and 2), the same for the stack and its mask.

    Turns by 90° swap y and x: patches are square in y, x for them to keep their shape."""
    turns = int(rng.integers(0, 4)) if stack.shape[1] == stack.shape[2] else 2 * int(rng.integers(0, 2))
    stack, mask = np.rot90(stack, turns, axes=(1, 2)), np.rot90(mask, turns, axes=(1, 2))
    if rng.random() < 0.5:
        stack, mask = stack[:, :, ::-1], mask[:, :, ::-1]
    return np.ascontiguousarray(stack), np.ascontiguousarray(mask)


def patch_batch(stacks, masks, size, batch: int, rng: np.random.Generator, augment: bool = True):
    """`batch` random patches from the stacks (each (Z, Y, X, C)) and masks (each (Z, Y, X))."""
    xs, ys = [], []
    for _ in range(batch):
        i = int(rng.integers(0, len(stacks)))
        x, y = random_patch(stacks[i], masks[i], size, rng)
        if augment:
            x, y = flip_turn_xy(x, y, rng)
        xs.append(x)
        ys.append(y)
    return np.stack(xs), np.stack(ys)
