"""Changing a label image by hand: brush strokes, fill, deleting an object, and undo per stroke.

Pure numpy, so the window's tools are tested without Qt and stay fast on 4096 × 4096 images: each
operation touches only the rectangle it changes and returns it (the window redraws only that), and
the undo history keeps only those rectangles, before and after.

Coordinates are (x, y) in pixels, continuous: pixel (row r, column c) covers [c, c + 1) × [r, r + 1),
so its centre is (c + 0.5, r + 0.5). A brush of radius R drawn from p to q covers exactly the pixels
whose centre lies within R of the segment pq.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Rect = tuple[int, int, int, int]  # top, left, bottom, right (bottom and right excluded)


def _clip(mask: np.ndarray, top: float, left: float, bottom: float, right: float) -> Rect | None:
    h, w = mask.shape
    t, l = max(int(np.floor(top)), 0), max(int(np.floor(left)), 0)
    b, r = min(int(np.ceil(bottom)) + 1, h), min(int(np.ceil(right)) + 1, w)
    return (t, l, b, r) if t < b and l < r else None


def segment_footprint(shape: tuple[int, int], p: tuple[float, float], q: tuple[float, float],
                      radius: float) -> tuple[Rect, np.ndarray] | None:
    """The pixels whose centre is within `radius` of the segment p–q: a rectangle and a boolean mask of it."""
    (px, py), (qx, qy) = p, q
    rect = _clip(np.empty(shape, bool), min(py, qy) - radius, min(px, qx) - radius,
                 max(py, qy) + radius, max(px, qx) + radius)
    if rect is None:
        return None
    t, l, b, r = rect
    cy = np.arange(t, b, dtype=np.float64)[:, None] + 0.5
    cx = np.arange(l, r, dtype=np.float64)[None, :] + 0.5
    dx, dy = qx - px, qy - py
    length2 = dx * dx + dy * dy
    if length2 == 0:
        along = 0.0
    else:  # where along the segment each centre's nearest point lies, 0..1
        along = np.clip(((cx - px) * dx + (cy - py) * dy) / length2, 0.0, 1.0)
    ex, ey = cx - (px + along * dx), cy - (py + along * dy)
    return rect, ex * ex + ey * ey <= radius * radius


def paint_segment(mask: np.ndarray, p, q, radius: float, value: int, only: int | None = None,
                  found: tuple[Rect, np.ndarray] | None = None) -> Rect | None:
    """Set the pixels a brush of `radius` sweeps from p to q to `value` (only those equal to `only`,
    when given: the eraser of one object). Returns the rectangle changed, or None when outside.
    `found`: the segment's footprint when already computed."""
    found = found or segment_footprint(mask.shape, p, q, radius)
    if found is None:
        return None
    (t, l, b, r), inside = found
    view = mask[t:b, l:r]
    if only is not None:
        inside &= view == only
    view[inside] = value
    return t, l, b, r


def flood_fill(mask: np.ndarray, x: float, y: float, value: int) -> Rect | None:
    """Give `value` to the region of equal pixels (4-connected) around (x, y): e.g. the inside of a
    closed outline. Returns the rectangle changed, or None when nothing changes."""
    from scipy import ndimage as ndi

    r, c = int(np.floor(y)), int(np.floor(x))
    h, w = mask.shape
    if not (0 <= r < h and 0 <= c < w) or mask[r, c] == value:
        return None
    same = mask == mask[r, c]
    regions, _ = ndi.label(same)  # 4-connected (the default cross)
    region = regions == regions[r, c]
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    t, b, l, rt = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    mask[t:b, l:rt][region[t:b, l:rt]] = value
    return int(t), int(l), int(b), int(rt)


