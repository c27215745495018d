"""Segmentation batches: random patches for training, fixed patches for validation.

Large microscopy images are never shrunk for segmentation: training cuts
patches (data.patch_size, or chosen from the data) at random places, and each
batch is drawn afresh, so every epoch sees new pieces. The image and its mask
go through the same flips, rotations and elastic bends; the mask is moved
with nearest-neighbour sampling (a class or an object number is never
averaged), and only the image gets the intensity changes (brightness,
contrast, noise). Validation uses patches at fixed places, the same every
epoch, so its curve moves only when the network does.

With data.load = stream (or "auto" when the images would not fit in memory)
nothing is kept between batches: each training batch reads the images it
cuts patches from, and validation keeps only its (bounded) patches.

`encode` turns a mask patch into what the network's last layer outputs (one
sigmoid channel, one-hot classes, or the instance channels): it runs after
the augmentation, so an instance mask's boundaries are drawn on the bent
objects, exactly one pixel wide.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Callable, Sequence

import keras
import numpy as np

from petrilab.data.augment import Augmenter
from petrilab.tasks.segmentation.masks import DEFAULT_PATCH, MIN_PATCH

# At most this many validation patches: enough for a steady curve, bounded memory.
MAX_VALIDATION_PATCHES = 256
# An epoch shows about as many patch pixels as the training images hold, within these bounds per image.
MAX_PATCHES_PER_IMAGE = 16
# ... and at least this many batches: a few annotated images still give an epoch enough weight updates
# for its curves to move, and the augmentation makes every draw a new variant.
MIN_STEPS_PER_EPOCH = 16
# When the objects cover less than this share of the pixels, some patches are centred on an object.
RARE_FOREGROUND = 0.1
FOREGROUND_CENTRED = 0.3


def patch_size_for(requested: Sequence[int], shapes: Sequence[tuple[int, int]], multiple: int) -> tuple[int, int]:
    """The training patch (height, width): data.patch_size, else DEFAULT_PATCH or the smallest image side
    when smaller; rounded down to a multiple of `multiple` (2^depth of the U-Net), never below it."""
    if requested:
        height, width = int(requested[0]), int(requested[1])
    else:
        side = min([DEFAULT_PATCH] + [min(h, w) for h, w in shapes])
        height = width = max(side, MIN_PATCH)

    def fit(n: int) -> int:
        return max(multiple, n // multiple * multiple)

    return fit(height), fit(width)


def patch_size_findings(requested, chosen: tuple[int, int], report, dataset) -> None:
    """Say what happens to data.patch_size instead of changing it silently: rounded to the U-Net's multiple,
    or larger than some images (those are mirror-padded to fill the patch). Added to the report's findings."""
    from petrilab.data.check import INFO, WARNING, _add
    from petrilab.data.images import image_info

    if not requested:
        return
    asked = (int(requested[0]), int(requested[1]))
    if asked != tuple(chosen):
        _add(report, INFO, f"data.patch_size {asked[0]} × {asked[1]} was rounded to {chosen[0]} × {chosen[1]}: the "
                           f"network's poolings need sides that divide evenly.")
    smallest = min(((int(h), int(w)) for h, w in (s.split("x") for s in report.sizes)), key=lambda hw: hw[0] * hw[1],
                   default=None)
    if smallest is None or (smallest[0] >= chosen[0] and smallest[1] >= chosen[1]):
        return
    name = next((s.path for s in dataset.samples if _size_of(s.path, image_info) == smallest), None)
    _add(report, WARNING,
         f"The training patches ({chosen[0]} × {chosen[1]}, data.patch_size) are larger than some images: the "
         f"smallest, '{name.name if name else '?'}', is {smallest[0]} × {smallest[1]}. Such images are mirror-padded "
         f"to fill a patch, so the network sees repeated, mirrored content around them.", name,
         fix=f"Choose a data.patch_size no larger than {smallest[0]} × {smallest[1]} (or leave it empty to let "
             f"PetriLab choose), or move the small images out.")


