"""Noise2Void's blind spot, in numpy: which pixels of a patch are hidden, and what they are replaced by.

The network must never see a pixel's own noisy value when it is asked to guess that pixel, or it learns to copy
it (the identity is the easiest denoiser of all, and the worst). So at each step a few pixels of every patch are
picked, spread evenly (one at a random place inside each box of a grid, so they never bunch together), and each
is replaced by the median of its neighbourhood without itself (restoration.blind_spot_fill = "median", N2V2,
Höck et al. 2022) or by the value of a random other pixel of it ("neighbour", the original Noise2Void). The
median carries less of any one neighbour's noise, and N2V2 found it leaves fewer checkerboard-like residues in
restored images; in PetriLab's benchmark it gave the better SSIM (benchmarks/RESULTS.md). The loss is then
computed on those pixels alone, against their original noisy values (losses.py): the noise of a pixel is
independent of its neighbours', so the best guess from the neighbours is the clean signal (Krull et al., CVPR
2019).
"""

from __future__ import annotations

import math

import numpy as np

FILLS = ("neighbour", "median")


def grid_side(percent: float) -> int:
    """The side of the grid's boxes that holds `percent` % of the pixels, one hidden pixel per box."""
    return max(2, int(round(math.sqrt(100.0 / float(percent)))))


def blind_spot_positions(shape: tuple[int, int], percent: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the pixels to hide in an image of `shape`: one at a random place in each box of a
    grid whose boxes hold 100 / percent pixels (the last boxes cut by the border hold theirs inside it)."""
    side = grid_side(percent)
    height, width = int(shape[0]), int(shape[1])
    tops = np.arange(0, height, side)
    lefts = np.arange(0, width, side)
    top, left = np.meshgrid(tops, lefts, indexing="ij")
    box_h = np.minimum(side, height - top)
    box_w = np.minimum(side, width - left)
    rows = top + (rng.random(top.shape) * box_h).astype(np.int64)
    cols = left + (rng.random(left.shape) * box_w).astype(np.int64)
    return rows.ravel(), cols.ravel()


def neighbour_positions(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], neighbourhood: int,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For each hidden pixel, a random other pixel of the `neighbourhood` × `neighbourhood` square around it.

    Offsets are drawn from the square without its centre; one that leaves the image is mirrored back at the
    border (so the replacement is still a near neighbour, and never the pixel itself)."""
    radius = max(1, int(neighbourhood) // 2)
    offsets = np.array([(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)
                        if (dy, dx) != (0, 0)])
    chosen = offsets[rng.integers(len(offsets), size=len(rows))]
    return (_mirror(rows + chosen[:, 0], int(shape[0])), _mirror(cols + chosen[:, 1], int(shape[1])))


def _mirror(index: np.ndarray, length: int) -> np.ndarray:
    """Indices past either end reflected back inside (-1 → 1, length → length - 2); a length of 1 stays 0."""
    if length == 1:
        return np.zeros_like(index)
    index = np.where(index < 0, -index, index)
    return np.where(index > length - 1, 2 * (length - 1) - index, index)


def neighbourhood_median(patch: np.ndarray, rows: np.ndarray, cols: np.ndarray, neighbourhood: int) -> np.ndarray:
    """(N, C): for each hidden pixel, the median of the `neighbourhood` square around it without the pixel itself
    (N2V2, Höck et al. 2022), channel by channel; places past the border are mirrored back, as above."""
    radius = max(1, int(neighbourhood) // 2)
    offsets = np.array([(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)
                        if (dy, dx) != (0, 0)])
    around_rows = _mirror(rows[:, None] + offsets[None, :, 0], int(patch.shape[0]))
    around_cols = _mirror(cols[:, None] + offsets[None, :, 1], int(patch.shape[1]))
    return np.median(patch[around_rows, around_cols], axis=1)


def hide_pixels(patch: np.ndarray, percent: float, neighbourhood: int,
                rng: np.random.Generator, fill: str = "neighbour") -> tuple[np.ndarray, np.ndarray]:
    """A (H, W, C) patch with its blind spots filled, and the (H, W, C) weights: 1 on the hidden pixels, 0
    elsewhere (where the loss does not look). Every channel of a pixel is hidden together. `fill`: "neighbour"
    (a random other pixel of the square) or "median" (the median of the square without the pixel)."""
    if fill not in FILLS:
        raise ValueError(f"unknown blind-spot fill {fill!r}; use one of {FILLS}")
    rows, cols = blind_spot_positions(patch.shape[:2], percent, rng)
    masked = np.array(patch, dtype=np.float32, copy=True)
    if fill == "median":
        masked[rows, cols] = neighbourhood_median(patch, rows, cols, neighbourhood)
    else:
        from_rows, from_cols = neighbour_positions(rows, cols, patch.shape[:2], neighbourhood, rng)
        masked[rows, cols] = patch[from_rows, from_cols]
    weights = np.zeros(patch.shape, dtype=np.float32)
    weights[rows, cols] = 1.0
    return masked, weights