def fill_polygon(mask: np.ndarray, points, value: int) -> Rect | None:
    """Give `value` to the pixels whose centre lies inside the polygon through `points` (x, y): the lasso.
    Returns the rectangle changed, or None when the polygon holds no pixel centre."""
    from skimage.draw import polygon

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < 3:
        return None
    # skimage tests integer coordinates; ours are the pixel centres, half a pixel further
    rows, cols = polygon(points[:, 1] - 0.5, points[:, 0] - 0.5, shape=mask.shape)
    if rows.size == 0:
        return None
    mask[rows, cols] = value
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def delete_object(mask: np.ndarray, x: float, y: float) -> Rect | None:
    """Set the object under (x, y) to background (all its pixels, connected or not). None on background."""
    r, c = int(np.floor(y)), int(np.floor(x))
    h, w = mask.shape
    if not (0 <= r < h and 0 <= c < w) or mask[r, c] == 0:
        return None
    label = mask[r, c]
    where = mask == label
    rows, cols = np.flatnonzero(where.any(axis=1)), np.flatnonzero(where.any(axis=0))
    t, b, l, rt = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    mask[t:b, l:rt][where[t:b, l:rt]] = 0
    return int(t), int(l), int(b), int(rt)


def next_free_label(mask: np.ndarray) -> int:
    return int(mask.max(initial=0)) + 1


def union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


@dataclass
class Change:
    """One stroke (or fill, or deletion): the rectangle it touched, before and after."""

    rect: Rect
    before: np.ndarray
    after: np.ndarray


@dataclass
class History:
    """Undo and redo, one step per stroke. A stroke's 'before' is taken lazily: the first time a
    segment touches a part of the image, that part is copied before it is painted."""

    mask: np.ndarray
    limit: int = 100
    undone: list[Change] = field(default_factory=list)
    done: list[Change] = field(default_factory=list)
    _start: np.ndarray | None = None  # the mask before the stroke in progress, kept only where touched
    _seen: np.ndarray | None = None  # where _start holds the pixels
    _touched: Rect | None = None

    def begin(self) -> None:
        self._start, self._touched = None, None

    def before_change(self, rect: Rect | None) -> None:
        """Call before painting `rect` during a stroke: keeps the pixels it is about to change."""
        if rect is None:
            return
        if self._start is None:
            self._start = np.zeros_like(self.mask)  # lazily filled; zeros_like costs no pages until written
            self._seen = np.zeros(self.mask.shape, bool)
        t, l, b, r = rect
        fresh = ~self._seen[t:b, l:r]
        self._start[t:b, l:r][fresh] = self.mask[t:b, l:r][fresh]
        self._seen[t:b, l:r] = True
        self._touched = union(self._touched, rect)

    def paint(self, p, q, radius: float, value: int, only: int | None = None) -> Rect | None:
        """One segment of the stroke in progress (begin() first)."""
        found = segment_footprint(self.mask.shape, p, q, radius)
        if found is None:
            return None
        self.before_change(found[0])
        return paint_segment(self.mask, p, q, radius, value, only, found)

    def single(self, operation) -> Rect | None:
        """A one-click change (fill, delete): `operation(mask)` returns the rectangle it changed."""
        self.begin()
        before = self.mask.copy()  # a click, not a mouse move: one full copy is affordable
        rect = operation(self.mask)
        if rect is None:
            return None
        t, l, b, r = rect
        self.done.append(Change(rect, before[t:b, l:r], self.mask[t:b, l:r].copy()))
        del self.done[:-self.limit]
        self.undone.clear()
        return rect

    def end(self) -> Rect | None:
        """Close the stroke: one undo step (none when it touched nothing). Returns its rectangle."""
        rect, self._touched = self._touched, None
        if rect is None:
            return None
        t, l, b, r = rect
        before = np.where(self._seen[t:b, l:r], self._start[t:b, l:r], self.mask[t:b, l:r])
        after = self.mask[t:b, l:r].copy()
        self._start = None
        if np.array_equal(before, after):
            return None
        self.done.append(Change(rect, before, after))
        del self.done[:-self.limit]
        self.undone.clear()
        return rect

    def undo(self) -> Rect | None:
        if not self.done:
            return None
        change = self.done.pop()
        t, l, b, r = change.rect
        self.mask[t:b, l:r] = change.before
        self.undone.append(change)
        return change.rect

    def redo(self) -> Rect | None:
        if not self.undone:
            return None
        change = self.undone.pop()
        t, l, b, r = change.rect
        self.mask[t:b, l:r] = change.after
        self.done.append(change)
        return change.rect
