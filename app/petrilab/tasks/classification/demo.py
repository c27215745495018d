"""The classification family's demo data, so a first experiment needs no data of one's own.

One class per image: grey 8-bit images of one cell each, in three classes — "round" nuclei, "elongated"
cells and "fragmented" (apoptotic) nuclei broken into several small blobs. Position, size, orientation,
brightness, focus, background, noise and partly visible neighbours vary, so no single pixel tells the
classes apart, yet a small ConvNet learns them in a few epochs.
Any labels per image (multi-label): a nucleus, spots and a membrane ring, each present or not.
Everything is drawn from a seeded generator: the same call gives the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.demo import camera, empty_folder, table_demo
from petrilab.tasks import TASKS

DEMO_CLASSES = ("elongated", "fragmented", "round")


def example_data(out_dir, task: str) -> Path:
    """The example data the app offers for `task`, at its usual size."""
    return make_multilabel_demo(out_dir) if TASKS[task].multi_label else make_classification_demo(out_dir)


def make_classification_demo(out_dir, n_per_class: int = 80, size: int = 64, seed: int = 0) -> Path:
    """Write DEMO/<class>/<class>_001.png ... into `out_dir` (new or empty) and return it."""
    from PIL import Image

    out = empty_folder(out_dir)
    if n_per_class < 1 or size < 16:
        raise ValueError("the demo needs at least 1 image per class and images of at least 16 pixels")
    for class_index, name in enumerate(DEMO_CLASSES):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            # one generator per image: the first images are the same whatever n_per_class is
            rng = np.random.default_rng([seed, class_index, i])
            pixels = render_cell(name, size, rng)
            Image.fromarray(pixels, mode="L").save(folder / f"{name}_{i + 1:03d}.png", optimize=False)
    return out


def render_cell(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One uint8 (size, size) image of a `kind` cell, with background, neighbours, blur and noise."""
    from scipy.ndimage import gaussian_filter

    s = size / 64  # every length below is for a 64-pixel image
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    # uneven illumination: a dim background with a gentle slope
    background = (rng.uniform(12, 35) + rng.uniform(-10, 10) * (xx / size - 0.5)
                  + rng.uniform(-10, 10) * (yy / size - 0.5))

    signal = np.zeros((size, size))
    brightness = rng.uniform(80, 190)
    for _ in range(int(rng.choice([0, 0, 1, 1, 2]))):  # neighbours cut by the edge of the field
        side = rng.integers(4)
        along = rng.uniform(0, size)
        depth = rng.uniform(-6, 4) * s  # centre just inside or just outside the frame
        centre = [(depth, along), (size - 1 - depth, along), (along, depth), (along, size - 1 - depth)][side]
        neighbour = str(rng.choice(["round", "elongated"]))
        signal += _cell(neighbour, centre, s, yy, xx, rng) * brightness * rng.uniform(0.35, 0.8)

    centre = (size / 2 + rng.uniform(-9, 9) * s, size / 2 + rng.uniform(-9, 9) * s)
    signal += _cell(kind, centre, s, yy, xx, rng) * brightness
    signal = gaussian_filter(signal, rng.uniform(0.5, 1.7) * s)  # focus varies

    return camera(background + signal, rng, gain=(0.3, 1.0), read_noise=(2, 7))


def _ellipse(centre, a, b, angle, yy, xx, edge: float = 6.0, bend: float = 0.0) -> np.ndarray:
    """A soft-edged ellipse (semi-axes a along `angle`, b across), optionally bent like a banana."""
    dy, dx = yy - centre[0], xx - centre[1]
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle) - bend * u ** 2
    d = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    return 1.0 / (1.0 + np.exp(np.clip((d - 1.0) * edge, -50, 50)))


