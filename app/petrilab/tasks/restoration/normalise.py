"""Bringing an image to the range the network works in, and its answer back to the image's own intensities.

Each image is stretched by an affine map, x = (image − low) / (high − low), with low and high from the run's
data.normalisation (restoration's default: the image's 1st and 99.8th percentiles, as CARE does); the restored
image is mapped back with the same low and high, so it keeps the input's intensity scale. A target (pairs) is
stretched the same way with its own low and high: a clean image taken with a longer exposure has other
intensities than the noisy one, but the same structures between its percentiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from petrilab.data.preprocess import convert_channels

_EPS = 1e-6


@dataclass(frozen=True)
class Stretch:
    """The affine map of one image: network value = (intensity − low) / (high − low)."""

    low: float
    high: float

    @property
    def span(self) -> float:
        return max(self.high - self.low, _EPS)

    def forward(self, image: np.ndarray) -> np.ndarray:
        return ((np.asarray(image, np.float32) - np.float32(self.low)) / np.float32(self.span)).astype(np.float32)

    def back(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, np.float32) * np.float32(self.span) + np.float32(self.low)).astype(np.float32)


def as_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(H, W) or (H, W, C) in any bit depth → float32 (H, W, channels), as every task converts channels."""
    x = np.asarray(image)
    if x.ndim == 2:
        x = x[:, :, np.newaxis]
    return convert_channels(x.astype(np.float32, copy=False), int(channels))


def stretch_of(image: np.ndarray, prep, dtype: np.dtype | None = None) -> Stretch:
    """The stretch data.normalisation asks for, measured on `image` (float32 (H, W, C)); `dtype`: the file's
    own pixel type (scale: an integer image is divided by its type's largest value)."""
    x = np.asarray(image, np.float32)
    if prep.normalisation == "scale":
        if dtype is not None and np.issubdtype(dtype, np.integer):
            return Stretch(0.0, float(np.iinfo(dtype).max))
        return Stretch(float(x.min()), float(x.max()))
    if prep.normalisation == "mean_std":
        return Stretch(float(x.mean()), float(x.mean() + max(float(x.std()), _EPS)))
    low, high = np.percentile(x, [prep.percentile_low, prep.percentile_high])
    return Stretch(float(low), float(high))


def prepare(image: np.ndarray, prep) -> tuple[np.ndarray, Stretch]:
    """An image as the network sees it (float32 (H, W, C), stretched) and the stretch that maps it back."""
    x = as_channels(image, prep.channels)
    stretch = stretch_of(x, prep, np.asarray(image).dtype)
    return stretch.forward(x), stretch
