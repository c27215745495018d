"""Example z-stacks: nuclei as bright ellipsoids in a dim, noisy volume, with their label stacks.

A 3-D version of the demo's nuclei for tests and first steps: each stack holds a few ellipsoids, flatter
in z than in y, x as nuclei look when the planes are farther apart than the pixels; the mask numbers
each nucleus 1..N (0 background). Saved as ImageJ TIFFs with their voxel size, as Fiji saves them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

VOXEL = (1.0, 0.25, 0.25)  # µm: planes 4× farther apart than pixels


def nuclei_stack(size=(16, 64, 64), n: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One (Z, Y, X) uint8 stack and its uint16 label stack of `n` nuclei that do not overlap."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(size, dtype=np.float32)
    labels = np.zeros(size, np.uint16)
    placed = 0
    for _ in range(50 * n):
        if placed == n:
            break
        rz, ry, rx = rng.uniform(2.5, 4), rng.uniform(7, 11), rng.uniform(7, 11)
        cz, cy, cx = (rng.uniform(r, s - r) for r, s in zip((rz, ry, rx), size))
        inside = ((z - cz) / rz) ** 2 + ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1
        grown = ((z - cz) / (rz + 1)) ** 2 + ((y - cy) / (ry + 2)) ** 2 + ((x - cx) / (rx + 2)) ** 2 <= 1
        if labels[grown].any():
            continue
        placed += 1
        labels[inside] = placed
    image = 30 + 120 * (labels > 0) + rng.normal(0, 15, size)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def example_stacks(out_dir, n: int = 6, size=(16, 64, 64), seed: int = 0, classes: bool = False) -> Path:
    """out_dir/images/nuclei_<i>.tif and out_dir/masks/nuclei_<i>.tif (labels; `classes`: 0 background,
    1 nucleus, for semantic segmentation), `n` of each."""
    import tifffile

    out = Path(out_dir)
    for sub in ("images", "masks"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    z, y, x = VOXEL
    for i in range(n):
        image, labels = nuclei_stack(size, seed=seed + i)
        if classes:
            labels = (labels > 0).astype(np.uint8)
        for sub, data in (("images", image), ("masks", labels)):
            tifffile.imwrite(out / sub / f"nuclei_{i:02d}.tif", data, imagej=True, resolution=(1 / x, 1 / y),
                             metadata={"spacing": z, "unit": "micron", "axes": "ZYX"})
    return out
