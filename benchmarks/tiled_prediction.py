"""Tiled prediction of a large image: peak memory and throughput.

A 4096 × 4096 one-channel image goes through PetriLab's default instance
segmentation U-Net (random weights: speed and memory do not depend on
training) with `prediction.tiling.predict_tiled`, as `petrilab predict`
does it (`recipe.prediction_tiles`: the largest tile memory allows plus the
overlap, overlap 64, the network called with predict_on_batch), with other largest
tiles asked for (`--also-tile`), and as it did before (256-pixel tiles,
overlap 64, 4 tiles per `model.predict` call; `--skip-before` leaves it out);
all against the network alone on the
same pixels (the image in 1024-pixel tiles side by side, no overlap, no blending),
in the same run.

Memory is measured two ways, after a warm-up on a small image so that
TensorFlow's one-off start-up is not counted:
- the process's resident memory (psutil RSS, sampled every 10 ms): peak
  during the prediction minus the level just before it;
- tracemalloc's peak of Python/numpy allocations during the prediction
  (the output array, tiles and weights; not TensorFlow's own buffers).

    .venv/bin/python benchmarks/tiled_prediction.py [--size 4096] [--tile 0] [--overlap 0] [--repeats 2] [--memmap]
        [--skip-before] [--also-tile 1088]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import tracemalloc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class PeakRSS:
    """Samples the process's resident memory in a thread; `peak` is the highest seen."""

    def __init__(self, interval: float = 0.01):
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self):
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def build_network(channels: int):
    """PetriLab's default instance-segmentation network, or a small fully convolutional one before U-Net exists."""
    import keras

    from petrilab import settings as settings_io

    settings = settings_io.defaults_for("instance")
    try:
        from petrilab.models import build_model
        from petrilab.recipes import get_recipe

        recipe = get_recipe("instance")
        settings.data.classes = ["background", "object"]
        head = recipe.head(settings)
        model = build_model(settings, (256, 256, channels), head)
        return model, 2 ** len(settings.model.filters), f"PetriLab U-Net, filters {settings.model.filters}"
    except Exception as exc:  # the U-Net is not there yet: a stand-in of similar depth
        print(f"(no PetriLab U-Net: {exc.__class__.__name__}: {exc}; using a stand-in)")
        inputs = keras.Input((None, None, channels))
        x, skips = inputs, []
        for f in (16, 32, 64):
            x = keras.layers.Conv2D(f, 3, padding="same", activation="relu")(x)
            skips.append(x)
            x = keras.layers.MaxPooling2D()(x)
        for f in (64, 32, 16):
            x = keras.layers.UpSampling2D()(x)
            x = keras.layers.Concatenate()([x, skips.pop()])
            x = keras.layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        outputs = keras.layers.Conv2D(3, 1, activation="softmax")(x)
        return keras.Model(inputs, outputs), 8, "stand-in fully convolutional net (3 levels)"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--tile", type=int, default=0, help="0: the largest tile petrilab predict takes here")
    parser.add_argument("--overlap", type=int, default=0, help="0: as petrilab predict with 128-pixel patches")
    parser.add_argument("--skip-before", action="store_true", help="leave out the old way (256-pixel tiles)")
    parser.add_argument("--also-tile", type=int, nargs="*", default=[],
                        help="other largest tiles to time in the same run (e.g. 1088: 1024 plus the overlap)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--memmap", action="store_true", help="write the output into a memory-mapped file")
    args = parser.parse_args()

    import keras
    import numpy as np

    from petrilab.prediction.tiling import predict_tiled, tile_plan
    from petrilab.tasks.segmentation.recipe import PREDICT_PIXELS, prediction_tiles

    keras.config.disable_interactive_logging()
    model, multiple, described = build_network(1)
    n_outputs = int(model.output.shape[-1])
    (largest, _), overlap = prediction_tiles([128, 128], multiple)
    largest, args.overlap = args.tile or largest, args.overlap or overlap
    batch = max(1, PREDICT_PIXELS // largest ** 2)

    def on_batch(tiles):  # as petrilab predict calls the network
        return np.asarray(model.predict_on_batch(tiles), dtype=np.float32)

    def through_predict(tiles):  # as it did before 2026-12-05
        return np.asarray(model.predict(tiles, verbose=0, batch_size=len(tiles)), dtype=np.float32)

    rng = np.random.default_rng(0)
    image = rng.random((args.size, args.size, 1), dtype=np.float32)
    (th, tw), used_overlap, rows, cols = tile_plan(image.shape[:2], (largest, largest), args.overlap, multiple)
    (oh, ow), _, old_rows, old_cols = tile_plan(image.shape[:2], (256, 256), 64, multiple)
    ways = {  # name: (tile, overlap, tiles per call, how the network is called)
        f"petrilab predict: largest tile {largest}, used {th}×{tw}, overlap {used_overlap[0]}, "
        f"{len(rows) * len(cols)} tiles, {batch} a call": ((largest, largest), args.overlap, batch, on_batch),
        f"before: 256 × 256 tiles, overlap 64, {len(old_rows) * len(old_cols)} tiles, 4 a call, model.predict":
            ((256, 256), 64, 4, through_predict),
    }
    for other in args.also_tile:  # other largest tiles, the same overlap, in the same run
        (ah, aw), _, also_rows, also_cols = tile_plan(image.shape[:2], (other, other), args.overlap, multiple)
        ways[f"largest tile {other}, used {ah}×{aw}, {len(also_rows) * len(also_cols)} tiles, 1 a call"] = (
            (other, other), args.overlap, 1, on_batch)
    if args.skip_before:
        del ways[next(name for name in ways if name.startswith("before"))]
    print(f"{described}; {model.count_params():,} parameters; image {args.size}×{args.size}")
    for tile, overlap, per_call, call in ways.values():  # warm-up: graph tracing for every tile shape used
        predict_tiled(call, image, tile, overlap, n_outputs, per_call, multiple=multiple)
    on_batch(image[np.newaxis, :1024, :1024])  # the network alone's tile shape

    def bare() -> float:
        """The network alone on the same pixels: the image in 1024-pixel tiles side by side (no overlap, no
        blending; padded only where 1024 does not divide the image)."""
        side = 1024
        padded = np.pad(image, ((0, -args.size % side), (0, -args.size % side), (0, 0)), mode="reflect")
        start, cpu = time.perf_counter(), time.process_time()
        for y in range(0, padded.shape[0], side):
            for x in range(0, padded.shape[1], side):
                on_batch(padded[np.newaxis, y:y + side, x:x + side])
        bare_cpu.append(time.process_time() - cpu)
        return args.size ** 2 / 1e6 / (time.perf_counter() - start)

    bare_cpu: list[float] = []  # processor seconds of each run of the network alone (steadier on a busy machine)

    output_mb = args.size * args.size * n_outputs * 4 / 2**20
    for repeat in range(args.repeats):
        print(f"run {repeat + 1}:")
        for name, (tile, overlap, per_call, call) in ways.items():
            out = None
            if args.memmap:
                path = os.path.join(tempfile.mkdtemp(prefix="petrilab-tiles-"), "probs.npy")
                out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                                shape=(args.size, args.size, n_outputs))
            before_speed = bare()  # the network alone just before and just after: the load changes
            tracemalloc.start()
            with PeakRSS() as rss:
                before = rss.peak
                start, cpu = time.perf_counter(), time.process_time()
                result = predict_tiled(call, image, tile, overlap, n_outputs, per_call, multiple=multiple, out=out)
                seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            reference = (before_speed + bare()) / 2
            assert result.shape == (args.size, args.size, n_outputs) and np.isfinite(result[::64, ::64]).all()
            speed = args.size ** 2 / 1e6 / seconds
            cpu_ratio = (bare_cpu[-1] + bare_cpu[-2]) / 2 / cpu
            print(f"  {name}: {seconds:.1f} s, {speed:.3f} megapixels/s = {speed / reference:.2f} × the network "
                  f"alone ({reference:.3f}; in processor time {cpu_ratio:.2f} ×, {cpu:.0f} s against "
                  f"{bare_cpu[-2]:.0f} / {bare_cpu[-1]:.0f} s; load {os.getloadavg()[0]:.1f}); "
                  f"peak RSS +{(rss.peak - before) / 2**20:.0f} MB, tracemalloc peak {traced_peak / 2**20:.0f} MB "
                  f"(output array alone: {output_mb:.0f} MB"
                  f"{', memory-mapped' if args.memmap else ''})", flush=True)
            del result, out
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
