"""Tiny synthetic datasets for the augmentation question: arrows (a label flips change), blobs to count
(a value flips keep), one spot (a position that moves with the image) and nucleus patches (classes nothing
turns). Written as 8-bit PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def _save(folder: Path, name: str, pixels: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L").save(folder / name)


def _noisy(field: np.ndarray, rng) -> np.ndarray:
    return 20 + 200 * field + rng.normal(0, 6, field.shape)


def arrow(size: int, left: bool, rng) -> np.ndarray:
    """A horizontal arrow: a shaft and a triangular head at its left or right end."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    row = rng.uniform(0.3, 0.7) * size
    length = rng.uniform(0.55, 0.8) * size
    start = rng.uniform(1, size - 1 - length)
    shaft = (np.abs(yy - row) <= 0.8) & (xx >= start) & (xx <= start + length)
    tip = start if left else start + length
    into = (xx - tip) if left else (tip - xx)  # distance from the tip along the shaft
    head = (into >= 0) & (into <= 0.3 * size) & (np.abs(yy - row) <= 0.6 * into + 0.5)
    return _noisy((shaft | head).astype(np.float64), rng)


def make_arrows(folder: Path, n_per_class: int, size: int = 16, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for cls in ("left", "right"):
        for i in range(n_per_class):
            _save(folder / cls, f"{cls}_{i:03d}.png", arrow(size, cls == "left", rng))
    return folder


def _rods(size: int, centres: list[tuple[float, float, bool]], rng) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    field = np.zeros((size, size))
    for x, y, across in centres:
        sx, sy = (2.6, 0.8) if across else (0.8, 2.6)
        field += np.exp(-((xx - x) ** 2 / (2 * sx ** 2) + (yy - y) ** 2 / (2 * sy ** 2)))
    return _noisy(np.minimum(field, 1.0), rng)


def make_blobs(folder: Path, n: int, size: int = 24, seed: int = 0, across_only: bool = False) -> Path:
    """1 to 5 short rods per image, apart from each other, lying across or upright at random;
    `across_only`: all of them lying across (what a turned image shows upright)."""
    rng = np.random.default_rng(seed)
    lines = ["filename,count"]
    for i in range(n):
        count = int(rng.integers(1, 6))
        centres: list[tuple[float, float, bool]] = []
        while len(centres) < count:
            c = (float(rng.uniform(3, size - 4)), float(rng.uniform(3, size - 4)),
                 bool(across_only or rng.random() < 0.5))
            if all((c[0] - a) ** 2 + (c[1] - b) ** 2 > 36 for a, b, _ in centres):
                centres.append(c)
        name = f"blobs_{i:03d}.png"
        _save(folder / "images", name, _rods(size, centres, rng))
        lines.append(f"{name},{count}")
    (folder / "targets.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def make_spots(folder: Path, n: int, size: int = 24, seed: int = 0, left_half: bool = False,
               shape: tuple[int, int] | None = None) -> Path:
    """One spot per image; targets.csv has its column x and row y (the top-left pixel's centre is 0).
    `left_half`: every spot in the left half; `shape`: (height, width) of non-square images."""
    rng = np.random.default_rng(seed)
    h, w = shape or (size, size)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    lines = ["filename,x,y"]
    for i in range(n):
        x = float(rng.uniform(3, (w / 2 - 1) if left_half else w - 4))
        y = float(rng.uniform(3, h - 4))
        field = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5 ** 2))
        name = f"spot_{i:03d}.png"
        _save(folder / "images", name, _noisy(field, rng))
        lines.append(f"{name},{x:.3f},{y:.3f}")
    (folder / "targets.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def make_nucleus_patches(folder: Path, n_per_class: int, size: int = 24, seed: int = 0) -> Path:
    """Patches of the demo's nuclei fields, classed by their centre pixel: background, nucleus or outline.
    Nothing in them has a way up: every flip and turn keeps the class."""
    from skimage.segmentation import find_boundaries

    from petrilab.demo import render_nuclei

    rng = np.random.default_rng(seed)
    half, counts = size // 2, {"background": 0, "nucleus": 0, "outline": 0}
    while min(counts.values()) < n_per_class:
        image, labels = render_nuclei(128, rng)
        edge = find_boundaries(labels, mode="inner")
        for _ in range(40):
            r, c = rng.integers(half, 128 - half, 2)
            name = "outline" if edge[r, c] else "nucleus" if labels[r, c] else "background"
            if counts[name] < n_per_class:
                counts[name] += 1
                _save(folder / name, f"{name}_{counts[name]:03d}.png", image[r - half:r + half, c - half:c + half])
    return folder