def _texture(shape, rng, amount: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    grain = gaussian_filter(rng.normal(0, 1, shape), 1.5)
    return 1.0 + amount * grain / (grain.std() + 1e-9)


def _cell(kind: str, centre, s: float, yy, xx, rng) -> np.ndarray:
    angle = rng.uniform(0, np.pi)
    if kind == "round":
        r = rng.uniform(6, 10.5) * s
        body = _ellipse(centre, r * rng.uniform(1.0, 1.35), r, angle, yy, xx)
        for _ in range(int(rng.integers(0, 3))):  # nucleoli: small brighter spots inside
            offset = rng.uniform(-0.5, 0.5, 2) * r
            spot = _ellipse((centre[0] + offset[0], centre[1] + offset[1]), 1.5 * s, 1.5 * s, 0, yy, xx)
            body = body + 0.4 * spot * body
        return body * _texture(yy.shape, rng, 0.15)
    if kind == "elongated":
        a = rng.uniform(11, 19) * s
        b = rng.uniform(3.2, 5.5) * s
        bend = rng.uniform(-0.012, 0.012) / s
        return _ellipse(centre, a, b, angle, yy, xx, bend=bend) * _texture(yy.shape, rng, 0.15)
    if kind == "fragmented":
        body = np.zeros_like(yy)
        spread = rng.uniform(4, 9) * s
        for _ in range(int(rng.integers(3, 8))):
            radius = rng.uniform(1.6, 3.6) * s
            offset = rng.normal(0, spread / 2, 2)
            blob = _ellipse((centre[0] + offset[0], centre[1] + offset[1]), radius, radius * rng.uniform(0.8, 1),
                            rng.uniform(0, np.pi), yy, xx, edge=5.0)
            body = np.maximum(body, blob * rng.uniform(0.6, 1.3))
        return body
    raise ValueError(f"unknown demo cell kind {kind!r}")


# ---------------------------------------------------------------- multi-label: what a cell shows


MULTILABEL_DEMO_LABELS = ("nucleus", "spots", "membrane")


def make_multilabel_demo(out_dir, n_images: int = 300, size: int = 32, seed: int = 0) -> Path:
    """Write DEMO/images/cell_001.png … and DEMO/labels.csv (filename, nucleus, spots, membrane).

    Each image may show any of three structures, independently: a round
    nucleus (labelled in about half the images), a few small bright spots
    (a third) and a bright ring of membrane (40 %), on a noisy background.
    """

    def cell(size, rng):
        present = rng.random(3) < (0.5, 0.33, 0.4)
        return render_labelled_cell(size, present, rng), [str(int(p)) for p in present]

    return table_demo(out_dir, n_images, size, (seed, 11), "cell", "labels.csv", MULTILABEL_DEMO_LABELS, cell)


def render_labelled_cell(size: int, present, rng: np.random.Generator) -> np.ndarray:
    """One uint8 image with a nucleus, spots and/or a membrane ring, as `present` (3 booleans) says."""
    from scipy.ndimage import gaussian_filter

    s = size / 32
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cy, cx = size / 2 + rng.uniform(-3, 3, 2) * s
    r = np.hypot(yy - cy, xx - cx)
    signal = np.zeros((size, size))
    if present[0]:  # nucleus: a filled disk
        signal += rng.uniform(80, 140) / (1 + np.exp((r - rng.uniform(4, 6) * s) * 2))
    if present[1]:  # spots: a few small dots anywhere in the cell
        for _ in range(int(rng.integers(3, 7))):
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(2, 10) * s
            sy, sx = cy + dist * np.sin(angle), cx + dist * np.cos(angle)
            signal += rng.uniform(90, 160) * np.exp(-((yy - sy) ** 2 + (xx - sx) ** 2) / (2 * (0.8 * s) ** 2))
    if present[2]:  # membrane: a thin ring around the cell
        signal += rng.uniform(60, 110) * np.exp(-((r - rng.uniform(11, 13) * s) ** 2) / (2 * (0.9 * s) ** 2))
    image = rng.uniform(15, 35) + gaussian_filter(signal, rng.uniform(0.3, 0.9) * s)
    image = image + rng.normal(0, rng.uniform(3, 8), image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)
