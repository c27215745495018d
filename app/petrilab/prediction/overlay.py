"""Pictures a biologist can check by eye: object outlines drawn on the image.

The image is shown with its contrast stretched between two percentiles (as
Fiji's "auto" contrast), grey for one channel, a green/magenta composite for
two, RGB for three (the fourth channel of four is left out). Outlines are
the objects' own edge pixels: each object gets its own colour, so touching
objects stay distinguishable; a plain mask gets one colour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.runs import atomic_write_bytes

YELLOW = (255, 230, 0)
GREEN = (0, 220, 90)
MAGENTA = (255, 0, 200)
_TWO_CHANNELS = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])  # channel 1 green, channel 2 magenta


def display_image(image: np.ndarray, low: float = 1.0, high: float = 99.8) -> np.ndarray:
    """(H, W, 3) uint8 for showing any (H, W) or (H, W, C) image, each channel stretched between percentiles."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W) or (H, W, C), not {image.shape}")
    channels = image[:, :, :3].astype(np.float32)
    stretched = np.empty_like(channels)
    for c in range(channels.shape[2]):
        values = channels[:, :, c]
        finite = values[np.isfinite(values)]
        lo, hi = (np.percentile(finite, (low, high)) if finite.size else (0.0, 1.0))
        if hi <= lo:
            hi = lo + 1.0
        stretched[:, :, c] = np.clip((np.nan_to_num(values, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
    n = stretched.shape[2]
    if n == 1:
        rgb = np.repeat(stretched, 3, axis=2)
    elif n == 2:
        rgb = np.clip(stretched @ _TWO_CHANNELS, 0.0, 1.0)
    else:
        rgb = stretched
    return (rgb * 255 + 0.5).astype(np.uint8)


def label_colours(n: int, seed: int = 0) -> np.ndarray:
    """n bright, well-separated colours (n, 3) uint8: hues spaced by the golden angle."""
    import colorsys

    hues = (seed * 0.1 + np.arange(n) * 0.618033988749895) % 1.0
    return np.array([[round(255 * v) for v in colorsys.hsv_to_rgb(h, 0.85, 1.0)] for h in hues],
                    dtype=np.uint8).reshape(n, 3)


def _draw_outlines(rgb: np.ndarray, labels: np.ndarray, colour: tuple[int, int, int] | None,
                   thickness: int) -> None:
    from skimage.segmentation import find_boundaries

    labels = np.asarray(labels)
    if labels.shape != rgb.shape[:2]:
        raise ValueError(f"labels {labels.shape} and image {rgb.shape[:2]} differ in size")
    if labels.dtype == bool:
        labels = labels.astype(np.int32)
    edge = find_boundaries(labels, mode="inner")
    for _ in range(max(0, thickness - 1)):  # thicker lines grow inwards, never over a neighbour
        edge |= find_boundaries(np.where(edge, 0, labels), mode="inner")
    if colour is not None:
        rgb[edge] = colour
        return
    values = labels[edge].astype(np.int64)
    rgb[edge] = label_colours(int(values.max()) + 1 if values.size else 1)[values]


def outline_overlay(image: np.ndarray, labels: np.ndarray, colour: tuple[int, int, int] | None = None,
                    thickness: int = 1) -> np.ndarray:
    """(H, W, 3) uint8: the image with the outline of every object (label image) or mask drawn on it.

    A label image (values 0..N) gets one colour per object; a binary mask
    (bool, or only 0 and 1) is drawn in yellow; `colour` forces one colour.
    """
    rgb = display_image(image)
    labels = np.asarray(labels)
    if colour is None and (labels.dtype == bool or labels.max(initial=0) <= 1):
        colour = YELLOW
    _draw_outlines(rgb, labels, colour, thickness)
    return rgb


def comparison_overlay(image: np.ndarray, true_labels: np.ndarray, pred_labels: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: true objects outlined in green, predicted ones in magenta (yellow where both agree)."""
    from skimage.segmentation import find_boundaries

    rgb = display_image(image)
    true_edge = find_boundaries(np.asarray(true_labels), mode="inner")
    pred_edge = find_boundaries(np.asarray(pred_labels), mode="inner")
    rgb[true_edge] = GREEN
    rgb[pred_edge] = MAGENTA
    rgb[true_edge & pred_edge] = YELLOW
    return rgb


def save_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 picture as PNG, atomically."""
    import io

    from PIL import Image

    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a PNG overlay must be (H, W, 3) uint8, not {rgb.shape} {rgb.dtype}")
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue())
