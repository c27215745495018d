"""Objects in a z-stack: a 3-D seeded watershed on the distance to the background, in µm.

The 2-D recipe (postprocess.split_by_distance) measures distance in pixels. In a stack the planes are
usually farther apart than the pixels, so the distance is measured in µm (`sampling` = the voxel size):
a nucleus 4 planes deep at 1 µm is as deep as it is 16 pixels wide at 0.25 µm, and its centre is one peak,
not a ridge. Seeds are the distance's peaks standing at least `seed_depth` µm above their saddle
(h-maxima, one piece of foreground at a time); the watershed grows them over the foreground. Objects
smaller than `min_voxels` are dropped and the rest numbered 1..N.
"""

from __future__ import annotations

import numpy as np


def split_by_distance_3d(foreground: np.ndarray, voxel=(1.0, 1.0, 1.0), seed_depth: float | None = None,
                         min_voxels: int = 0) -> np.ndarray:
    """Touching objects of a (Z, Y, X) binary stack split at their necks; int32 labels 1..N, 0 background."""
    from scipy import ndimage as ndi
    from skimage.morphology import h_maxima
    from skimage.segmentation import relabel_sequential, watershed

    foreground = np.asarray(foreground, dtype=bool)
    if foreground.ndim != 3:
        raise ValueError(f"a stack is (Z, Y, X), not {foreground.shape}")
    if not foreground.any():
        return np.zeros(foreground.shape, np.int32)
    voxel = tuple(float(v) for v in voxel)
    depth = seed_depth if seed_depth is not None else max(voxel[1:])  # one pixel, in µm
    distance = ndi.distance_transform_edt(foreground, sampling=voxel)
    # smooth by about one pixel in y, x and the same µm in z (less than a plane when planes are far apart)
    distance = ndi.gaussian_filter(distance, sigma=[max(voxel[1:]) / v for v in voxel])
    pieces, _ = ndi.label(foreground)
    peaks = np.zeros(foreground.shape, bool)
    for index, box in enumerate(ndi.find_objects(pieces), start=1):
        if box is None:
            continue
        own = pieces[box] == index
        peaks[box] |= h_maxima(np.where(own, distance[box], 0.0), depth).astype(bool) & own
    seeds, _ = ndi.label(peaks)
    labels = watershed(-distance, markers=seeds, mask=foreground)
    if min_voxels > 0:
        sizes = np.bincount(labels.ravel())
        labels[sizes[labels] < min_voxels] = 0
    return relabel_sequential(labels.astype(np.int32))[0]


def stack_objects(probability: np.ndarray, threshold: float = 0.5, voxel=(1.0, 1.0, 1.0),
                  min_voxels: int = 0) -> np.ndarray:
    """Objects from a (Z, Y, X) foreground probability: threshold, fill holes plane by plane, split."""
    from scipy import ndimage as ndi

    foreground = np.asarray(probability) > threshold
    foreground = np.stack([ndi.binary_fill_holes(plane) for plane in foreground])
    return split_by_distance_3d(foreground, voxel, min_voxels=min_voxels)
