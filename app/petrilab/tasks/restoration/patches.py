"""Restoration batches: random patches for training, fixed ones for validation, with their packed targets.

What the network gets is a patch of the (stretched) noisy image; what it is scored against is packed per pixel as
(values, weights), channel by channel (losses.py):
- Noise2Void: values are the patch's own noisy pixels; the input has a few of them hidden behind a neighbour
  (blind_spot.py) and only those weigh 1;
- pairs: values are the target's pixels at the same place; every pixel weighs 1.
Flips and quarter turns (augmentation.flip_*, rotate_90) move the input and the target together; nothing changes
intensities (a brighter input would need a brighter answer). Validation cuts patches at fixed places and hides
the same pixels every epoch, so its curve moves only when the network does.
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np

from petrilab.tasks.restoration.blind_spot import hide_pixels

MAX_VALIDATION_PATCHES = 256
# Noise2Void's validation loss rests on the hidden pixels only (0.5 %: 20 in a 64 × 64 patch): with a few
# validation images it jumps from epoch to epoch and early stopping ends training too soon. Each validation
# place is then masked several times, differently, until about this many pixels are hidden in all.
VALIDATION_HIDDEN_PIXELS = 4096
MAX_MASKINGS = 16
MAX_PATCHES_PER_IMAGE = 32
MIN_STEPS_PER_EPOCH = 16  # a few images still give each epoch enough weight updates


class BlindSpot:
    """Noise2Void's masking of one patch: restoration.masked_percent, .neighbourhood and .blind_spot_fill."""

    def __init__(self, percent: float, neighbourhood: int, fill: str = "neighbour"):
        self.percent, self.neighbourhood, self.fill = float(percent), int(neighbourhood), str(fill)

    def __call__(self, patch: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return hide_pixels(patch, self.percent, self.neighbourhood, rng, self.fill)


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Mirror-pad (H, W, C) at its bottom and right to at least height × width."""
    extra_h, extra_w = max(0, height - image.shape[0]), max(0, width - image.shape[1])
    if not extra_h and not extra_w:
        return image
    return np.pad(image, ((0, extra_h), (0, extra_w), (0, 0)), mode="symmetric")


def pack(source: np.ndarray, target: np.ndarray | None, blind_spot: BlindSpot | None,
         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(network input, packed target) for one patch: see the module's docstring."""
    if blind_spot is not None:
        shown, weights = blind_spot(source, rng)
        return shown, np.concatenate([source, weights], axis=-1)
    return source, np.concatenate([target, np.ones_like(target)], axis=-1)


class RestorationPatches(keras.utils.PyDataset):
    """Batches of random patches from stretched images held in memory (and their targets, for pairs).

    Each batch is drawn from a generator seeded by (seed, epoch, batch), each patch by (…, patch): a run is
    repeatable whatever order Keras asks for the batches in. Larger images give proportionally more patches.
    """

    def __init__(self, images: Sequence[np.ndarray], targets: Sequence[np.ndarray] | None, patch: tuple[int, int],
                 batch_size: int, blind_spot: BlindSpot | None, flips: tuple[bool, bool, bool] = (False, False, False),
                 seed: int = 0, patches_per_epoch: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not images:
            raise ValueError("no images to cut patches from")
        self.patch = (int(patch[0]), int(patch[1]))
        self.images = [pad_to(x, *self.patch) for x in images]
        self.targets = [pad_to(t, *self.patch) for t in targets] if targets is not None else None
        self.batch_size, self.blind_spot, self.flips = int(batch_size), blind_spot, flips
        self.seed, self.epoch = int(seed), 0
        areas = np.array([x.shape[0] * x.shape[1] for x in self.images], dtype=np.float64)
        self.weights = areas / areas.sum()
        if patches_per_epoch is None:
            per_image = np.clip(np.round(areas / (self.patch[0] * self.patch[1])), 1, MAX_PATCHES_PER_IMAGE)
            patches_per_epoch = max(int(per_image.sum()), MIN_STEPS_PER_EPOCH * self.batch_size)
        self.patches_per_epoch = max(int(patches_per_epoch), self.batch_size)

    def __len__(self) -> int:
        return math.ceil(self.patches_per_epoch / self.batch_size)

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        n = min(self.batch_size, self.patches_per_epoch - index * self.batch_size) or self.batch_size
        chosen = rng.choice(len(self.images), size=n, p=self.weights)
        ph, pw = self.patch
        xs, ys = [], []
        for i, k in enumerate(chosen):
            own = np.random.default_rng([self.seed, self.epoch, int(index), i])
            image = self.images[k]
            y0, x0 = int(own.integers(image.shape[0] - ph + 1)), int(own.integers(image.shape[1] - pw + 1))
            source = image[y0:y0 + ph, x0:x0 + pw]
            target = self.targets[k][y0:y0 + ph, x0:x0 + pw] if self.targets is not None else None
            source, target = _flipped(source, target, self.flips, own)
            shown, packed = pack(source, target, self.blind_spot, own)
            xs.append(shown)
            ys.append(packed)
        return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)


def _flipped(source, target, flips, rng):
    """The same flips and quarter turns for the patch and its target (square patches for the turns)."""
    horizontal, vertical, turns = flips
    pieces = [source] if target is None else [source, target]
    if horizontal and rng.random() < 0.5:
        pieces = [p[:, ::-1] for p in pieces]
    if vertical and rng.random() < 0.5:
        pieces = [p[::-1] for p in pieces]
    if turns and source.shape[0] == source.shape[1]:
        k = int(rng.integers(4))
        pieces = [np.rot90(p, k) for p in pieces]
    pieces = [np.ascontiguousarray(p) for p in pieces]
    return pieces[0], (pieces[1] if target is not None else None)


def grid_corners(height: int, width: int, patch: tuple[int, int]) -> list[tuple[int, int]]:
    """Top-left corners of patches covering an image; the last row and column end at its edge."""
    def starts(size: int, p: int) -> list[int]:
        if size <= p:
            return [0]
        n = math.ceil(size / p)
        return sorted({round(i * (size - p) / (n - 1)) for i in range(n)})

    return [(y, x) for y in starts(height, patch[0]) for x in starts(width, patch[1])]


def fixed_patches(images: Sequence[np.ndarray], targets: Sequence[np.ndarray] | None, patch: tuple[int, int],
                  blind_spot: BlindSpot | None, seed: int = 0,
                  limit: int = MAX_VALIDATION_PATCHES) -> tuple[np.ndarray, np.ndarray]:
    """Validation patches covering every image, evenly thinned to at most `limit`: (x, packed y). With a blind
    spot, each place is masked `maskings` times (different pixels each time, the same every epoch)."""
    ph, pw = patch
    places = [(k, y, x) for k, image in enumerate(images)
              for y, x in grid_corners(max(image.shape[0], ph), max(image.shape[1], pw), patch)]
    if len(places) > limit:
        places = [places[i] for i in np.linspace(0, len(places) - 1, limit).round().astype(int)]
    if blind_spot is not None:
        hidden = max(1, round(ph * pw * blind_spot.percent / 100))
        maskings = int(np.clip(math.ceil(VALIDATION_HIDDEN_PIXELS / (hidden * len(places))), 1, MAX_MASKINGS))
        places = [place for place in places for _ in range(min(maskings, max(1, limit // len(places))))]
    rng = np.random.default_rng([seed, 1])  # the same hidden pixels every epoch
    xs, ys = [], []
    for k, top, left in places:
        image = pad_to(images[k], ph, pw)
        source = image[top:top + ph, left:left + pw]
        target = pad_to(targets[k], ph, pw)[top:top + ph, left:left + pw] if targets is not None else None
        shown, packed = pack(source, target, blind_spot, rng)
        xs.append(shown)
        ys.append(packed)
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)
