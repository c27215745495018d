"""The bead demo (regression): how far from the true centre does the default model put the bead?

    .venv/bin/python benchmarks/bead_regression.py [--data resources/demo/regression] [--epochs N]

Trains `petrilab.settings.defaults_for("regression")` with the check's proposals
applied (what the app does with "Apply all"), exactly as `petrilab train` would,
then reads the run's test_predictions.csv and reports the mean distance between
predicted and true bead centres, in pixels, next to the trivial baseline that
always answers the training images' mean position.
"""

from __future__ import annotations

import argparse
import csv
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


def position_errors(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per test image: distance of the prediction to the truth, and of the training mean to the truth (pixels)."""
    settings = settings_io.load(run_dir / runs.SETTINGS)
    mean = np.array(settings.data.target_mean)
    with open(run_dir / "test_predictions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    true = np.array([[float(r["true_x"]), float(r["true_y"])] for r in rows])
    predicted = np.array([[float(r["predicted_x"]), float(r["predicted_y"])] for r in rows])
    return np.hypot(*(predicted - true).T), np.hypot(*(mean - true).T)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(HERE.parent / "resources" / "demo" / "regression"))
    parser.add_argument("--epochs", type=int, default=0, help="0: the default")
    args = parser.parse_args()

    from petrilab.training.trainer import train

    settings = settings_io.defaults_for("regression")
    settings.name = "bead-benchmark"
    settings.data.folder = str(Path(args.data).resolve())
    recipe = get_recipe("regression")
    report = recipe.check(recipe.discover(settings, settings.data.folder))
    for key, value in report.proposals.items():
        settings_io.apply_override(settings, key, value)
    if args.epochs:
        settings.training.epochs = args.epochs
    with tempfile.TemporaryDirectory() as scratch:
        start = time.monotonic()
        run_dir = train(settings, runs_dir=scratch, echo=False)
        seconds = time.monotonic() - start
        errors, baseline = position_errors(run_dir)
    print(f"{report.n_images} images ({settings.data.image_size[0]}×{settings.data.image_size[1]} px), "
          f"{settings.training.epochs} epochs, {seconds:.0f} s on this machine")
    print(f"test images: {len(errors)}")
    print(f"mean position error: {errors.mean():.3f} px (median {np.median(errors):.3f}, "
          f"90th percentile {np.percentile(errors, 90):.3f})")
    print(f"baseline (always the training mean): {baseline.mean():.3f} px")


if __name__ == "__main__":
    main()
