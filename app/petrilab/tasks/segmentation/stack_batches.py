"""Z-stacks as the 3-D U-Net's batches: preparing a stack, its targets, random blocks for training and fixed
blocks for validation.

A stack is prepared as a 2-D image is (data/preprocess.py: the run's channels and normalisation), but over
the whole stack at once, so every plane of a stack is scaled alike (a dim deep plane stays dim). Training cuts
blocks of data.stack_patch_size (z, y, x) voxels at random places, flipped and turned in the x-y plane only
(patches3d.py) when the settings flip or turn, and brightened, contrasted and noised as a whole. Validation
uses blocks at fixed places, the same every epoch. Instance targets are the 2-D scheme's background /
interior / boundary drawn plane by plane (targets.py): the planes are usually too far apart for a boundary
across them to leave an interior in a flat nucleus.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import keras
import numpy as np

from petrilab.data.preprocess import convert_channels
from petrilab.errors import UserError
from petrilab.tasks.segmentation.patches3d import flip_turn_xy
from petrilab.tasks.segmentation.stack_blocks import DEFAULT_STACK_PATCH, stack_patch_size_for  # noqa: F401
from petrilab.tasks.segmentation.stack_masks import read_stack_mask

MAX_PATCHES_PER_STACK = 16
MIN_STEPS_PER_EPOCH = 8
MAX_VALIDATION_BLOCKS = 64


def prepare_stack(prep, pixels: np.ndarray) -> np.ndarray:
    """A (Z, Y, X, C) stack in any bit depth → float32 (Z, Y, X, prep.channels), normalised over the stack."""
    z, y, x, c = pixels.shape
    kind = pixels.dtype
    flat = convert_channels(pixels.reshape(z * y, x, c).astype(np.float32, copy=False), prep.channels)
    prepared = prep._normalise(flat, kind)  # noqa: SLF001 - the 2-D normalisation, over the whole stack
    return np.ascontiguousarray(prepared.reshape(z, y, x, prep.channels), dtype=np.float32)


def read_stack_pair(sample, prep, task: str) -> tuple[np.ndarray, np.ndarray]:
    """One training pair: the prepared stack and its label stack, which must have its shape."""
    from petrilab.data.stacks import read_stack

    stack, mask = read_stack(sample.path), read_stack_mask(sample.mask, task)
    if stack.size != mask.shape:
        raise UserError(f"The mask '{sample.mask.name}' does not have the shape of its stack.", file=sample.mask,
                        fix="Save the mask with as many planes, of the same size, as its stack.")
    return prepare_stack(prep, stack.pixels), mask


def stack_encoder(n_classes: int | None, boundary_width: int | None):
    """(Z, Y, X) mask → the network's (Z, Y, X, K) target: semantic classes (`n_classes`) or instance channels."""
    from petrilab.tasks.segmentation.targets import encode_classes

    if boundary_width is not None:
        eye = np.eye(3, dtype=np.float32)
        return lambda labels: eye[stack_instance_classes(labels, boundary_width)]
    plane = encode_classes(n_classes)
    return lambda mask: np.stack([plane(m) for m in mask])


def stack_instance_classes(labels: np.ndarray, width: int) -> np.ndarray:
    """0 background, 1 interior, 2 boundary of a label stack, each plane's boundary drawn in that plane."""
    from petrilab.tasks.segmentation.targets import instance_classes

    return np.stack([instance_classes(plane, width) for plane in labels])


