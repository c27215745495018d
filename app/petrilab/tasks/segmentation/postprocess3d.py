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


# ---------------------------------------------------------------- the recipe's decisions on a stack


def _finish_stack(labels: np.ndarray, post) -> np.ndarray:
    """Size limits (voxels) and clear border (objects touching the stack's y or x sides: every stack has a top
    and a bottom plane, which cut nuclei as a matter of course), then numbered 1..N."""
    from skimage.segmentation import relabel_sequential

    labels = np.asarray(labels).astype(np.int32, copy=False)
    if post.min_size or post.max_size:
        sizes = np.bincount(labels.ravel())
        drop = (sizes < post.min_size) | ((sizes > post.max_size) if post.max_size else False)
        drop[0] = False
        labels = np.where(drop[labels], 0, labels)
    if post.clear_border and labels.size:
        sides = np.concatenate([labels[:, 0].ravel(), labels[:, -1].ravel(), labels[:, :, 0].ravel(),
                                labels[:, :, -1].ravel()])
        labels = np.where(np.isin(labels, sides[sides > 0]), 0, labels)
    return relabel_sequential(labels)[0].astype(np.int32)


def _fill_planes(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage as ndi

    return np.stack([ndi.binary_fill_holes(plane) for plane in mask])


def stack_pieces(mask: np.ndarray) -> np.ndarray:
    """The 3-D connected pieces (26 neighbours) of every non-zero class of a class stack, numbered 1..N."""
    from scipy import ndimage as ndi

    labels = np.zeros(mask.shape, np.int32)
    for value in np.unique(mask):
        if value:
            pieces = ndi.label(mask == value, structure=np.ones((3, 3, 3)))[0]
            labels = np.where(pieces > 0, pieces + labels.max(), labels)
    return labels


def semantic_stack(probs: np.ndarray, post) -> tuple[np.ndarray, np.ndarray]:
    """(Z, Y, X, K) probabilities → (class per voxel, the 3-D connected pieces of each class as objects).

    One channel: foreground above postprocess.threshold; more: the most probable class. Holes are filled
    plane by plane; min_size / max_size are in voxels."""
    from scipy import ndimage as ndi

    probs = np.asarray(probs, dtype=np.float32)
    k = probs.shape[-1]
    if k == 1:
        mask = (probs[..., 0] > post.threshold).astype(np.int32)
    elif k == 2:
        mask = (probs[..., 1] > post.threshold).astype(np.int32)
    else:
        mask = probs.argmax(axis=-1).astype(np.int32)
    classes = np.zeros(mask.shape, np.int32)
    labels = np.zeros(mask.shape, np.int32)
    for value in np.unique(mask):
        if value == 0:
            continue
        region = mask == value
        if post.fill_holes:
            region = _fill_planes(region) & ((mask == 0) | region)
        pieces = _finish_stack(ndi.label(region, structure=np.ones((3, 3, 3)))[0], post)
        classes[pieces > 0] = value
        labels = np.where(pieces > 0, pieces + labels.max(), labels)
    return classes, labels


def instance_stack(probs: np.ndarray, post, voxel=None) -> np.ndarray:
    """(Z, Y, X, 3) background / interior / boundary probabilities → object labels, the 2-D scheme in 3-D.

    Foreground where P(interior) + P(boundary) > 0.5; seeds where P(interior) > postprocess.threshold, those
    joined by a neck split by the distance watershed in µm (split_by_distance_3d); the seeds grow over the
    foreground along falling P(interior). split_touching = false: the foreground's 3-D connected pieces."""
    from scipy import ndimage as ndi
    from skimage.segmentation import watershed

    probs = np.asarray(probs, dtype=np.float32)
    foreground = probs[..., 1] + probs[..., 2] > 0.5
    if post.fill_holes:
        foreground = _fill_planes(foreground)
    if not post.split_touching:
        labels = ndi.label(foreground, structure=np.ones((3, 3, 3)))[0]
    else:
        seeds = split_by_distance_3d((probs[..., 1] > post.threshold) & foreground, voxel or (1.0, 1.0, 1.0))
        labels = watershed(-probs[..., 1], markers=seeds, mask=foreground)
    return _finish_stack(labels, post)


def without_small_stack(labels: np.ndarray, post, min_size: int) -> np.ndarray:
    """Objects of fewer than `min_size` voxels removed (the rest renumbered)."""
    import dataclasses

    return _finish_stack(labels, dataclasses.replace(post, min_size=int(min_size), clear_border=False))
