"""The restoration family's demo data: fluorescence-like fields of nuclei and fine filaments, each as a noisy image
(photon shot noise at a low light level, then camera read noise: Poisson–Gaussian) and its clean version.

DEMO/images/field_001.tif … (noisy, 16-bit) and DEMO/targets/field_001.tif … (clean, same name): learning from
pairs uses both; Noise2Void (restoration.way = "noise2void") uses the noisy images alone and the clean ones only
to score the test images. Drawn from seeded generators: the same call gives the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.demo import empty_folder

PHOTONS = 30.0  # photons at the brightest signal: a dim, noisy acquisition
READ_NOISE = 2.0  # camera read noise, in photons
OFFSET = 100  # the camera's dark level


def example_data(out_dir, task: str) -> Path:
    """The example data the app offers for restoration, at its usual size."""
    return make_restoration_demo(out_dir, n_images=12)


def make_restoration_demo(out_dir, n_images: int = 12, size: int = 128, seed: int = 0,
                          photons: float = PHOTONS) -> Path:
    """Write DEMO/images/field_NNN.tif (noisy) and DEMO/targets/field_NNN.tif (clean) into `out_dir` (new or
    empty); 16-bit TIFFs with a pixel size of 0.1 µm."""
    import tifffile

    out = empty_folder(out_dir)
    if n_images < 1 or size < 32:
        raise ValueError("the demo needs at least 1 image of at least 32 pixels")
    for sub in ("images", "targets"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        rng = np.random.default_rng([seed, 19, i])
        clean = render_field(size, rng)
        noisy = add_noise(clean, photons, READ_NOISE, rng)
        name = f"field_{i + 1:03d}.tif"
        options = {"imagej": True, "resolution": (10.0, 10.0), "metadata": {"unit": "micron"}}
        tifffile.imwrite(out / "images" / name, noisy, **options)
        tifffile.imwrite(out / "targets" / name, np.round(clean * photons * 20 + OFFSET).astype(np.uint16), **options)
    return out


def add_noise(clean: np.ndarray, photons: float, read_noise: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson–Gaussian noise on a 0–1 image: `photons` at 1, read noise in photons; 16-bit with a dark offset,
    in the clean target's units (20 grey levels per photon)."""
    counts = rng.poisson(np.clip(clean, 0, None) * photons).astype(np.float64)
    counts += rng.normal(0, read_noise, clean.shape)
    return np.clip(np.round(counts * 20 + OFFSET), 0, 65535).astype(np.uint16)


def render_field(size: int, rng: np.random.Generator) -> np.ndarray:
    """A clean 0–1 (size, size) field: a few soft nuclei with texture, and thin bright filaments across."""
    from scipy.ndimage import gaussian_filter

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    image = np.zeros((size, size))
    for _ in range(int(rng.integers(3, 8))):
        cy, cx = rng.uniform(0, size, 2)
        a, b = rng.uniform(6, 14, 2) * size / 128
        angle = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        d = (u / a) ** 2 + (v / b) ** 2
        image += rng.uniform(0.4, 0.9) * np.clip(1 - d, 0, None) ** 0.5
    texture = gaussian_filter(rng.normal(0, 1, (size, size)), 1.5)
    image *= 1 + 0.25 * texture / (texture.std() + 1e-9)
    lines = np.zeros((size, size))
    for _ in range(int(rng.integers(3, 7))):  # filaments: random smooth curves, one pixel wide before blurring
        y, x = rng.uniform(0, size, 2)
        heading = rng.uniform(0, 2 * np.pi)
        brightness = rng.uniform(0.5, 1.0)
        for _step in range(3 * size):
            heading += rng.normal(0, 0.08)
            y, x = y + np.sin(heading), x + np.cos(heading)
            if not (0 <= y < size and 0 <= x < size):
                break
            lines[int(y), int(x)] = brightness
    image += gaussian_filter(lines, 0.8) * 4
    image = gaussian_filter(image, 0.7) + 0.05
    return np.clip(image / max(float(image.max()), 1e-6), 0, 1)
