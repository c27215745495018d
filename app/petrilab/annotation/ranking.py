"""Which images next: the unlabelled images ordered so the user corrects where it helps most.

Two things make an image worth correcting: the model is unsure about it (its per-pixel probabilities
are spread over the classes rather than near 0 or 1), and it stands for many unlabelled images that no
labelled one resembles (a correction there teaches something the labelled ones do not, about many
images at once; an outlier teaches about itself only). `uncertainty` measures the first from the model's
probabilities, class by class; `features` and `choose` the second in a cheap feature space (intensity and
edge-strength histograms). Everything is deterministic: the same inputs give the same order, ties
broken by name.
"""

from __future__ import annotations

import numpy as np

HISTOGRAM_BINS = 16
COVERAGE_WEIGHT = 2.0  # how much "stands for unlabelled images no labelled one resembles" counts beside "unsure"
NEIGHBOURS = 5  # the similarity's width: the typical distance to an image's 5th nearest unlabelled neighbour
REFERENCES = 500  # the unlabelled images (evenly spread by name) whose coverage is counted: bounds the cost
GREEDY_PICKS = 100  # the picks that update the coverage; the images after them follow by their last score


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


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of a and of b, as one matrix product (no (n, m, d) array)."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(squared, 0.0, None))


def _width(references: np.ndarray) -> float:
    """The similarity's width: the median distance from an unlabelled image to its `NEIGHBOURS`-th nearest
    unlabelled neighbour, so that "a group" means a handful of images whatever the scale of the features."""
    if len(references) < 2:
        return 1.0
    d = np.sort(_distances(references, references), axis=1)
    width = float(np.median(d[:, min(NEIGHBOURS, len(references) - 1)]))
    return width if width > 0 else max(float(d.max()), 1.0)  # all alike: any width gives similarity 1


def _similarity(a: np.ndarray, b: np.ndarray, width: float) -> np.ndarray:
    return np.exp(-0.5 * (_distances(a, b) / width) ** 2)


def _scaled(values: np.ndarray) -> np.ndarray:
    top = float(values.max(initial=0.0))
    return values / top if top > 0 else np.zeros_like(values)


def choose(names: list[str], uncertainties, candidate_features, labelled_features, k: int,
           weight: float = COVERAGE_WEIGHT) -> list[str]:
    """The `k` images to correct next, best first.

    Score = uncertainty / the largest uncertainty + weight × coverage / the largest coverage. An image's
    coverage is how much of the unlabelled set it would stand for that no labelled image stands for yet:
    the sum over the unlabelled images r of the model's uncertainty about r × max(0, similarity(image, r)
    − the best similarity of r to a labelled image), similarity = exp(−d² / 2 w²) in the feature space, w
    from `_width`. It is high for a representative of a big group of unlabelled images that the model is
    unsure of and no labelled image resembles, low for an outlier (it stands for itself only) and for an
    image like the labelled ones. With nothing labelled it is how typical an image is (among those the
    model doubts), so the first pick is a representative, not an oddity.

    Picked one at a time: each pick counts as labelled for the next, so a batch covers different groups
    instead of holding near-copies. The coverage is counted over at most `REFERENCES` unlabelled images
    and only the first `GREEDY_PICKS` picks update it (the rest follow by their last score), so 5,000
    images rank in about 2 s (a loaded 2-core machine). `k` >= len(names) orders them all; ties go by name.
    """
    n = len(names)
    if not n:
        return []
    u = _scaled(np.asarray(uncertainties, dtype=np.float64))
    f = np.asarray(candidate_features, dtype=np.float64).reshape(n, -1)
    known = np.asarray(labelled_features, dtype=np.float64).reshape(-1, f.shape[1])
    by_name = np.argsort(np.argsort(np.asarray(names, dtype=object)))  # each name's place in name order
    chosen = np.argsort(by_name)[np.unique(np.linspace(0, n - 1, min(n, REFERENCES)).round().astype(int))]
    references = f[chosen]
    # an unlabelled image counts as much as the model is unsure of it: standing for images it already gets
    # right teaches little (all alike when the model is sure of everything)
    doubt = u[chosen] if u[chosen].max(initial=0.0) > 0 else np.ones(len(chosen))
    width = _width(references)
    stands_for = _similarity(f, references, width)  # (n, R)
    covered = (_similarity(known, references, width).max(axis=0) if len(known)
               else np.zeros(len(references)))
    left = np.ones(n, dtype=bool)
    picked: list[int] = []
    score = u.copy()
    while left.any() and len(picked) < min(k, n):
        if len(picked) < GREEDY_PICKS:
            coverage = np.clip(stands_for - covered, 0.0, None) @ doubt
            score = u + weight * _scaled(np.where(left, coverage, 0.0))
        best = _best(np.where(left, score, -np.inf), by_name)
        picked.append(best)
        left[best] = False
        covered = np.maximum(covered, stands_for[best])
    return [names[i] for i in picked]


def _best(score: np.ndarray, by_name: np.ndarray) -> int:
    """The index of the highest score; among equal scores, the alphabetically first name."""
    tied = np.flatnonzero(score == score.max())
    return int(tied[np.argmin(by_name[tied])])


def rank(names: list[str], uncertainties, candidate_features, labelled_features,
         weight: float = COVERAGE_WEIGHT) -> list[str]:
    """All the unlabelled images, the most useful to correct first (`choose` with k = all)."""
    return choose(names, uncertainties, candidate_features, labelled_features, len(names), weight)