def _intensity(x: np.ndarray, aug, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and noise on a whole block, as data/augment.py changes a whole image."""
    spread = float(x.max() - x.min()) or 1.0
    if aug.contrast > 0:
        mean = float(x.mean())
        x = (x - mean) * np.float32(rng.uniform(1 - aug.contrast, 1 + aug.contrast)) + mean
    if aug.brightness > 0:
        x = x + np.float32(rng.uniform(-aug.brightness, aug.brightness) * spread)
    if aug.noise > 0:
        x = x + rng.standard_normal(x.shape, dtype=np.float32) * np.float32(aug.noise * spread)
    return x.astype(np.float32, copy=False)


def _pad(array: np.ndarray, size) -> np.ndarray:
    pads = [(0, max(0, s - n)) for s, n in zip(size, array.shape[:3])] + [(0, 0)] * (array.ndim - 3)
    return np.pad(array, pads, mode="symmetric") if any(p for _, p in pads) else array


class StackPatches(keras.utils.PyDataset):
    """Batches of random blocks from prepared stacks in memory, augmented and encoded for the network.

    Each block's place and augmentation come from a generator seeded by (seed, epoch, batch, block), so a run
    is repeatable whatever order Keras asks for the batches in."""

    def __init__(self, stacks: Sequence[np.ndarray], masks: Sequence[np.ndarray], encode: Callable,
                 patch: tuple[int, int, int], batch_size: int, augmentation=None, seed: int = 0, **kwargs):
        if not stacks:
            raise ValueError("no stacks to cut blocks from")
        super().__init__(**kwargs)
        self.patch = tuple(int(n) for n in patch)
        self.stacks = [_pad(s, self.patch) for s in stacks]
        self.masks = [_pad(m, self.patch) for m in masks]
        self.encode, self.batch_size, self.seed, self.epoch = encode, int(batch_size), int(seed), 0
        a = augmentation
        self.turn = a is not None and bool(a.flip_horizontal or a.flip_vertical or a.rotate_90)
        self.intensity = a if a is not None and (a.brightness > 0 or a.contrast > 0 or a.noise > 0) else None
        volumes = np.array([m.size for m in self.masks], dtype=np.float64)
        self.weights = volumes / volumes.sum()  # a large stack gives more blocks than a small one
        per_stack = np.clip(np.round(volumes / math.prod(self.patch)), 1, MAX_PATCHES_PER_STACK)
        self.patches_per_epoch = max(int(per_stack.sum()), MIN_STEPS_PER_EPOCH * self.batch_size)

    def __len__(self) -> int:
        return math.ceil(self.patches_per_epoch / self.batch_size)

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        n = min(self.batch_size, self.patches_per_epoch - index * self.batch_size) or self.batch_size
        chosen = rng.choice(len(self.stacks), size=n, p=self.weights)
        xs, ys = [], []
        for i, k in enumerate(chosen):
            own = np.random.default_rng([self.seed, self.epoch, int(index), i])
            stack, mask = self.stacks[k], self.masks[k]
            corner = [int(own.integers(0, s - p + 1)) for s, p in zip(mask.shape, self.patch)]
            cut = tuple(slice(c, c + p) for c, p in zip(corner, self.patch))
            x, y = stack[cut], mask[cut]
            if self.turn:
                x, y = flip_turn_xy(x, y, own)
            if self.intensity is not None:
                x = _intensity(x, self.intensity, own)
            xs.append(np.array(x, dtype=np.float32))
            ys.append(self.encode(y))
        return np.stack(xs), np.stack(ys).astype(np.float32)


def _starts(size: int, p: int) -> list[int]:
    if size <= p:
        return [0]
    n = math.ceil(size / p)
    return sorted({round(i * (size - p) / (n - 1)) for i in range(n)})


def fixed_stack_patches(stacks: Sequence[np.ndarray], masks: Sequence[np.ndarray], encode: Callable,
                        patch: tuple[int, int, int], limit: int = MAX_VALIDATION_BLOCKS):
    """Blocks covering every stack (padded when smaller), evenly thinned to at most `limit`:
    x (N, pz, py, px, C) and y (N, pz, py, px, K), float32."""
    places = []
    for k, mask in enumerate(masks):
        shape = [max(s, p) for s, p in zip(mask.shape, patch)]
        places += [(k, z, y, x) for z in _starts(shape[0], patch[0]) for y in _starts(shape[1], patch[1])
                   for x in _starts(shape[2], patch[2])]
    if len(places) > limit:
        places = [places[i] for i in np.linspace(0, len(places) - 1, limit).round().astype(int)]
    xs, ys = [], []
    for k, *corner in places:
        stack, mask = _pad(stacks[k], patch), _pad(masks[k], patch)
        cut = tuple(slice(c, c + p) for c, p in zip(corner, patch))
        xs.append(stack[cut])
        ys.append(encode(mask[cut]))
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)
