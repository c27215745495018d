"""Counting nuclei by regression, on crops of a real annotated fluorescence image, against the trivial baseline.

    .venv/bin/python benchmarks/counting.py [--train-crops 800] [--test-crops 150] [--epochs 30]

Ground truth: the nuclei image and its hand-made instance mask that StarDist
ships with its package (stardist/data/images/img2d.tif and mask2d.tif, from
the 2018 Data Science Bowl, Caicedo et al., Nature Methods 2019): 512 × 512
pixels, 125 annotated nuclei. Nothing is downloaded.

Crops of 96 × 96 pixels are cut at random; each gets the number of nuclei in
it, a nucleus cut by the crop's edge counting for the share of its area
inside (so a crop holding half a nucleus counts 0.5, and the count changes
smoothly as the crop moves). Training crops come from the left part of the
image (columns 0–303), test crops from the right part (columns 320–511), so
no test pixel was ever seen in training. Counts do not change when an image
is flipped or turned, so the second configuration turns those augmentations on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "app"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

from petrilab import runs, settings as settings_io  # noqa: E402
from petrilab.recipes import get_recipe  # noqa: E402

CROP = 96
TRAIN_COLUMNS = (0, 304)  # crops lie entirely inside these columns
TEST_COLUMNS = (320, 512)


def annotated_image() -> tuple[np.ndarray, np.ndarray]:
    import stardist
    import tifffile

    folder = Path(stardist.__file__).parent / "data" / "images"
    return tifffile.imread(folder / "img2d.tif"), tifffile.imread(folder / "mask2d.tif")


def crop_counts(mask: np.ndarray, tops: np.ndarray, lefts: np.ndarray) -> np.ndarray:
    """Per crop: the sum over nuclei of the share of each nucleus's area that lies inside the crop."""
    areas = np.bincount(mask.ravel())
    counts = []
    for top, left in zip(tops, lefts):
        inside = np.bincount(mask[top:top + CROP, left:left + CROP].ravel(), minlength=len(areas))
        share = inside[1:] / np.maximum(areas[1:], 1)
        counts.append(float(share.sum()))
    return np.array(counts)


def write_crops(folder: Path, image: np.ndarray, mask: np.ndarray, columns: tuple[int, int], n: int,
                rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    (folder / "images").mkdir(parents=True)
    tops = rng.integers(0, image.shape[0] - CROP + 1, n)
    lefts = rng.integers(columns[0], columns[1] - CROP + 1, n)
    counts = crop_counts(mask, tops, lefts)
    pixels = np.clip(image, 0, 255).astype(np.uint8)  # the image's values are 0–235: 8 bits lose nothing
    lines = ["filename,nuclei"]
    for i, (top, left, count) in enumerate(zip(tops, lefts, counts)):
        name = f"crop_{i + 1:04d}.png"
        Image.fromarray(pixels[top:top + CROP, left:left + CROP]).save(folder / "images" / name)
        lines.append(f"{name},{count:.4f}")
    (folder / "targets.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts


def run_config(train_dir: Path, test_dir: Path, scratch: Path, name: str, epochs: int, flips: bool) -> dict:
    from petrilab.training.trainer import train

    settings = settings_io.defaults_for("regression")
    settings.name = name
    settings.data.folder, settings.data.test_folder = str(train_dir), str(test_dir)
    recipe = get_recipe("regression")
    report = recipe.check(recipe.discover(settings, train_dir))
    for key, value in report.proposals.items():
        settings_io.apply_override(settings, key, value)
    if epochs:
        settings.training.epochs = epochs
    for key in ("flip_horizontal", "flip_vertical", "rotate_90"):
        setattr(settings.augmentation, key, flips)
    start = time.monotonic()
    run_dir = train(settings, runs_dir=scratch, echo=False)
    result = json.loads((run_dir / runs.EVALUATION).read_text())
    result["seconds"] = time.monotonic() - start
    result["epochs"] = settings.training.epochs
    result["image_size"] = settings.data.image_size
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-crops", type=int, default=800)
    parser.add_argument("--test-crops", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=0, help="0: the default")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    image, mask = annotated_image()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        train_counts = write_crops(scratch / "train", image, mask, TRAIN_COLUMNS, args.train_crops, rng)
        test_counts = write_crops(scratch / "test", image, mask, TEST_COLUMNS, args.test_crops, rng)
        print(f"{len(np.unique(mask)) - 1} annotated nuclei; crops {CROP}×{CROP} px: {args.train_crops} for training "
              f"(columns {TRAIN_COLUMNS[0]}–{TRAIN_COLUMNS[1] - 1}), {args.test_crops} for testing "
              f"(columns {TEST_COLUMNS[0]}–{TEST_COLUMNS[1] - 1})")
        print(f"nuclei per crop: training {train_counts.mean():.2f} ± {train_counts.std():.2f} "
              f"(0 … {train_counts.max():.1f}), test {test_counts.mean():.2f} ± {test_counts.std():.2f}")
        for name, flips in (("defaults", False), ("defaults + flips and quarter turns", True)):
            result = run_config(scratch / "train", scratch / "test", scratch / "runs", name.split()[0], args.epochs,
                                flips)
            v = result["metrics"]["per_target"]["nuclei"]
            print(f"{name}: {result['epochs']} epochs, {result['image_size'][0]}×{result['image_size'][1]} input, "
                  f"{result['seconds']:.0f} s — test MAE {v['mae']:.3f} nuclei, RMSE {v['rmse']:.3f}, "
                  f"R² {v['r2']:.3f}; baseline (training mean) MAE {v['baseline_mae']:.3f}, "
                  f"RMSE {v['baseline_rmse']:.3f}, R² {v['baseline_r2']:.3f}")


if __name__ == "__main__":
    main()