def _size_of(path, image_info):
    try:
        info = image_info(path)
    except Exception:  # unreadable: the check says so
        return None
    return info.height, info.width


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Mirror-pad an (H, W, …) array at its bottom and right to at least height × width."""
    extra_h, extra_w = max(0, height - image.shape[0]), max(0, width - image.shape[1])
    if not extra_h and not extra_w:
        return image
    pads = [(0, extra_h), (0, extra_w)] + [(0, 0)] * (image.ndim - 2)
    mode = "symmetric" if extra_h <= image.shape[0] and extra_w <= image.shape[1] else "wrap"
    return np.pad(image, pads, mode=mode)


# ---------------------------------------------------------------- joint geometric augmentation


class JointAugmenter:
    """Flips, quarter turns, free rotation, zoom and elastic deformation applied alike to an image
    and its mask; intensity changes to the image only."""

    def __init__(self, aug_settings, seed: int = 0):
        s = aug_settings
        self.flip_horizontal = bool(s.flip_horizontal)
        self.flip_vertical = bool(s.flip_vertical)
        self.rotate_90 = bool(s.rotate_90)
        self.rotation = float(s.rotation)
        self.zoom = float(s.zoom)
        self.elastic = float(s.elastic)
        self.intensity = Augmenter(SimpleNamespace(
            flip_horizontal=False, flip_vertical=False, rotate_90=False, rotation=0.0, zoom=0.0,
            brightness=s.brightness, contrast=s.contrast, noise=s.noise), seed)
        self.rng = np.random.default_rng(seed)

    @property
    def active(self) -> bool:
        return (self.flip_horizontal or self.flip_vertical or self.rotate_90 or self.rotation > 0 or self.zoom > 0
                or self.elastic > 0 or self.intensity.active)

    def __call__(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator | None = None):
        """(H, W, C) float32 image and (H, W) integer mask → augmented copies of both."""
        rng = rng if rng is not None else self.rng
        if self.flip_horizontal and rng.random() < 0.5:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if self.flip_vertical and rng.random() < 0.5:
            image, mask = image[::-1], mask[::-1]
        if self.rotate_90:
            turns = int(rng.integers(4)) if image.shape[0] == image.shape[1] else 2 * int(rng.integers(2))
            image, mask = np.rot90(image, turns), np.rot90(mask, turns)
        if self.rotation > 0 or self.zoom > 0 or self.elastic > 0:
            image, mask = self._warp(image, mask, rng)
        if self.intensity.active:
            self.intensity.rng = rng
            image = self.intensity(image[np.newaxis])[0]
        return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(mask)

    def _warp(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
        """One smooth map of where each output pixel comes from, used for the image (linear) and the mask (nearest)."""
        from scipy.ndimage import gaussian_filter, map_coordinates

        h, w = mask.shape
        cy, cx = (h - 1) / 2, (w - 1) / 2
        yy, xx = np.meshgrid(np.arange(h, dtype=np.float32) - cy, np.arange(w, dtype=np.float32) - cx, indexing="ij")
        angle = np.deg2rad(rng.uniform(-self.rotation, self.rotation)) if self.rotation > 0 else 0.0
        scale = rng.uniform(1 - self.zoom, 1 + self.zoom) if self.zoom > 0 else 1.0
        cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
        src_y = cos * yy - sin * xx + cy
        src_x = sin * yy + cos * xx + cx
        if self.elastic > 0:
            # random displacements smoothed over an eighth of the patch: the tissue bends, it does not tear;
            # strength 1 moves pixels by about a tenth of the patch side
            side = min(h, w)
            smooth = max(2.0, side / 8)
            for target in (src_y, src_x):
                field = gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), smooth, mode="reflect")
                field *= self.elastic * side / 10 / (field.std() + 1e-6)
                target += field
        coords = np.stack([src_y, src_x])
        warped = np.stack([map_coordinates(image[:, :, c], coords, order=1, mode="mirror")
                           for c in range(image.shape[2])], axis=-1)
        mask = map_coordinates(mask, coords, order=0, mode="mirror")
        return warped.astype(np.float32), mask


# ---------------------------------------------------------------- training: random patches

# read(k) -> (image (H, W, C) float32 normalised, mask (H, W) integers) of the k-th training pair
PairReader = Callable[[int], "tuple[np.ndarray, np.ndarray]"]


class RandomPatches(keras.utils.PyDataset):
    """Batches of random patches from images held in memory, augmented and encoded for the network.

    images: (H, W, C) float32, already normalised; masks: (H, W) integers (classes or object labels).
    Images smaller than the patch are mirror-padded. A batch's images are drawn from a generator seeded by
    (seed, epoch, batch), each patch's place and augmentation from one seeded by (seed, epoch, batch, patch),
    so a run is repeatable whatever order Keras asks for the batches in.
    `StreamedPatches` draws exactly the same batches while reading the images from disk.
    """

    def __init__(self, images: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                 encode: Callable[[np.ndarray], np.ndarray], patch: tuple[int, int], batch_size: int,
                 augmenter: JointAugmenter | None = None, seed: int = 0, patches_per_epoch: int | None = None,
                 **kwargs):
        if not images:
            raise ValueError("no images to cut patches from")
        self.patch = (int(patch[0]), int(patch[1]))
        self.images = [pad_to(x, *self.patch) for x in images]
        self.masks = [pad_to(m, *self.patch) for m in masks]
        super().__init__(**kwargs)
        self._setup([m.shape for m in self.masks], [int(np.count_nonzero(m)) for m in self.masks], encode,
                     batch_size, augmenter, seed, patches_per_epoch)
        self._objects = [np.flatnonzero(m) for m in self.masks] if self.centre_on_objects else None

    def _setup(self, shapes, foreground_counts, encode, batch_size, augmenter, seed, patches_per_epoch) -> None:
        """What both sources share: image weights, patches per epoch, whether to centre on objects."""
        self.shapes = [tuple(int(n) for n in shape[:2]) for shape in shapes]
        self.encode = encode
        self.batch_size = int(batch_size)
        self.augmenter = augmenter if augmenter is not None and augmenter.active else None
        self.seed = int(seed)
        self.epoch = 0
        areas = np.array([h * w for h, w in self.shapes], dtype=np.float64)
        self.weights = areas / areas.sum()  # a large image gives more patches than a small one
        if patches_per_epoch is None:
            per_image = np.clip(np.round(areas / (self.patch[0] * self.patch[1])), 1, MAX_PATCHES_PER_IMAGE)
            patches_per_epoch = max(int(per_image.sum()), MIN_STEPS_PER_EPOCH * self.batch_size)
        self.patches_per_epoch = max(int(patches_per_epoch), self.batch_size)
        foreground = sum(foreground_counts) / areas.sum()
        self.centre_on_objects = 0.0 < foreground < RARE_FOREGROUND

    def __len__(self) -> int:
        return math.ceil(self.patches_per_epoch / self.batch_size)

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def _pair(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The k-th (padded image, padded mask, flat indices of its object pixels or None)."""
        return self.images[k], self.masks[k], self._objects[k] if self._objects is not None else None

    def _corner(self, mask: np.ndarray, objects: np.ndarray | None, rng: np.random.Generator) -> tuple[int, int]:
        h, w = mask.shape
        ph, pw = self.patch
        if objects is not None and len(objects) and rng.random() < FOREGROUND_CENTRED:
            y, x = divmod(int(objects[rng.integers(len(objects))]), w)
            return int(np.clip(y - ph // 2, 0, h - ph)), int(np.clip(x - pw // 2, 0, w - pw))
        return int(rng.integers(h - ph + 1)), int(rng.integers(w - pw + 1))

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        n = min(self.batch_size, self.patches_per_epoch - index * self.batch_size) or self.batch_size
        chosen = rng.choice(len(self.shapes), size=n, p=self.weights)
        ph, pw = self.patch
        xs: list = [None] * n
        ys: list = [None] * n
        # image by image (each fetched once, then let go); every patch has its own generator, so the
        # order in which the images are visited does not change what is drawn
        for k in np.unique(chosen):
            full_image, full_mask, objects = self._pair(int(k))
            for i in np.flatnonzero(chosen == k):
                own = np.random.default_rng([self.seed, self.epoch, int(index), int(i)])
                y0, x0 = self._corner(full_mask, objects, own)
                image = full_image[y0:y0 + ph, x0:x0 + pw]
                mask = full_mask[y0:y0 + ph, x0:x0 + pw]
                if self.augmenter is not None:
                    image, mask = self.augmenter(image, mask, own)
                xs[i] = np.array(image, dtype=np.float32)  # a copy: the full image is not kept alive
                ys[i] = self.encode(mask)
            del full_image, full_mask, objects
        return np.stack(xs), np.stack(ys).astype(np.float32)


class StreamedPatches(RandomPatches):
    """The same random patches, with one image at a time in memory (data.load = stream).

    `read(k)` reads and prepares the k-th pair from disk. The masks are read once at the start, one at a
    time, for their sizes and how much of them is foreground; then every batch reads the images it cuts
    patches from, one after the other, each once. The batches are identical to RandomPatches' on the same data.
    """

    def __init__(self, read: PairReader, n: int, encode: Callable[[np.ndarray], np.ndarray], patch: tuple[int, int],
                 batch_size: int, augmenter: JointAugmenter | None = None, seed: int = 0,
                 patches_per_epoch: int | None = None, mask_reader: Callable[[int], np.ndarray] | None = None,
                 **kwargs):
        if n == 0:
            raise ValueError("no images to cut patches from")
        keras.utils.PyDataset.__init__(self, **kwargs)
        self.patch = (int(patch[0]), int(patch[1]))
        self.read = read
        mask_reader = mask_reader or (lambda k: read(k)[1])
        shapes, counts = [], []
        for k in range(n):
            mask = pad_to(mask_reader(k), *self.patch)
            shapes.append(mask.shape)
            counts.append(int(np.count_nonzero(mask)))
        self._setup(shapes, counts, encode, batch_size, augmenter, seed, patches_per_epoch)
        self._objects = None

    def _pair(self, k: int):
        image, mask = self.read(k)
        image, mask = pad_to(image, *self.patch), pad_to(mask, *self.patch)
        return image, mask, np.flatnonzero(mask) if self.centre_on_objects else None


# ---------------------------------------------------------------- validation: fixed patches


def grid_corners(height: int, width: int, patch: tuple[int, int]) -> list[tuple[int, int]]:
    """Top-left corners of patches covering an image; the last row and column end at the image's edge."""
    def starts(size: int, p: int) -> list[int]:
        if size <= p:
            return [0]
        n = math.ceil(size / p)
        return sorted({round(i * (size - p) / (n - 1)) for i in range(n)})

    return [(y, x) for y in starts(height, patch[0]) for x in starts(width, patch[1])]


def fixed_patches(images: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                  encode: Callable[[np.ndarray], np.ndarray], patch: tuple[int, int],
                  limit: int = MAX_VALIDATION_PATCHES) -> tuple[np.ndarray, np.ndarray]:
    """Patches covering every image (mirror-padded when smaller), evenly thinned to at most `limit`:
    x (N, ph, pw, C) float32 and y (N, ph, pw, channels) float32."""
    return read_fixed_patches(lambda k: (images[k], masks[k]), [m.shape for m in masks], encode, patch, limit)


def read_fixed_patches(read: PairReader, shapes: Sequence[tuple[int, int]], encode: Callable[[np.ndarray], np.ndarray],
                       patch: tuple[int, int], limit: int = MAX_VALIDATION_PATCHES) -> tuple[np.ndarray, np.ndarray]:
    """fixed_patches with the pairs read one at a time by `read(k)` (each once): only the patches stay in memory."""
    ph, pw = patch
    places = []
    for k, (h, w) in enumerate(shapes):
        places += [(k, y, x) for y, x in grid_corners(h, w, patch)]
    if len(places) > limit:
        keep = np.linspace(0, len(places) - 1, limit).round().astype(int)
        places = [places[i] for i in keep]
    x = y = None
    current, image, mask = None, None, None
    for i, (k, top, left) in enumerate(places):  # in image order: each image is read once
        if k != current:
            image, mask = read(k)
            image, mask, current = pad_to(image, ph, pw), pad_to(mask, ph, pw), k
        encoded = encode(mask[top:top + ph, left:left + pw])
        if x is None:  # filled in place: no patch keeps its whole image alive
            x = np.empty((len(places), ph, pw, image.shape[2]), np.float32)
            y = np.empty((len(places), *encoded.shape), np.float32)
        x[i] = image[top:top + ph, left:left + pw]
        y[i] = encoded
    return x, y
