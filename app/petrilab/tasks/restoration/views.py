"""What the workshop's critical look at a restoration needs, in numpy (the window and the report both use it):
the difference image (restored − input), a line profile across both, and the three side by side.

A restoration network can invent structures: where the difference image shows shapes rather than grain, the
network changed more than noise there.
"""

from __future__ import annotations

import numpy as np


def grey(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 of an (H, W) or (H, W, C) image: the mean of its channels."""
    x = np.asarray(image, np.float32)
    return x.mean(axis=2) if x.ndim == 3 else x


def difference(restored: np.ndarray, original: np.ndarray) -> np.ndarray:
    """restored − input, (H, W) float32, in the input's intensity units."""
    return grey(restored) - grey(original)


def line_profile(image: np.ndarray, start: tuple[float, float], end: tuple[float, float]) -> np.ndarray:
    """The intensities along the segment from `start` to `end` ((row, column) each), one value per pixel of its
    length, linearly interpolated (scikit-image's profile_line)."""
    from skimage.measure import profile_line

    return np.ravel(profile_line(grey(image), start, end, order=1, mode="reflect")).astype(np.float32)


def to_8bit(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """(H, W) float → uint8 between low and high (the same range for images to be compared)."""
    scaled = (grey(image) - low) / max(high - low, 1e-6)
    return (np.clip(scaled, 0, 1) * 255).round().astype(np.uint8)


def display_range(*images: np.ndarray) -> tuple[float, float]:
    """One display range for images shown side by side: the 0.5th and 99.5th percentiles of the first."""
    low, high = np.percentile(grey(images[0]), [0.5, 99.5])
    return float(low), float(high)


def before_after_strip(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(H, 3W + 8, 3) uint8: input and restored at one display range, then the difference (grey = no change,
    brighter = added, darker = removed), separated by white bars."""
    low, high = display_range(before, after)
    diff = difference(after, before)
    reach = float(np.percentile(np.abs(diff), 99.5)) or 1.0
    panels = [to_8bit(before, low, high), to_8bit(after, low, high), to_8bit(diff, -reach, reach)]
    bar = np.full((panels[0].shape[0], 4), 255, np.uint8)
    strip = np.concatenate([panels[0], bar, panels[1], bar, panels[2]], axis=1)
    return np.repeat(strip[:, :, np.newaxis], 3, axis=2)
