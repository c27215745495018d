"""From probability maps to masks and objects: threshold, watershed, clean-up.

The steps the workshop did by hand after a prediction ("threshold,
watershed, analyze particles"), driven by the [postprocess] settings:

- `semantic_mask`: the class of each pixel;
- `clean_mask`: fill holes, drop pieces smaller or larger than a size, drop
  what touches the image border;
- `instance_labels`: one label per object, touching objects split by a
  seeded watershed;
- `tune_threshold`: the threshold that scores best on the validation images.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from petrilab.settings import PostprocessSettings
from petrilab.tasks.segmentation.object_blocks import object_groups


class _LazyNdimage:
    """scipy.ndimage, imported on first use: the window imports this module while it starts (the Predict
    page's preview), and scipy takes about a second to load that a user waiting for the window should not pay."""

    def __getattr__(self, name: str):
        from scipy import ndimage

        return getattr(ndimage, name)


ndi = _LazyNdimage()

FOREGROUND_THRESHOLD = 0.5  # boundary mode: P(interior) + P(boundary) above this is an object pixel
_SEED_SMOOTHING = 1.0  # foreground mode: Gaussian sigma (pixels) on the distance map before finding its peaks
_SEED_DEPTH = 1.0  # foreground mode: a distance peak must stand this many pixels above its saddle to seed an object
# split_by_distance's crop around a group of objects: the smoothing's radius (4 sigma) plus the farthest background
# a pixel that radius reaches can have (4 √2, rounded up)
_SPLIT_MARGIN = int(4 * _SEED_SMOOTHING + 0.5) + 6


def _channels(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim == 2:
        probs = probs[:, :, np.newaxis]
    if probs.ndim != 3 or probs.shape[2] < 1:
        raise ValueError(f"probabilities must be (H, W, K), not {np.shape(probs)}")
    return probs


# ---------------------------------------------------------------- semantic


def semantic_mask(probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The class index of each pixel from (H, W, K) probabilities.

    K = 1: a sigmoid foreground map, foreground (1) where it exceeds `threshold`.
    K = 2: background / foreground, foreground where P(foreground) exceeds `threshold`.
    K > 2: the most probable class.
    """
    probs = _channels(probs)
    k = probs.shape[2]
    if k == 1:
        return (probs[:, :, 0] > threshold).astype(np.int32)
    if k == 2:
        return (probs[:, :, 1] > threshold).astype(np.int32)
    return probs.argmax(axis=2).astype(np.int32)


def _background_pieces(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the background's pieces, 4-connected, numbered; for each number, whether that piece is a hole: one
    that does not reach the image's edge)."""
    pieces, count = ndi.label(~mask)
    enclosed = np.ones(count + 1, dtype=bool)
    enclosed[0] = False
    for axis in range(pieces.ndim):
        enclosed[np.take(pieces, [0, -1], axis=axis).ravel()] = False
    return pieces, enclosed


def _fill_holes_binary(mask: np.ndarray) -> np.ndarray:
    """scipy's binary_fill_holes by one labelling of the background (it grows the outside in one pixel an
    iteration over the whole image: about 5 times slower on a 4096 × 4096 image)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.size:
        return mask.copy()
    pieces, enclosed = _background_pieces(mask)
    return mask | enclosed[pieces]


def _renumbered(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 1..N in the order of their values, as skimage's relabel_sequential numbers them
    (by a count of each value, not its sort of every pixel)."""
    if not labels.size:
        return labels.astype(np.int32)
    if labels.min() < 0:
        raise ValueError("labels must not be negative")
    present = np.bincount(labels.ravel()) > 0
    present[0] = False
    return np.cumsum(present).astype(np.int32)[labels]


def _keep_sizes(labels: np.ndarray, min_size: int, max_size: int) -> np.ndarray:
    """Labels with the objects outside [min_size, max_size] pixels set to 0 (0 = no limit)."""
    if not min_size and not max_size:
        return labels
    areas = np.bincount(labels.ravel())
    drop = np.zeros(len(areas), dtype=bool)
    if min_size:
        drop |= areas < min_size
    if max_size:
        drop |= areas > max_size
    drop[0] = False
    return np.where(drop[labels], 0, labels) if drop.any() else labels


def _touching_border(labels: np.ndarray) -> np.ndarray:
    """The label values present on the image's outer rows and columns."""
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    values = np.unique(edge)
    return values[values > 0]


def clean_mask(mask: np.ndarray, post: PostprocessSettings) -> np.ndarray:
    """A class mask (0 background) after fill holes, size limits and clear border, class by class.

    Sizes apply to each connected piece of a class: a piece smaller than
    `min_size` or larger than `max_size` pixels becomes background.
    """
    mask = np.asarray(mask)
    if mask.dtype == bool:
        mask = mask.astype(np.int32)
    out = mask.copy()
    for value in np.unique(mask):
        if value == 0:
            continue
        region = out == value
        if post.fill_holes:
            region = _fill_holes_binary(region) & ((out == 0) | region)
        pieces, _ = ndi.label(region)
        kept = _keep_sizes(pieces, post.min_size, post.max_size)
        if post.clear_border and kept.size:
            kept = np.where(np.isin(kept, _touching_border(kept)), 0, kept)
        out[(out == value) & (kept == 0)] = 0
        out[kept > 0] = value
    return out


# ---------------------------------------------------------------- instances


def _fill_object_holes(labels: np.ndarray) -> np.ndarray:
    """Background pixels enclosed by a single object become that object."""
    if not labels.size:
        return labels
    background, enclosed = _background_pieces(labels > 0)
    if not enclosed.any():
        return labels
    # every hole is enclosed by object pixels: the labels just around it say whose hole it is
    n = len(enclosed) - 1
    holes = enclosed[background]
    hole_ids = np.where(holes, background, 0)
    around = ndi.grey_dilation(hole_ids, size=3)
    rim = (around > 0) & (labels > 0)
    pairs = np.unique(np.stack([around[rim], labels[rim]]).astype(np.int64), axis=1)
    owners = np.bincount(pairs[0], minlength=n + 1)
    single = pairs[:, owners[pairs[0]] == 1]  # holes with exactly one object around them
    owner_of = np.zeros(n + 1, dtype=labels.dtype)
    owner_of[single[0]] = single[1]
    return np.where(holes, owner_of[hole_ids], labels)


def finish_labels(labels: np.ndarray, post: PostprocessSettings) -> np.ndarray:
    """Fill holes, size limits, clear border, then renumber 1..N (int32)."""
    labels = np.asarray(labels).astype(np.int32, copy=False)
    if post.fill_holes:
        labels = _fill_object_holes(labels)
    labels = _keep_sizes(labels, post.min_size, post.max_size)
    if post.clear_border and labels.size:
        labels = np.where(np.isin(labels, _touching_border(labels)), 0, labels)
    return _renumbered(labels)


def _boundary_mode(probs: np.ndarray, post: PostprocessSettings, foreground_threshold: float) -> np.ndarray:
    """Three channels (background, interior, boundary): seeds from the interior, watershed to the boundary.

    A seed is a piece of confident interior; interiors that still touch at a
    neck (a network not sure of the boundary between two nuclei) are split
    there by distance, as the classical watershed does. Foreground with no
    confident interior — a rim of boundary pixels, a speck — is no object.
    """
    from skimage.segmentation import watershed

    interior = probs[:, :, 1]
    foreground = (interior + probs[:, :, 2]) > foreground_threshold
    if not post.split_touching:
        return ndi.label(foreground)[0]
    cores = _fill_holes_binary((interior > post.threshold) & foreground)
    seeds = split_by_distance(cores)
    # each piece of foreground floods from its own seeds only: one group of pieces at a time (object_blocks.py)
    pieces, count = ndi.label(foreground)
    labels = np.zeros(foreground.shape, dtype=np.int32)
    for crop, own in object_groups(pieces, count):
        grown = watershed(1.0 - interior[crop], markers=seeds[crop], mask=own)
        labels[crop][own] = grown[own]
    return labels


def _distance_peaks(mask: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """The distance map's maxima at least _SEED_DEPTH high, found piece by piece of the mask.

    h-maxima sorts every pixel it is given: one piece at a time, the
    background is never sorted (4–5 times faster on scattered nuclei).
    """
    from skimage.morphology import h_maxima

    pieces, _ = ndi.label(mask)
    peaks = np.zeros(mask.shape, dtype=bool)
    for index, box in enumerate(ndi.find_objects(pieces), start=1):
        if box is None:
            continue
        own = pieces[box] == index
        peaks[box] |= h_maxima(np.where(own, distance[box], 0.0), _SEED_DEPTH).astype(bool) & own
    return peaks


def split_by_distance(foreground: np.ndarray) -> np.ndarray:
    """Touching round objects in a binary mask split at their necks (distance-transform watershed).

    The classical recipe ("watershed" in ImageJ): each object's centre is a
    peak of the distance to the background; peaks shallower than one pixel
    are merged so that a rough outline does not cut an object in two.

    Done one group of objects at a time on a crop around them (object_blocks.py), with the whole image's
    result (but for exact ties, see there): an object's distance to the background is found within its box widened by one
    pixel, and a pixel of another object that the smoothing reaches (within its radius, 4 pixels) has
    background nearer than that object, so within `_SPLIT_MARGIN` of the group's boxes.
    """
    from skimage.segmentation import watershed

    foreground = np.asarray(foreground, dtype=bool)
    pieces, count = ndi.label(foreground)
    split = np.zeros(foreground.shape, dtype=np.int32)
    peaks = np.zeros(foreground.shape, dtype=bool)
    seeds_so_far = 0
    for crop, own in object_groups(pieces, count, _SPLIT_MARGIN):
        distance = ndi.distance_transform_edt(foreground[crop])
        smooth = ndi.gaussian_filter(distance, _SEED_SMOOTHING) if _SEED_SMOOTHING else distance
        own_peaks = _distance_peaks(own, smooth)
        seeds, n_seeds = ndi.label(own_peaks)
        grown = watershed(-smooth, markers=seeds, mask=own)
        split[crop][own] = np.where(grown[own] > 0, grown[own] + seeds_so_far, 0)
        peaks[crop] |= own_peaks
        seeds_so_far += n_seeds
    # seeds numbered as one labelling of the whole image's peaks numbers them (in raster order)
    numbered, _ = ndi.label(peaks)
    renumber = np.zeros(seeds_so_far + 1, dtype=np.int32)
    renumber[split[peaks]] = numbered[peaks]
    return renumber[split]


def _foreground_mode(probs: np.ndarray, post: PostprocessSettings) -> np.ndarray:
    """One foreground map (sigmoid, or background/foreground softmax): threshold, then split by distance."""
    foreground = semantic_mask(probs, post.threshold) > 0
    if post.fill_holes:
        foreground = _fill_holes_binary(foreground)  # holes would make false distance peaks
    if not post.split_touching:
        return ndi.label(foreground)[0]
    return split_by_distance(foreground)


def instance_labels(probs: np.ndarray, post: PostprocessSettings, mode: str = "auto", *,
                    foreground_threshold: float = FOREGROUND_THRESHOLD) -> np.ndarray:
    """Objects (H, W) int32, 0 background and 1..N, from the network's (H, W, K) probabilities.

    mode "boundary" (K = 3: background, interior, boundary — see recipe.py):
      seeds are the pieces of P(interior) > post.threshold (pieces joined by a neck split by
      distance); a watershed on 1 - P(interior) grows them over the foreground
      (P(interior) + P(boundary) > foreground_threshold); foreground without a seed is dropped.
      Without post.split_touching: the connected pieces of the foreground.
    mode "foreground" (K = 1 sigmoid, or K = 2 softmax): foreground above post.threshold,
      touching objects split by a distance-transform watershed when post.split_touching.
    mode "auto": "boundary" for 3 channels, "foreground" for 1 or 2.
    Then holes filled, size limits and clear border as `post` says.
    """
    probs = _channels(probs)
    k = probs.shape[2]
    if mode == "auto":
        mode = "boundary" if k == 3 else "foreground"
    if mode == "boundary":
        if k != 3:
            raise ValueError(f"boundary mode needs 3 channels (background, interior, boundary), not {k}")
        labels = _boundary_mode(probs, post, foreground_threshold)
    elif mode == "foreground":
        if k > 2:
            raise ValueError(f"foreground mode needs 1 or 2 channels, not {k}")
        labels = _foreground_mode(probs, post)
    else:
        raise ValueError(f"unknown mode {mode!r}; use auto, boundary or foreground")
    return finish_labels(labels, post)


# ---------------------------------------------------------------- tuning


def objects_of(mask: np.ndarray) -> np.ndarray:
    """The connected pieces of every non-zero class of a class mask, numbered 1..N over all classes."""
    labels = np.zeros(mask.shape, np.int32)
    for value in np.unique(mask):
        if value == 0:
            continue
        pieces, _ = ndi.label(mask == value, structure=np.ones((3, 3)))
        labels = np.where(pieces > 0, pieces + labels.max(), labels)
    return labels


def tune_threshold(score_fn: Callable[[float], float], candidates: Iterable[float]) -> float:
    """The candidate with the highest score_fn(candidate); among equals, the one nearest 0.5."""
    candidates = [float(c) for c in candidates]
    if not candidates:
        raise ValueError("no candidate thresholds")
    scores = [float(score_fn(c)) for c in candidates]
    best = max(scores)
    tied = [c for c, s in zip(candidates, scores) if s == best]
    return min(tied, key=lambda c: abs(c - 0.5))


THRESHOLD_CANDIDATES = tuple(round(0.1 * i, 1) for i in range(1, 10))  # 0.1 … 0.9
