"""The Model page's memory estimate for training a 3-D U-Net on blocks of a z-stack, against what training uses.

For each block (z, y, x) and batch size, a fresh child process builds the 3-D U-Net exactly as training does
(the instance defaults with the check's filters [8, 16], the demo stacks' voxel size 1 × 0.25 × 0.25 µm,
the recipe's head, loss and optimiser: what the Model page describes), asks `describe_model` for its estimate (what the Model page shows beside the
block), trains one step on the smallest block so TensorFlow has set itself up, then trains three steps on
the block. "used" is the peak resident memory (getrusage) minus the memory before those three steps: what the
block and batch added. The estimate should be above it (it is meant to be on the safe side) but of its order.

    .venv/bin/python benchmarks/stack_training_memory.py [--blocks 8x32x32:4 8x64x64:8 ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import numpy as np
import keras
from petrilab.models import build_model, compile_model, describe_model
from petrilab.settings import defaults_for
from petrilab.recipes import get_recipe
from petrilab.tasks.segmentation.demo3d import VOXEL

z, y, x, batch = (int(v) for v in sys.argv[1:5])
s = defaults_for("instance")  # what `petrilab init` and the window start from
s.model.architecture, s.model.filters = "unet3d", [8, 16]
s.data.dimensions, s.data.voxel_size = "3d", list(VOXEL)
s.training.batch_size = batch
s.data.classes = ["background", "object"]
head = get_recipe("instance").head(s)  # the recipe's loss and metrics, as the trainer compiles
estimate = describe_model(s, (64, 64, 1), head, (z, y, x))["memory"]
model = build_model(s, (64, 64, 1), head, load_weights=False)
compile_model(model, s, head)
rng = np.random.default_rng(0)

def step(shape, n):
    xs = rng.random((n, *shape, 1), dtype=np.float32)
    ys = np.eye(head.units, dtype=np.float32)[rng.integers(0, head.units, (n, *shape))]
    model.train_on_batch(xs, ys)

step((1, 4, 4), 1)  # TensorFlow's own set-up, outside the measure
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1024 ** 2
before = rss()
for _ in range(3):
    step((z, y, x), batch)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"block": [z, y, x], "batch": batch, "estimate_mb": estimate["needed"] / 1024 ** 2,
                  "used_mb": peak - before, "params": model.count_params()}))
"""

DEFAULT_BLOCKS = ("8x32x32:4", "8x64x64:4", "8x64x64:8", "16x64x64:8", "16x128x128:4")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", nargs="*", default=list(DEFAULT_BLOCKS), help="ZxYxX:BATCH ...")
    args = parser.parse_args()
    rows = []
    for item in args.blocks:
        block, batch = item.split(":")
        z, y, x = block.split("x")
        out = subprocess.run([sys.executable, "-c", CHILD, z, y, x, batch], capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{item} failed:\n{out.stderr[-3000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"3-D U-Net of {rows[0]['params']:,} parameters")
    print("| block (z × y × x) | batch | estimate (MB) | used by training (MB) | estimate / used |")
    print("|---|---|---|---|---|")
    for r in rows:
        ratio = r["estimate_mb"] / r["used_mb"] if r["used_mb"] > 0 else float("nan")
        print(f"| {' × '.join(map(str, r['block']))} | {r['batch']} | {r['estimate_mb']:.0f} | "
              f"{r['used_mb']:.0f} | {ratio:.1f} |")


if __name__ == "__main__":
    main()
