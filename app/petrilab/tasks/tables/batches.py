"""Feeding images with values from a table (regression targets, multi-label 0/1) to Keras.

The same three paths as `batches.make_inputs` (plain arrays, augmented
arrays, streamed from disk), with `y` made by the task from the samples'
values instead of one-hot classes.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from petrilab.data.augment import Augmenter
from petrilab.data.batches import LOADS, AugmentedArrays, BatchStream, fits_in_memory
from petrilab.data.images import read_image
from petrilab.data.preprocess import Preprocessing
from petrilab.tasks.tables.dataset import TableSample

Encode = Callable[[Sequence[TableSample]], np.ndarray]  # samples -> float32 (N, outputs)


class ValueStream(BatchStream):
    """Reads and prepares the images from disk batch by batch; y from the samples' values."""

    def __init__(self, samples: Sequence[TableSample], prep: Preprocessing, encode: Encode, batch_size: int,
                 shuffle: bool = False, augmenter: Augmenter | None = None, seed: int = 0, target_geometry=None,
                 **kwargs):
        super().__init__(samples, prep, 2, batch_size, shuffle=shuffle, augmenter=augmenter, seed=seed,
                         target_geometry=target_geometry, **kwargs)
        self.encode = encode

    def __getitem__(self, index: int):
        indices = self._indices(index)
        chosen = [self.samples[i] for i in indices]
        x = np.stack([self.prep(read_image(s.path)) for s in chosen])
        return self._finish(x, self.encode(chosen), indices)


def load_images(samples: Sequence[TableSample], prep: Preprocessing) -> np.ndarray:
    x = np.empty((len(samples), *prep.output_shape), dtype=np.float32)
    for i, sample in enumerate(samples):
        x[i] = prep(read_image(sample.path))
    return x


def make_table_inputs(samples: Sequence[TableSample], prep: Preprocessing, encode: Encode, batch_size: int,
                      load: str = "auto", augmenter: Augmenter | None = None, shuffle: bool = False,
                      seed: int = 0, target_geometry=None) -> dict:
    """{"x", "y", "batch_size", "steps", "in_memory"}, as `batches.make_inputs` returns.

    `target_geometry(y, ops, indices)`: how the targets move when an image is flipped or turned."""
    if load not in LOADS:
        raise ValueError(f"load must be one of {LOADS}, not {load!r}")
    samples = list(samples)
    steps = math.ceil(len(samples) / batch_size)
    in_memory = load == "memory" or (load == "auto" and fits_in_memory(len(samples), prep))
    augmenting = augmenter is not None and augmenter.active
    if not in_memory:
        stream = ValueStream(samples, prep, encode, batch_size, shuffle=shuffle,
                             augmenter=augmenter if augmenting else None, seed=seed, target_geometry=target_geometry)
        return {"x": stream, "y": None, "batch_size": None, "steps": steps, "in_memory": False}
    x, y = load_images(samples, prep), encode(samples)
    if not augmenting:
        return {"x": x, "y": y, "batch_size": int(batch_size), "steps": steps, "in_memory": True}
    arrays = AugmentedArrays(x, y, batch_size, augmenter=augmenter, shuffle=shuffle, seed=seed,
                             target_geometry=target_geometry)
    return {"x": arrays, "y": None, "batch_size": None, "steps": steps, "in_memory": True}
