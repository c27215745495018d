"""Segmentation masks as the network's targets: class masks as one channel or one-hot, label images as
background / interior / boundary, and the boundary width learnt from the training masks (the scheme is
described in recipe.py)."""

from __future__ import annotations

import numpy as np

INSTANCE_CHANNELS = ("background", "interior", "boundary")
# Instance boundaries: about a third of the objects' typical inscribed radius, within these bounds.
# Wider boundaries keep touching objects' seeds far apart and are learnt sooner; thin objects (bacteria)
# need narrow ones, or no interior would be left to seed them.
BOUNDARY_WIDTHS = (1, 3)


def encode_classes(n_classes: int):
    """Class mask → the semantic network's target: one 0/1 channel for two classes, one-hot for more."""
    if n_classes <= 2:
        return lambda mask: (mask > 0).astype(np.float32)[:, :, np.newaxis]
    eye = np.eye(n_classes, dtype=np.float32)
    return lambda mask: eye[np.clip(mask, 0, n_classes - 1)]


def instance_classes(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """Label image → 0 background, 1 interior, 2 boundary (each object's own edge, `width` pixels deep)."""
    from skimage.segmentation import find_boundaries

    classes = (labels > 0).astype(np.int64)
    edge = find_boundaries(labels, mode="inner") & (labels > 0)
    for _ in range(width - 1):  # grow inwards, never over a neighbour
        edge |= find_boundaries(np.where(edge, 0, labels), mode="inner") & (labels > 0)
    classes[edge] = 2
    return classes


def encode_instances(labels: np.ndarray, width: int = 1) -> np.ndarray:
    return np.eye(3, dtype=np.float32)[instance_classes(labels, width)]


def boundary_width_for(label_images) -> int:
    """The boundary width for these objects: a third of their median inscribed radius (see BOUNDARY_WIDTHS)."""
    from scipy import ndimage
    from skimage.segmentation import find_boundaries

    radii = []
    for labels in label_images:
        if not labels.any():
            continue
        inside = (labels > 0) & ~find_boundaries(labels, mode="inner")  # touching objects measured apart
        depth = ndimage.distance_transform_edt(inside) + 1
        present = np.unique(labels[labels > 0])
        radii.extend(ndimage.maximum(depth, labels, present))
    if not radii:
        return BOUNDARY_WIDTHS[0]
    return int(np.clip(int(np.median(radii) / 3 + 0.5), *BOUNDARY_WIDTHS))
