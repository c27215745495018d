"""Which images next: the unlabelled images ordered so the user corrects where it helps most.

Two things make an image worth correcting: the model is unsure about it (its per-pixel probabilities
are spread over the classes rather than near 0 or 1), and it is unlike the images already labelled (a
correction there teaches something the labelled ones do not). `uncertainty` measures the first from
the model's probabilities, class by class; `features` and `choose` the second in a cheap feature space (intensity and
edge-strength histograms). Everything is deterministic: the same inputs give the same order, ties
broken by name.
"""

from __future__ import annotations

import numpy as np

HISTOGRAM_BINS = 16
DISSIMILARITY_WEIGHT = 0.5  # how much "unlike the labelled ones" counts beside "the model is unsure"


def uncertainty(probabilities: np.ndarray) -> float:
    """How unsure a model is about one image, class by class: for each class the model gives to some
    pixels, the mean entropy of those pixels' class probabilities (H, W, K), divided by log K; then the
    mean over those classes. 0 is certain everywhere, 1 is even odds everywhere.

    Why per class and not over all pixels: a model is always unsure along object outlines, so the plain
    mean over pixels mostly measures how much of an image is foreground (on the StarDist tiles of
    benchmarks/annotation_loop.py its Spearman correlation with the foreground share was 0.94-0.96, and it
    put the most crowded tiles first whatever the model). Averaging each class's pixels first, as
    balanced accuracy averages per class, asks how unsure the model is about each kind of thing in the
    image, however much of it there is.

    A single channel (H, W) is read as the probability of the foreground (two classes).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 2:
        p = np.stack([1.0 - p, p], axis=-1)
    if p.ndim != 3 or p.shape[-1] < 2:
        raise ValueError(f"probabilities must be (H, W) or (H, W, K) with K >= 2, got {p.shape}")
    p = np.clip(p, 1e-12, 1.0)
    p = p / p.sum(axis=-1, keepdims=True)
    entropy = -(p * np.log(p)).sum(axis=-1) / np.log(p.shape[-1])
    decided = p.argmax(axis=-1)
    return float(np.mean([entropy[decided == k].mean() for k in np.unique(decided)]))


def features(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """A cheap description of one image for "how different": the share of pixels in each of
    `HISTOGRAM_BINS` intensity bins between `low` and `high` (the same for all images compared) and
    the same for the edge strength (gradient magnitude, scaled by high - low). Colour is averaged."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 3:
        x = x.mean(axis=-1)
    span = max(float(high) - float(low), 1e-12)
    scaled = np.clip((x - low) / span, 0.0, 1.0)
    gy, gx = np.gradient(scaled)
    edges = np.clip(np.hypot(gx, gy) * 4.0, 0.0, 1.0)
    bins = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    h1 = np.histogram(scaled, bins=bins)[0] / scaled.size
    h2 = np.histogram(edges, bins=bins)[0] / edges.size
    return np.concatenate([h1, h2])


def intensity_range(images) -> tuple[float, float]:
    """The 1st and 99.8th percentiles over a sample of all the images: the range `features` bins."""
    sample = np.concatenate([np.asarray(im, dtype=np.float64).ravel()[::7] for im in images])
    return float(np.percentile(sample, 1.0)), float(np.percentile(sample, 99.8))


def _scaled(values: np.ndarray) -> np.ndarray:
    top = float(values.max(initial=0.0))
    return values / top if top > 0 else np.zeros_like(values)


def choose(names: list[str], uncertainties, candidate_features, labelled_features, k: int,
           weight: float = DISSIMILARITY_WEIGHT) -> list[str]:
    """The `k` images to correct next, best first.

    Score = uncertainty / the largest uncertainty + weight × distance to the nearest labelled image /
    the largest such distance. Picked one at a time: each image picked counts as labelled for the next
    pick, so a batch does not hold near-copies of one unsure image. `k` >= len(names) orders them all.
    """
    if not len(names):
        return []
    u = _scaled(np.asarray(uncertainties, dtype=np.float64))
    f = np.asarray(candidate_features, dtype=np.float64)
    known = [np.asarray(v, dtype=np.float64) for v in labelled_features]
    if known:
        nearest = np.min([np.linalg.norm(f - v, axis=1) for v in known], axis=0)
    else:
        nearest = np.zeros(len(names))
    left = list(range(len(names)))
    picked: list[int] = []
    while left and len(picked) < k:
        d = _scaled(nearest[left]) if known or picked else np.zeros(len(left))
        score = u[left] + weight * d
        best = max(range(len(left)), key=lambda i: (score[i], _reverse(names[left[i]])))
        index = left.pop(best)
        picked.append(index)
        nearest = np.minimum(nearest, np.linalg.norm(f - f[index], axis=1)) if (known or len(picked) > 1) \
            else np.linalg.norm(f - f[index], axis=1)
    return [names[i] for i in picked]


def _reverse(name: str):
    """A key that makes `max` prefer the alphabetically first name among equal scores."""
    return tuple(-ord(ch) for ch in name) + (0,)


def rank(names: list[str], uncertainties, candidate_features, labelled_features,
         weight: float = DISSIMILARITY_WEIGHT) -> list[str]:
    """All the unlabelled images, the most useful to correct first (`choose` with k = all)."""
    return choose(names, uncertainties, candidate_features, labelled_features, len(names), weight)
