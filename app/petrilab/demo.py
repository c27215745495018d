"""Synthetic microscopy-like demo data, so a first experiment needs no data of one's own.

Each task family makes its own (`example_data` in tasks/<family>/demo.py, the module the registry's `Task.demo` names); what they
share is here: an empty folder, what a camera adds to the light, and the images + table layout.
Everything is drawn from seeded generators: the same call gives the same files.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from petrilab.errors import UserError
from petrilab.tasks import TASKS


def empty_folder(out_dir) -> Path:
    """The demo's folder, refused when it already holds something (a demo never mixes with other files)."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"The folder {out} is not empty; the demo data needs an empty folder.", file=out,
                        fix="Choose a new folder for the demo data.")
    return out


def camera(image: np.ndarray, rng: np.random.Generator, gain: tuple[float, float],
           read_noise: tuple[float, float]) -> np.ndarray:
    """What a camera adds to the light: photon shot noise at a random gain, then read noise; 8-bit pixels."""
    g = rng.uniform(*gain)
    image = rng.poisson(np.clip(image, 0, None) * g) / g
    image = image + rng.normal(0, rng.uniform(*read_noise), image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def table_demo(out_dir, n_images: int, size: int, stream: tuple[int, int], prefix: str, table: str,
               columns, render) -> Path:
    """DEMO/images/<prefix>_001.png … and DEMO/<table> (filename, columns): the table tasks' demos.

    `render(size, rng)` → (uint8 image, the row's values as text); `stream` = (seed, task number) seeds one
    generator per image, so the first images are the same whatever n_images is.
    """
    from PIL import Image

    out = empty_folder(out_dir)
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


def make_demo(task: str, out_dir) -> Path:
    """The demo data of `task` (what the app offers as example data), at its usual size."""
    return importlib.import_module(TASKS[task].demo).example_data(out_dir, task)


# Where each maker lives now; `from petrilab.demo import make_classification_demo` keeps working.
_MOVED = {"petrilab.tasks.classification.demo": ("DEMO_CLASSES", "make_classification_demo", "render_cell",
                                                 "MULTILABEL_DEMO_LABELS", "make_multilabel_demo",
                                                 "render_labelled_cell"),
          "petrilab.tasks.segmentation.demo": ("SEGMENTATION_DEMO_CLASSES", "make_segmentation_demo", "render_nuclei"),
          "petrilab.tasks.regression.demo": ("BEAD_TARGETS", "make_regression_demo", "render_bead"),
          "petrilab.tasks.restoration.demo": ("make_restoration_demo",)}


def __getattr__(name: str):
    for module, names in _MOVED.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
