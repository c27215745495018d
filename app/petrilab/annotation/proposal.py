"""A first mask before any model exists, so annotating starts from corrections rather than a blank image.

Otsu's threshold on the smoothed image separates objects from background; objects are taken to be the
smaller part (bright nuclei on a dark field, or dark cells on a bright one). For objects, touching ones
are split by a watershed on the distance to the background, one seed per local maximum of that distance.
"""

from __future__ import annotations

import numpy as np


def _grey(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    return image.mean(axis=2) if image.ndim == 3 else image


def foreground(image: np.ndarray, smallest: int = 16) -> np.ndarray:
    """True where Otsu's threshold finds objects; holes filled, specks under `smallest` pixels dropped."""
    from scipy import ndimage as ndi
    from skimage.filters import threshold_otsu

    grey = ndi.gaussian_filter(_grey(image), 1.0)
    if grey.max() == grey.min():
        return np.zeros(grey.shape, bool)
    mask = grey > threshold_otsu(grey)
    if mask.mean() > 0.5:  # objects darker than the background (bright field)
        mask = ~mask
    mask = ndi.binary_fill_holes(mask)
    parts, _ = ndi.label(mask)
    sizes = np.bincount(parts.ravel())
    sizes[0] = 0
    return sizes[parts] >= smallest


def propose_classes(image: np.ndarray) -> np.ndarray:
    """A semantic mask: 1 on the objects, 0 elsewhere (uint8)."""
    return foreground(image).astype(np.uint8)


def propose_objects(image: np.ndarray, min_distance: int = 5) -> np.ndarray:
    """An instance mask: 0 background, 1..N objects, touching ones split by a watershed (uint16)."""
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    mask = foreground(image)
    if not mask.any():
        return np.zeros(mask.shape, np.uint16)
    distance = ndi.distance_transform_edt(mask)
    # one seed per object centre; the smoothing stops a ragged edge from making a seed of its own
    smooth = ndi.gaussian_filter(distance, 1.0)
    components, _ = ndi.label(mask)
    peaks = peak_local_max(smooth, min_distance=min_distance, labels=components, exclude_border=False)
    seeds = np.zeros(mask.shape, np.int32)
    seeds[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-smooth, seeds, mask=mask)
    # a component that got no seed (too thin for a maximum) is still an object
    unseeded = mask & (labels == 0)
    if unseeded.any():
        extra, n = ndi.label(unseeded)
        labels[unseeded] = extra[unseeded] + labels.max()
    return labels.astype(np.uint16)


def propose(image: np.ndarray, objects: bool) -> np.ndarray:
    return propose_objects(image) if objects else propose_classes(image)
