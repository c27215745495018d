"""Segmentation training data in memory or streamed from disk: peak memory and time for one epoch of batches.

A folder of large synthetic grey images (default 12 of 2048 × 2048, PNG) with semantic masks goes through
the semantic recipe's `inputs` exactly as the trainer calls it (training patches and validation patches),
then one epoch of training batches is drawn; no network, so only the data's memory is measured. Each mode
runs in its own fresh child process; the peak resident memory (getrusage) minus the child's memory after
its imports (TensorFlow included) is what the data took.

    .venv/bin/python benchmarks/segmentation_stream_memory.py [--images 12] [--size 2048]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from petrilab import settings as settings_io
from petrilab.data.preprocess import Preprocessing
from petrilab.recipes import get_recipe
import petrilab.tasks.segmentation.patches  # Keras and TensorFlow: imported before the measure starts

folder, load = sys.argv[1], sys.argv[2]
recipe = get_recipe("semantic")
s = settings_io.defaults_for("semantic")
s.data.folder, s.data.load, s.data.patch_size = folder, load, [256, 256]
s.training.batch_size = 8
samples = recipe.discover(s, folder).samples
s.data.classes, s.data.channels = ["background", "foreground"], 1
prep = Preprocessing.from_settings(s.data, 1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
validation = recipe.inputs(samples[:2], prep, s, training=False)
train = recipe.inputs(samples[2:], prep, s, training=True)
for i in range(len(train["x"])):
    train["x"][i]
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"load": load, "in_memory": train["in_memory"], "batches": len(train["x"]),
                  "data_mb": (peak - before) / 1024, "seconds": seconds}))
"""


def make_folder(folder: Path, n: int, size: int) -> None:
    import numpy as np
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(0)
    for k in range(n):
        field = gaussian_filter(rng.standard_normal((size // 4, size // 4)).astype(np.float32), 6)
        field = np.kron(field, np.ones((4, 4), np.float32))
        mask = (field > field.std()).astype(np.uint8)
        image = np.clip(60 + 120 * mask + rng.normal(0, 20, mask.shape), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(folder / "images" / f"tile_{k:03d}.png")
        Image.fromarray(mask * 255).save(folder / "masks" / f"tile_{k:03d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--size", type=int, default=2048)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "large"
        make_folder(folder, args.images, args.size)
        for load in ("memory", "stream"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(folder), load], capture_output=True, text=True,
                                 check=True)
            print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(json.dumps({"total_seconds": round(time.perf_counter() - start, 1)}))
