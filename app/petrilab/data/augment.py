"""Data augmentation: new variants of the training images, drawn afresh for every batch.

Only training batches are augmented; validation and test images are shown
as they are. Everything works on the whole batch at once with numpy, so it
costs little next to a training step. Geometric changes (flips, rotations,
zoom) come first, then intensity changes (brightness, contrast, noise),
which are measured as a fraction of each image's own range.
"""

from __future__ import annotations

import numpy as np


class Augmenter:
    def __init__(self, aug_settings, seed: int = 0):
        s = aug_settings
        # augmentation.geometric = "no": the answer changes when the image is flipped or turned
        geometric = getattr(s, "geometric", "auto") != "no"
        self.flip_horizontal = geometric and bool(s.flip_horizontal)
        self.flip_vertical = geometric and bool(s.flip_vertical)
        self.rotate_90 = geometric and bool(s.rotate_90)
        self.rotation = float(s.rotation) if geometric else 0.0  # degrees, largest either way
        self.brightness = float(s.brightness)
        self.contrast = float(s.contrast)
        self.noise = float(s.noise)
        self.zoom = float(s.zoom) if geometric else 0.0
        self.rng = np.random.default_rng(seed)

    def only_flips_and_turns(self) -> None:
        """No free rotation or zoom: a target that moves with the image follows flips and turns only."""
        self.rotation = 0.0
        self.zoom = 0.0

    @property
    def active(self) -> bool:
        return (self.flip_horizontal or self.flip_vertical or self.rotate_90 or self.rotation > 0
                or self.brightness > 0 or self.contrast > 0 or self.noise > 0 or self.zoom > 0)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """A new augmented float32 batch (N, H, W, C); the input batch is left untouched."""
        return self.augment(batch)[0]

    def augment(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The augmented batch, and each image's (flip left-right, flip up-down, quarter turns), which a
        target that moves with the image needs (tasks/regression/target_geometry.py)."""
        x = np.array(batch, dtype=np.float32, copy=True)
        ops = np.zeros((len(x), 3), dtype=np.int64)
        if not self.active or len(x) == 0:
            return x, ops
        n, h, w, _ = x.shape
        rng = self.rng
        if self.flip_horizontal:
            ops[:, 0] = rng.random(n) < 0.5
        if self.flip_vertical:
            ops[:, 1] = rng.random(n) < 0.5
        if self.rotate_90:
            # a quarter turn would change the shape of a non-square image: only half turns then
            ops[:, 2] = rng.integers(0, 4, size=n) if h == w else 2 * (rng.random(n) < 0.5)
        x = flip_and_turn(x, ops)
        if self.rotation > 0 or self.zoom > 0:
            angles = np.deg2rad(rng.uniform(-self.rotation, self.rotation, size=n))
            zooms = rng.uniform(1 - self.zoom, 1 + self.zoom, size=n)
            x = _rotate_zoom(x, angles, zooms)
        if self.brightness > 0 or self.contrast > 0 or self.noise > 0:
            flat = x.reshape(n, -1)
            spread = (flat.max(axis=1) - flat.min(axis=1)).astype(np.float32)
            spread = np.where(spread > 0, spread, 1.0).reshape(n, 1, 1, 1)
            if self.contrast > 0:
                factor = rng.uniform(1 - self.contrast, 1 + self.contrast, size=(n, 1, 1, 1))
                mean = flat.mean(axis=1).reshape(n, 1, 1, 1)
                x = (x - mean) * factor.astype(np.float32) + mean
            if self.brightness > 0:
                shift = rng.uniform(-self.brightness, self.brightness, size=(n, 1, 1, 1))
                x = x + (shift * spread).astype(np.float32)
            if self.noise > 0:
                x = x + rng.standard_normal(x.shape, dtype=np.float32) * np.float32(self.noise) * spread
        return np.ascontiguousarray(x, dtype=np.float32), ops


def flip_and_turn(x: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """Each image of (N, H, W, C) flipped left-right, then up-down, then turned counter-clockwise, as `ops`
    (N, 3) says; a batch of non-square images may only be turned by half turns."""
    x = _where(ops[:, 0] > 0, x[:, :, ::-1], x)
    x = _where(ops[:, 1] > 0, x[:, ::-1], x)
    x = np.array(x, copy=True)
    for k in (1, 2, 3):
        chosen = ops[:, 2] == k
        if chosen.any():
            x[chosen] = np.rot90(x[chosen], k, axes=(1, 2))
    return x


def _where(mask: np.ndarray, changed: np.ndarray, original: np.ndarray) -> np.ndarray:
    return np.where(mask[:, None, None, None], changed, original)


def _reflect(coord: np.ndarray, size: int) -> np.ndarray:
    """Fold coordinates that fall outside 0..size-1 back inside, like a mirror at the border.

    Mirroring keeps the background's texture in the corners a rotation uncovers,
    where filling with black would teach the model that corners are black.
    One fold on each side covers rotations and zooms out to half size; beyond
    that the border pixels are repeated.
    """
    last = np.float32(size - 1)
    folded = last - np.abs(last - np.abs(coord))
    return np.clip(folded, 0, last)


def _rotate_zoom(x: np.ndarray, angles: np.ndarray, zooms: np.ndarray) -> np.ndarray:
    """Rotate each image by its angle and zoom it by its factor about the centre (bilinear)."""
    n, h, w, c = x.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float32) - np.float32(cy),
                         np.arange(w, dtype=np.float32) - np.float32(cx), indexing="ij")
    cos = (np.cos(angles) / zooms).astype(np.float32)[:, None, None]
    sin = (np.sin(angles) / zooms).astype(np.float32)[:, None, None]
    # where each output pixel comes from in the input (the inverse transform)
    src_y = _reflect(cos * yy - sin * xx + cy, h)
    src_x = _reflect(sin * yy + cos * xx + cx, w)
    floor_y, floor_x = np.floor(src_y), np.floor(src_x)
    fy = (src_y - floor_y)[..., None]
    fx = (src_x - floor_x)[..., None]
    y0, x0 = floor_y.astype(np.intp), floor_x.astype(np.intp)
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    # gather from a flat (N*H*W, C) view with one index array: much faster than 3-array fancy indexing
    flat = x.reshape(n * h * w, c)
    base = (np.arange(n, dtype=np.intp) * (h * w))[:, None, None]
    row0, row1 = base + y0 * w, base + y1 * w

    def gather(index):
        return np.take(flat, index.reshape(-1), axis=0).reshape(n, h, w, c)

    top = gather(row0 + x0)
    top += (gather(row0 + x1) - top) * fx
    bottom = gather(row1 + x0)
    bottom += (gather(row1 + x1) - bottom) * fx
    return top + (bottom - top) * fy
