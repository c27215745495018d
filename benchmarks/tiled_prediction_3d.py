"""Tiled prediction of a large z-stack: peak memory and throughput (issue #18: 128 × 1024 × 1024).

A one-channel stack goes through PetriLab's default 3-D U-Net for stacks (`models/unet3d.py`, filters
[8, 16], planes 4× farther apart than pixels; random weights: speed and memory do not depend on
training) with `prediction.tiling3d.predict_tiled_3d`, against the network alone on the same voxels
(the stack in tiles side by side, no overlap, no blending), in the same run. The output is written
into a memory-mapped file (`--in-memory` keeps it in RAM), and the stack itself is read from a
memory-mapped file, as a stack larger than memory would be.

Memory, after a warm-up on a small stack so that TensorFlow's start-up is not counted: the process's
resident memory (psutil RSS sampled every 10 ms), peak during the prediction minus the level just
before it; the output's and the input's sizes are printed beside it.

    .venv/bin/python benchmarks/tiled_prediction_3d.py [--shape 128,1024,1024] [--tile 16,256,256]
                                                       [--overlap 4,32,32] [--in-memory]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tiled_prediction import PeakRSS  # noqa: E402

ANISOTROPY = 4.0


def build_network():
    from petrilab import settings as settings_io
    from petrilab.models.unet3d import DEFAULT_FILTERS_3D, build_unet3d
    from petrilab.tasks import OutputHead

    model = settings_io.defaults_for("instance").model
    model.filters = list(DEFAULT_FILTERS_3D)
    head = OutputHead(3, "softmax", "crossentropy", ("iou",), "iou")  # background, inside, outline
    return build_unet3d(model, 1, head, anisotropy=ANISOTROPY), f"3-D U-Net, filters {model.filters}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="128,1024,1024")
    parser.add_argument("--tile", default="16,256,256")
    parser.add_argument("--overlap", default="4,32,32")
    parser.add_argument("--in-memory", action="store_true", help="keep the output in RAM, not in a mapped file")
    args = parser.parse_args()
    shape, tile, overlap = (tuple(int(v) for v in text.split(",")) for text in (args.shape, args.tile, args.overlap))

    import keras
    import numpy as np

    from petrilab.data.anisotropy import size_multiples
    from petrilab.models.unet3d import DEFAULT_FILTERS_3D
    from petrilab.prediction.tiling3d import axis_plan, predict_tiled_3d

    keras.config.disable_interactive_logging()
    model, described = build_network()
    n_outputs = int(model.output.shape[-1])
    multiples = size_multiples(len(DEFAULT_FILTERS_3D), ANISOTROPY)  # the sides the poolings halve evenly

    def on_batch(tiles):
        return np.asarray(model.predict_on_batch(tiles), dtype=np.float32)

    folder = Path(tempfile.mkdtemp(prefix="petrilab-stack-"))
    stack = np.lib.format.open_memmap(folder / "stack.npy", mode="w+", dtype=np.uint16, shape=shape + (1,))
    rng = np.random.default_rng(0)
    for z in range(shape[0]):  # written plane by plane: never the whole stack in memory
        stack[z] = rng.integers(0, 4096, size=shape[1:] + (1,), dtype=np.uint16)
    stack.flush()
    plans = [axis_plan(n, t, o, m) for n, t, o, m in zip(shape, tile, overlap, multiples)]
    used = tuple(p[0] for p in plans)
    n_tiles = int(np.prod([len(p[2]) for p in plans]))
    print(f"{described}; {model.count_params():,} parameters; stack {'×'.join(map(str, shape))} uint16 "
          f"({np.prod(shape) * 2 / 2**20:.0f} MB, memory-mapped); tiles {'×'.join(map(str, used))}, overlap "
          f"{'×'.join(str(p[1]) for p in plans)}, {n_tiles} tiles", flush=True)

    # warm-up: graph tracing for the tile shape, and the bare network's tile
    predict_tiled_3d(on_batch, np.zeros((used[0], 2 * used[1], 2 * used[2], 1), np.float32), tile, overlap,
                     n_outputs, multiples=multiples)

    def bare() -> float:
        """The network alone on the same voxels: the stack in tiles side by side (no overlap, no blending)."""
        start = time.perf_counter()
        for z in range(0, shape[0] - used[0] + 1, used[0]):
            for y in range(0, shape[1] - used[1] + 1, used[1]):
                for x in range(0, shape[2] - used[2] + 1, used[2]):
                    on_batch(stack[np.newaxis, z:z + used[0], y:y + used[1], x:x + used[2]].astype(np.float32))
        covered = (shape[0] // used[0] * used[0]) * (shape[1] // used[1] * used[1]) * (shape[2] // used[2] * used[2])
        return covered / 1e6 / (time.perf_counter() - start)

    out = (None if args.in_memory else
           np.lib.format.open_memmap(folder / "probabilities.npy", mode="w+", dtype=np.float32,
                                     shape=shape + (n_outputs,)))
    before_speed = bare()
    with PeakRSS() as rss:
        before = rss.peak
        start = time.perf_counter()
        result = predict_tiled_3d(on_batch, stack, tile, overlap, n_outputs, batch_size=2, multiples=multiples,
                                  out=out)
        seconds = time.perf_counter() - start
    reference = (before_speed + bare()) / 2
    assert result.shape == shape + (n_outputs,) and np.isfinite(result[::16, ::64, ::64]).all()
    speed = np.prod(shape) / 1e6 / seconds
    output_mb = np.prod(shape) * n_outputs * 4 / 2**20
    print(f"tiled: {seconds:.1f} s, {speed:.2f} megavoxels/s = {speed / reference:.2f} × the network alone "
          f"({reference:.2f} megavoxels/s); peak RSS +{(rss.peak - before) / 2**20:.0f} MB "
          f"(output {output_mb:.0f} MB {'in memory' if args.in_memory else 'memory-mapped'}); "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    del result, out, stack
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
