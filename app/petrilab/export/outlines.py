"""Objects as outlines and back, in the pixel-edge coordinates that QuPath and ImageJ share: pixel (row r,
column c) covers x in [c, c + 1], y in [r, r + 1], and a pixel is inside an outline when its centre is.

An outline goes half-way between the object's pixels and the others, so filling it again gives the object's
pixels back; holes inside an object are not kept (both programs draw objects as filled shapes).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def _outer_ring(part: np.ndarray) -> list[list[float]]:
    """The outer outline of one connected part, as a closed ring of [x, y] points."""
    from skimage.measure import find_contours

    padded = np.pad(part, 1).astype(np.float32)
    outer = max(find_contours(padded, 0.5), key=len)  # the holes' outlines are shorter than the outer one
    ring = [[round(float(c) - 1 + 0.5, 3), round(float(r) - 1 + 0.5, 3)] for r, c in outer]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring


def object_outlines(labels: np.ndarray) -> Iterator[tuple[int, list[list[list[float]]]]]:
    """(label, rings) per object of `labels` (0 = background), in label order: one closed ring of [x, y]
    points per connected part (8-connected), holes filled."""
    from scipy import ndimage as ndi

    labels = np.asarray(labels)
    for value, box in enumerate(ndi.find_objects(labels.astype(np.int64)), start=1):
        if box is None:
            continue
        obj = ndi.binary_fill_holes(labels[box] == value)
        parts, n = ndi.label(obj, structure=np.ones((3, 3)))
        rings = []
        for k in range(1, n + 1):
            rings.append([[x + box[1].start, y + box[0].start] for x, y in _outer_ring(parts == k)])
        yield value, rings


def inside(ring, shape: tuple[int, int]) -> np.ndarray:
    """The pixels of `shape` whose centres lie inside the closed ring of [x, y] points (raises ValueError,
    TypeError or IndexError for points that are not pairs of numbers)."""
    from skimage.draw import polygon as fill

    xy = np.asarray(ring, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError("an outline is a list of [x, y] points")
    mask = np.zeros(shape, bool)
    rr, cc = fill(xy[:, 1] - 0.5, xy[:, 0] - 0.5, shape)
    mask[rr, cc] = True
    return mask
