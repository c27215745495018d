"""The regression demo: the workshop's bead, one per image at a known sub-pixel position."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.demo import camera, table_demo

BEAD_TARGETS = ("x", "y")


def example_data(out_dir, task: str) -> Path:
    """The example data the app offers for `task`, at its usual size."""
    return make_regression_demo(out_dir)


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

    return table_demo(out_dir, n_images, size, (seed, 5), "bead", "targets.csv", BEAD_TARGETS, bead)


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
    return camera(background + rng.uniform(110, 200) * bead, rng, gain=(0.4, 1.0), read_noise=(2, 5)), x, y
