"""Synthetic microscopy-like demo data, so a first experiment needs no data of one's own.

Classification: grey 8-bit images of one cell each, in three classes —
"round" nuclei, "elongated" cells and "fragmented" (apoptotic) nuclei broken
into several small blobs. Position, size, orientation, brightness, focus,
background, noise and partly visible neighbours vary, so no single pixel
tells the classes apart, yet a small ConvNet learns them in a few epochs.
Everything is drawn from a seeded generator: the same call gives the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.errors import UserError
from petrilab.tasks import TASKS, is_per_pixel

DEMO_CLASSES = ("elongated", "fragmented", "round")


def _empty_folder(out_dir) -> Path:
    """The demo's folder, refused when it already holds something (a demo never mixes with other files)."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"The folder {out} is not empty; the demo data needs an empty folder.", file=out,
                        fix="Choose a new folder for the demo data.")
    return out


def _camera(image: np.ndarray, rng: np.random.Generator, gain: tuple[float, float],
            read_noise: tuple[float, float]) -> np.ndarray:
    """What a camera adds to the light: photon shot noise at a random gain, then read noise; 8-bit pixels."""
    g = rng.uniform(*gain)
    image = rng.poisson(np.clip(image, 0, None) * g) / g
    image = image + rng.normal(0, rng.uniform(*read_noise), image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _table_demo(out_dir, n_images: int, size: int, stream: tuple[int, int], prefix: str, table: str,
                columns, render) -> Path:
    """DEMO/images/<prefix>_001.png … and DEMO/<table> (filename, columns): the table tasks' demos.

    `render(size, rng)` → (uint8 image, the row's values as text); `stream` = (seed, task number) seeds one
    generator per image, so the first images are the same whatever n_images is.
    """
    from PIL import Image

    out = _empty_folder(out_dir)
    if n_images < 1 or size < 16:
        raise ValueError("the demo needs at least 1 image of at least 16 pixels")
    (out / "images").mkdir(parents=True, exist_ok=True)
    lines = ["filename," + ",".join(columns)]
    for i in range(n_images):
        pixels, values = render(size, np.random.default_rng([*stream, i]))
        name = f"{prefix}_{i + 1:0{max(3, len(str(n_images)))}d}.png"  # names sort in their order
        Image.fromarray(pixels, mode="L").save(out / "images" / name, optimize=False)
        lines.append(",".join([name, *values]))
    (out / table).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def make_classification_demo(out_dir, n_per_class: int = 80, size: int = 64, seed: int = 0) -> Path:
    """Write DEMO/<class>/<class>_001.png ... into `out_dir` (new or empty) and return it."""
    from PIL import Image

    out = _empty_folder(out_dir)
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

    return _camera(background + signal, rng, gain=(0.3, 1.0), read_noise=(2, 7))


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


# ---------------------------------------------------------------- segmentation

SEGMENTATION_DEMO_CLASSES = ("background", "nucleus")


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
    out = _empty_folder(out_dir)
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
    return _camera((background + signal) * rng.uniform(150, 230), rng, gain=(0.4, 1.2), read_noise=(2, 5)), labels


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels 1..N with no gaps (a nucleus hidden by its neighbours leaves none), tiny slivers dropped."""
    areas = np.bincount(labels.ravel())
    keep = np.flatnonzero(areas >= 12)
    keep = keep[keep != 0]
    table = np.zeros(len(areas), np.int32)
    table[keep] = np.arange(1, len(keep) + 1, dtype=np.int32)
    return table[labels]


# ---------------------------------------------------------------- regression: the bead


BEAD_TARGETS = ("x", "y")


def make_regression_demo(out_dir, n_images: int = 1000, size: int = 32, seed: int = 0) -> Path:
    """Write DEMO/images/bead_001.png … and DEMO/targets.csv (filename, x, y) into `out_dir` (new or empty).

    The workshop's bead case: one bright bead per image at a known sub-pixel
    position, blurred by the optics, on an uneven background with shot and
    camera noise. x is the column and y the row of the bead's centre, in
    pixels, from the centre of the top-left pixel.
    """

    def bead(size, rng):
        pixels, x, y = render_bead(size, rng)
        return pixels, [f"{x:.3f}", f"{y:.3f}"]

    return _table_demo(out_dir, n_images, size, (seed, 5), "bead", "targets.csv", BEAD_TARGETS, bead)


def render_bead(size: int, rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """One uint8 (size, size) image of a bead and its centre (x = column, y = row), sub-pixel."""
    s = size / 32  # lengths below are for a 32-pixel image
    margin = 6 * s  # the whole bead stays inside the field
    x = float(rng.uniform(margin, size - 1 - margin))
    y = float(rng.uniform(margin, size - 1 - margin))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    background = (rng.uniform(15, 40) + rng.uniform(-8, 8) * (xx / size - 0.5)
                  + rng.uniform(-8, 8) * (yy / size - 0.5))
    # a bead is a small disk seen through the optics: a Gaussian spot, its width set by size and focus
    width = rng.uniform(1.6, 2.6) * s
    bead = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * width ** 2))
    return _camera(background + rng.uniform(110, 200) * bead, rng, gain=(0.4, 1.0), read_noise=(2, 5)), x, y


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

    return _table_demo(out_dir, n_images, size, (seed, 11), "cell", "labels.csv", MULTILABEL_DEMO_LABELS, cell)


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


def make_demo(task: str, out_dir) -> Path:
    """The demo data of `task` (what the app offers as example data), at its usual size."""
    info = TASKS[task]
    if info.per_pixel:
        return make_segmentation_demo(out_dir, task, n_images=30)
    if info.data == "folders":
        return make_classification_demo(out_dir)
    return make_multilabel_demo(out_dir) if info.multi_label else make_regression_demo(out_dir)
