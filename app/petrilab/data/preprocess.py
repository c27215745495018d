"""Turning one image into what the model sees: channels, size, normalisation.

The same `Preprocessing` runs at training, evaluation and prediction time, so
a model always gets its images prepared the way it learnt them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from petrilab.settings import CHOICES

NORMALISATIONS = CHOICES["data.normalisation"]
_LUMINANCE = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)  # how bright each of R, G, B looks
_EPS = 1e-6


@dataclass
class Preprocessing:
    image_size: tuple[int, int]  # height, width
    channels: int
    normalisation: str = "scale"
    percentile_low: float = 1.0
    percentile_high: float = 99.8
    keep_size: bool = False  # segmentation: never resize, the mask must match the image pixel for pixel

    def __post_init__(self):
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"unknown normalisation {self.normalisation!r}; use one of {NORMALISATIONS}")
        if not 1 <= self.channels <= 4:
            raise ValueError(f"channels must be 1 to 4 (resolved from the data), not {self.channels}")

    @classmethod
    def from_settings(cls, data_settings, channels: int) -> "Preprocessing":
        """From the [data] settings; `channels` already resolved (see check.resolve_channels)."""
        return cls(
            image_size=tuple(data_settings.image_size),
            channels=int(channels),
            normalisation=data_settings.normalisation,
            percentile_low=float(data_settings.percentile_low),
            percentile_high=float(data_settings.percentile_high),
        )

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (*self.image_size, self.channels)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(H, W, C) in any bit depth -> float32 (height, width, channels) ready for the model."""
        if image.ndim == 2:
            image = image[:, :, np.newaxis]
        kind = image.dtype
        x = image.astype(np.float32, copy=False)
        if not self.keep_size:
            x = resize(x, self.image_size)  # before the channels: a large grey image is not tripled first
        x = convert_channels(x, self.channels)
        x = self._normalise(x, kind)
        return np.ascontiguousarray(x, dtype=np.float32)

    def _normalise(self, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        if self.normalisation == "scale":
            if np.issubdtype(dtype, np.integer):
                return x / np.float32(np.iinfo(dtype).max)
            low, high = float(x.min()), float(x.max())  # floats have no fixed range: this image's own
            return (x - low) / max(high - low, _EPS)
        if self.normalisation == "mean_std":
            return (x - x.mean()) / max(float(x.std()), _EPS)
        low, high = np.percentile(x, [self.percentile_low, self.percentile_high])
        # not clipped: a bright spot above the high percentile stays brighter than 1, as it really is
        return (x - np.float32(low)) / np.float32(max(float(high - low), _EPS))


def convert_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """Give an (H, W, C) float image `channels` channels.

    Grey to more channels repeats the grey; colour to grey takes the
    luminance; RGBA to RGB drops the transparency. For other combinations,
    extra channels are left out and missing ones filled with zeros.
    """
    have = x.shape[2]
    if have == channels:
        return x
    if have == 1:
        return np.repeat(x, channels, axis=2)
    if channels == 1:
        if have >= 3:
            return (x[:, :, :3] @ _LUMINANCE)[:, :, np.newaxis]
        return x.mean(axis=2, keepdims=True)
    if have > channels:
        return x[:, :, :channels]
    padding = np.zeros((*x.shape[:2], channels - have), dtype=x.dtype)
    return np.concatenate([x, padding], axis=2)


def resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (H, W, C) to `size`, smoothing first when shrinking so fine patterns do not alias."""
    if x.shape[:2] == tuple(size):
        return x
    from skimage.transform import resize as sk_resize

    x = _box_reduce(x, size)
    shrinking = x.shape[0] > size[0] or x.shape[1] > size[1]
    out = sk_resize(x, (*size, x.shape[2]), order=1, mode="reflect", anti_aliasing=shrinking,
                    preserve_range=True)
    return out.astype(np.float32, copy=False)


def _box_reduce(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Shrink an image more than twice the target size to twice the target by averaging blocks of pixels.

    A whole-slide scan shrunk to 64 × 64 in one step needs a Gaussian as wide as
    a hundred pixels over millions of pixels (minutes per image); averaging the
    blocks first is the same smoothing, done in a fraction of a second.
    """
    target = (min(x.shape[0], 2 * int(size[0])), min(x.shape[1], 2 * int(size[1])))
    if target == x.shape[:2]:
        return x
    from PIL import Image

    planes = [np.asarray(Image.fromarray(np.ascontiguousarray(x[:, :, c]), mode="F")
                         .resize((target[1], target[0]), Image.Resampling.BOX))
              for c in range(x.shape[2])]
    return np.stack(planes, axis=2)
