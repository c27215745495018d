"""The segmentation family's demo data: fluorescence-like fields of nuclei, many of them touching."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.demo import camera, empty_folder
from petrilab.tasks import TASKS, is_per_pixel

SEGMENTATION_DEMO_CLASSES = ("background", "nucleus")


def example_data(out_dir, task: str) -> Path:
    """The example data the app offers for `task` (semantic or instance masks), at its usual size."""
    return make_segmentation_demo(out_dir, task, n_images=30)


def make_segmentation_demo(out_dir, task: str, n_images: int = 24, size: int = 128,
                           seed: int = 0) -> Path:
    """Write DEMO/images/nuclei_001.png … and DEMO/masks/nuclei_001.png|.tif into `out_dir` (new or empty).

    Fluorescence-like fields of nuclei, many of them touching. Instance masks
    are 16-bit TIFF label images (0 background, 1..N one per nucleus);
    semantic masks 8-bit PNG with 0 background and 1 nucleus.
    """
    import tifffile
    from PIL import Image

    if not is_per_pixel(task):
        raise ValueError(f"the segmentation demo is for a task that answers per pixel, not {task!r}")
    out = empty_folder(out_dir)
    if n_images < 1 or size < 32:
        raise ValueError("the demo needs at least 1 image of at least 32 pixels")
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        rng = np.random.default_rng([seed, 7, i])  # one generator per image, as for classification
        image, labels = render_nuclei(size, rng)
        name = f"nuclei_{i + 1:03d}"
        Image.fromarray(image, mode="L").save(out / "images" / f"{name}.png", optimize=False)
        if TASKS[task].has_objects:
            tifffile.imwrite(out / "masks" / f"{name}.tif", labels.astype(np.uint16), compression="zlib")
        else:
            Image.fromarray((labels > 0).astype(np.uint8), mode="L").save(out / "masks" / f"{name}.png")
    return out


def render_nuclei(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One uint8 (size, size) field of nuclei and its int32 label image.

    About half the nuclei are placed against a neighbour. Where two overlap, each
    pixel goes to the nucleus it is deeper inside, so touching nuclei share a
    border as in a real label image. Each nucleus is a little dimmer at its rim,
    so two touching ones show a faint dip between them — visible to a network,
    but not enough for a single threshold to keep them apart.
    """
    from scipy.ndimage import gaussian_filter

    s = size / 128  # lengths below are for a 128-pixel image
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    nuclei: list[tuple[float, float, float, float, float]] = []  # y, x, a, b, angle
    for _ in range(int(rng.integers(6, 15))):
        a = rng.uniform(7, 12) * s
        b = a / rng.uniform(1.0, 1.4)
        angle = rng.uniform(0, np.pi)
        for _attempt in range(20):
            if nuclei and rng.random() < 0.55:  # against a neighbour
                ny, nx, na, nb, _ = nuclei[int(rng.integers(len(nuclei)))]
                direction = rng.uniform(0, 2 * np.pi)
                reach = ((na + nb) / 2 + (a + b) / 2) * rng.uniform(0.78, 0.92)
                cy, cx = ny + reach * np.sin(direction), nx + reach * np.cos(direction)
            else:
                cy, cx = rng.uniform(0, size), rng.uniform(0, size)
            # no nucleus may swallow another: centres farther apart than 75 % of the two radii
            if all(np.hypot(cy - p[0], cx - p[1]) > 0.75 * ((p[2] + p[3]) / 2 + (a + b) / 2) for p in nuclei):
                nuclei.append((cy, cx, a, b, angle))
                break

    depth = np.full((size, size), np.inf)  # normalised distance to the owning nucleus' centre (<1 inside)
    labels = np.zeros((size, size), np.int32)
    intensity = np.zeros((size, size))
    for k, (cy, cx, a, b, angle) in enumerate(nuclei, start=1):
        dy, dx = yy - cy, xx - cx
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        d = np.sqrt((u / a) ** 2 + (v / b) ** 2) * (1 + 0.06 * np.sin(3 * np.arctan2(v, u) + rng.uniform(0, 6)))
        mine = (d < 1) & (d < depth)
        labels[mine] = k
        depth[mine] = d[mine]
        brightness = rng.uniform(0.45, 1.0)
        intensity[mine] = brightness * (1 - 0.35 * d[mine] ** 2)
    labels = _renumber(labels)

    grain = gaussian_filter(rng.normal(0, 1, (size, size)), 1.2 * s)
    signal = intensity * (1 + 0.18 * grain / (grain.std() + 1e-9))
    signal = gaussian_filter(signal, rng.uniform(0.6, 1.3) * s)  # focus varies
    background = rng.uniform(0.04, 0.12) + rng.uniform(-0.04, 0.04) * (xx / size - 0.5)
    return camera((background + signal) * rng.uniform(150, 230), rng, gain=(0.4, 1.2), read_noise=(2, 5)), labels


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels 1..N with no gaps (a nucleus hidden by its neighbours leaves none), tiny slivers dropped."""
    areas = np.bincount(labels.ravel())
    keep = np.flatnonzero(areas >= 12)
    keep = keep[keep != 0]
    table = np.zeros(len(areas), np.int32)
    table[keep] = np.arange(1, len(keep) + 1, dtype=np.int32)
    return table[labels]
