"""Feeding the images to Keras: all in memory when they fit, batch by batch from disk when not.

`make_inputs` picks the path. When the prepared images fit in memory and
nothing is augmented, the model gets plain numpy arrays, exactly what a
hand-written `model.fit(x, y)` would get (the fastest path). Otherwise a
`keras.utils.PyDataset` prepares each batch when Keras asks for it.
Class weights passed to `model.fit(class_weight=...)` work with both
(Keras 3 turns them into per-sample weights for a PyDataset).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import keras
import numpy as np
import psutil

from petrilab.data.augment import Augmenter
from petrilab.data.discovery import Sample
from petrilab.data.images import read_image
from petrilab.data.preprocess import Preprocessing

LOADS = ("auto", "memory", "stream")


def encode_labels(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Class numbers -> what the model's last layer outputs: (N, 1) of 0/1 for two classes
    (one sigmoid neuron), one-hot (N, n_classes) for more (softmax)."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if n_classes < 2:
        raise ValueError(f"classification needs at least 2 classes, not {n_classes}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must be 0..{n_classes - 1}, found {labels.min()}..{labels.max()}")
    if n_classes == 2:
        return labels.astype(np.float32).reshape(-1, 1)
    return np.eye(n_classes, dtype=np.float32)[labels]


def load_arrays(samples: Sequence[Sample], prep: Preprocessing, n_classes: int,
                progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read and prepare every image: x float32 (N, h, w, c) and y (see encode_labels)."""
    x = np.empty((len(samples), *prep.output_shape), dtype=np.float32)
    for i, sample in enumerate(samples):
        x[i] = prep(read_image(sample.path))
        if progress is not None:
            progress(i + 1, len(samples))
    y = encode_labels(np.array([s.label for s in samples], dtype=np.int64), n_classes)
    return x, y


# A quarter of the free memory for the data leaves room for the model, its gradients, Keras' own copies
# and the rest of the computer.
DATA_SHARE_OF_FREE_MEMORY = 0.25


def fits_in_memory(n_images: int, prep: Preprocessing, fraction: float = DATA_SHARE_OF_FREE_MEMORY) -> bool:
    """Whether the prepared images would take less than `fraction` of the memory free now."""
    return bytes_fit_in_memory(n_images * int(np.prod(prep.output_shape)) * 4, fraction)  # float32


def bytes_fit_in_memory(needed: int, fraction: float = DATA_SHARE_OF_FREE_MEMORY) -> bool:
    """Whether `needed` bytes of prepared data are less than `fraction` of the memory free now."""
    return needed <= fraction * psutil.virtual_memory().available


def choose_in_memory(load: str, needed_bytes) -> bool:
    """data.load → keep the prepared data in memory? "auto" asks `needed_bytes()` (called only then)."""
    if load not in LOADS:
        raise ValueError(f"load must be one of {LOADS}, not {load!r}")
    return load == "memory" or (load == "auto" and bytes_fit_in_memory(needed_bytes()))


def class_weights(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    """'Balanced' weights, n / (n_classes * count): each class weighs as much in total during training."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    counts = np.bincount(labels, minlength=n_classes)
    n = len(labels)
    return {i: (float(n / (n_classes * counts[i])) if counts[i] else 1.0) for i in range(n_classes)}


def _sample_weight_for(y: np.ndarray, weights: dict[int, float] | None) -> np.ndarray | None:
    if weights is None:
        return None
    labels = y[:, 0].astype(np.int64) if y.shape[1] == 1 else y.argmax(axis=1)
    return np.array([weights[int(k)] for k in labels], dtype=np.float32)


class _Batches(keras.utils.PyDataset):
    """What the two PyDatasets share: the order of images, reshuffled each epoch when training."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, augmenter: Augmenter | None,
                 sample_weights: dict[int, float] | None, seed: int, target_geometry=None, **kwargs):
        super().__init__(**kwargs)
        # (y, ops, sample indices) -> y: targets that move with a flipped or turned image (target_geometry.py)
        self.target_geometry = target_geometry
        if n == 0:
            raise ValueError("no images to make batches from")
        self.n = n
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.augmenter = augmenter if augmenter is not None and augmenter.active else None
        self.sample_weights = sample_weights
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(n) if shuffle else np.arange(n)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def _indices(self, index: int) -> np.ndarray:
        return self._order[index * self.batch_size:(index + 1) * self.batch_size]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(self.n)

    def _finish(self, x: np.ndarray, y: np.ndarray | None, index: np.ndarray | None = None):
        if self.augmenter is not None:
            x, ops = self.augmenter.augment(x)
            if self.target_geometry is not None and y is not None and index is not None:
                y = self.target_geometry(y, ops, index)
        if y is None:
            return (x,)
        weights = _sample_weight_for(y, self.sample_weights)
        return (x, y) if weights is None else (x, y, weights)


