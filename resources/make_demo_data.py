"""Regenerate the bundled demo datasets (resources/demo/classification, regression, semantic, instance).

    .venv/bin/python resources/make_demo_data.py [classification] [regression] [semantic] [instance]

The images come from petrilab.demo with a fixed seed, so running this again
gives the same files. The old demo folder is replaced only once the new one
is complete.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "app"))  # works without an installed petrilab too

from petrilab.demo import make_classification_demo, make_regression_demo, make_segmentation_demo  # noqa: E402

N_PER_CLASS = 80
SIZE = 64
SEED = 0
# the bead demo: 1,000 images of 32 × 32 pixels (under 1 MB); the default model's error is well under a pixel
DEMOS = {
    "classification": lambda out: make_classification_demo(out, n_per_class=N_PER_CLASS, size=SIZE, seed=SEED),
    "regression": lambda out: make_regression_demo(out, n_images=1000, size=32, seed=SEED),
    # touching nuclei: 30 fields of 128 × 128 pixels, the same fields for both segmentation tasks (about 0.4 MB each)
    "semantic": lambda out: make_segmentation_demo(out, "semantic", n_images=30, size=128, seed=SEED),
    "instance": lambda out: make_segmentation_demo(out, "instance", n_images=30, size=128, seed=SEED),
}


def main() -> None:
    for name in sys.argv[1:] or list(DEMOS):
        make(name)


def make(name: str) -> None:
    target = HERE / "demo" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        DEMOS[name](scratch / "new")
        if target.exists():
            shutil.rmtree(target)  # the previous generated copy, nothing else lives there
        (scratch / "new").rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    n = sum(1 for _ in target.rglob("*.png"))
    size = sum(p.stat().st_size for p in target.rglob("*.png"))
    print(f"{n} images, {size / 1e6:.1f} MB in {target}")


if __name__ == "__main__":
    main()
