"""What flips and quarter turns do to a regression target, by its kind (data.target_kinds).

- `invariant`: a count, an area, an intensity: unchanged.
- `position_x`, `position_y`: a column and a row in the image's own pixels, the centre of the top-left
  pixel being 0 (numpy's and scikit-image's convention). They move with the image.
- `angle`: degrees, counter-clockwise as seen on the screen, 0 pointing right. A flip mirrors it and a
  quarter turn adds 90; the result is folded back into the range the training values span (180° for an
  orientation that knows no head from tail, 360° otherwise).
- `other`: nothing is known; the images of such a run are never flipped or turned.

Positions are moved in fractions of the image (0 … 1 across, whatever its pixel size), the frame in which
the network sees every image once it is resized to data.image_size; an image that is not square keeps its
own width and height for the answer. A flip or a turn is `ops` = (flip left-right, flip up-down, quarter
turns counter-clockwise), applied in that order, as `augment.Augmenter` applies them to the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

KINDS = ("invariant", "position_x", "position_y", "angle", "other")
MOVES_WITH_IMAGE = ("position_x", "position_y", "angle")


def angle_range(values: np.ndarray) -> tuple[float, float]:
    """(lowest, period) of the angles the training images have: 180° when they all fit in half a turn."""
    values = np.asarray(values, dtype=np.float64)
    low = float(np.floor(values.min()))
    period = 180.0 if float(values.max()) - low < 180.0 else 360.0
    return low, period


def move_positions(u: np.ndarray, v: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions as fractions of the width (u) and height (v), after each sample's flip and turns."""
    u, v = np.array(u, dtype=np.float64), np.array(v, dtype=np.float64)
    ops = np.asarray(ops).reshape(-1, 3)
    u = np.where(ops[:, 0] > 0, 1.0 - u, u)
    v = np.where(ops[:, 1] > 0, 1.0 - v, v)
    for _ in range(3):  # np.rot90 once: what was at row v, column u is now at row 1 - u, column v
        turn = ops[:, 2] > _
        u, v = np.where(turn, v, u), np.where(turn, 1.0 - u, v)
    return u, v


def move_angles(theta: np.ndarray, ops: np.ndarray, low: float, period: float) -> np.ndarray:
    theta = np.array(theta, dtype=np.float64)
    ops = np.asarray(ops).reshape(-1, 3)
    theta = np.where(ops[:, 0] > 0, 180.0 - theta, theta)
    theta = np.where(ops[:, 1] > 0, -theta, theta)
    theta = theta + 90.0 * ops[:, 2]
    return low + np.mod(theta - low, period)


@dataclass
class TargetGeometry:
    """Moves each sample's targets (in the table's units) the way its image was flipped and turned."""

    kinds: list[str]  # one per target column
    sizes: np.ndarray  # (N, 2): each sample's own height and width in pixels
    angles: tuple[float, float] = (0.0, 360.0)  # angle_range of the training values

    @property
    def moves(self) -> bool:
        return any(k in MOVES_WITH_IMAGE for k in self.kinds)

    def __call__(self, values: np.ndarray, ops: np.ndarray, index: Sequence[int]) -> np.ndarray:
        """values (n, columns) for the samples `index` (rows of `sizes`), after their `ops`."""
        out = np.array(values, dtype=np.float64, copy=True)
        if not len(out):
            return out
        h, w = self.sizes[np.asarray(index)].T.astype(np.float64)
        for kind, other in (("position_x", "position_y"), ("position_y", "position_x")):
            for j in [i for i, k in enumerate(self.kinds) if k == kind]:
                partners = [i for i, k in enumerate(self.kinds) if k == other]
                # a lone coordinate (x without y) still flips; a quarter turn needs its partner
                pair = values[:, partners[0]] if partners else None
                out[:, j] = self._position(values[:, j], pair, kind, ops, h, w)
        for j in [i for i, k in enumerate(self.kinds) if k == "angle"]:
            out[:, j] = move_angles(values[:, j], ops, *self.angles)
        return out

    @staticmethod
    def _position(own, partner, kind, ops, h, w) -> np.ndarray:
        x_col = kind == "position_x"
        size_own, size_other = (w, h) if x_col else (h, w)
        frac_own = (np.asarray(own, dtype=np.float64) + 0.5) / size_own
        frac_other = (np.full_like(frac_own, 0.5) if partner is None
                      else (np.asarray(partner, dtype=np.float64) + 0.5) / size_other)
        u, v = (frac_own, frac_other) if x_col else (frac_other, frac_own)
        u, v = move_positions(u, v, ops)
        return (u * w - 0.5) if x_col else (v * h - 0.5)

    def needs_partner(self) -> str | None:
        """A position column whose partner is missing: quarter turns cannot move it (the caller turns them off)."""
        xs, ys = self.kinds.count("position_x"), self.kinds.count("position_y")
        if xs != ys:
            return "position_x" if xs > ys else "position_y"
        return None


def standardised(geometry: TargetGeometry, mean: Sequence[float], std: Sequence[float]):
    """The same move for targets standardised with (mean, std), as the network learns them."""
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)

    def move(y: np.ndarray, ops: np.ndarray, index) -> np.ndarray:
        units = np.asarray(y, dtype=np.float64) * std + mean
        return ((geometry(units, ops, index) - mean) / std).astype(np.float32)

    return move