class BatchStream(_Batches):
    """Reads and prepares the images from disk batch by batch: for data larger than memory.

    `sample_weights` (class number -> weight) makes each batch carry per-sample
    weights; do not pass `class_weight` to fit() as well (Keras refuses both).
    `labelled=False` yields images only (prediction).
    """

    def __init__(self, samples: Sequence[Sample], prep: Preprocessing, n_classes: int, batch_size: int,
                 shuffle: bool = False, augmenter: Augmenter | None = None,
                 sample_weights: dict[int, float] | None = None, seed: int = 0, labelled: bool = True,
                 target_geometry=None, **kwargs):
        super().__init__(len(samples), batch_size, shuffle, augmenter, sample_weights, seed, target_geometry,
                         **kwargs)
        self.samples = list(samples)
        self.prep = prep
        self.n_classes = n_classes
        self.labelled = labelled

    def __getitem__(self, index: int):
        chosen = [self.samples[i] for i in self._indices(index)]
        x = np.stack([self.prep(read_image(s.path)) for s in chosen])
        y = encode_labels(np.array([s.label for s in chosen]), self.n_classes) if self.labelled else None
        return self._finish(x, y)


class AugmentedArrays(_Batches):
    """Images already in memory, shuffled each epoch and augmented batch by batch."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, augmenter: Augmenter | None = None,
                 shuffle: bool = True, sample_weights: dict[int, float] | None = None, seed: int = 0,
                 target_geometry=None, **kwargs):
        super().__init__(len(x), batch_size, shuffle, augmenter, sample_weights, seed, target_geometry, **kwargs)
        self.x = x
        self.y = y

    def __getitem__(self, index: int):
        chosen = np.sort(self._indices(index))  # sorted reads are faster; the batch's order does not matter
        return self._finish(self.x[chosen], self.y[chosen], chosen)


def make_inputs(samples: Sequence[Sample], prep: Preprocessing, n_classes: int, batch_size: int,
                load: str = "auto", augmenter: Augmenter | None = None, shuffle: bool = False,
                seed: int = 0, progress: Callable[[int, int], None] | None = None) -> dict:
    """What to hand to model.fit / evaluate / predict for these images.

    Returns {"x", "y", "batch_size", "steps", "in_memory"}: plain arrays (y and
    batch_size set) when in memory without augmentation, else a PyDataset in
    "x" (y and batch_size None). `load`: "auto" streams from disk only when the
    prepared images would not fit in memory.
    """
    if load not in LOADS:
        raise ValueError(f"load must be one of {LOADS}, not {load!r}")
    samples = list(samples)
    steps = math.ceil(len(samples) / batch_size)
    in_memory = load == "memory" or (load == "auto" and fits_in_memory(len(samples), prep))
    augmenting = augmenter is not None and augmenter.active
    if not in_memory:
        stream = BatchStream(samples, prep, n_classes, batch_size, shuffle=shuffle, augmenter=augmenter,
                             seed=seed)
        return {"x": stream, "y": None, "batch_size": None, "steps": steps, "in_memory": False}
    x, y = load_arrays(samples, prep, n_classes, progress=progress)
    if not augmenting:
        return {"x": x, "y": y, "batch_size": int(batch_size), "steps": steps, "in_memory": True}
    arrays = AugmentedArrays(x, y, batch_size, augmenter=augmenter, shuffle=shuffle, seed=seed)
    return {"x": arrays, "y": None, "batch_size": None, "steps": steps, "in_memory": True}
