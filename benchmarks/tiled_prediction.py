"""Tiled prediction of a large image: peak memory and throughput.

A 4096 × 4096 one-channel image goes through PetriLab's default instance
segmentation U-Net (random weights: speed and memory do not depend on
training) with `prediction.tiling.predict_tiled`, as `petrilab predict`
does it (256-pixel tiles, a quarter overlap, 4 tiles per batch).

Memory is measured two ways, after a warm-up on a small image so that
TensorFlow's one-off start-up is not counted:
- the process's resident memory (psutil RSS, sampled every 10 ms): peak
  during the prediction minus the level just before it;
- tracemalloc's peak of Python/numpy allocations during the prediction
  (the output array, tiles and weights; not TensorFlow's own buffers).

    .venv/bin/python benchmarks/tiled_prediction.py [--size 4096] [--tile 256] [--repeats 2] [--memmap]
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
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=0, help="0: a quarter of the tile, as petrilab predict")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--memmap", action="store_true", help="write the output into a memory-mapped file")
    args = parser.parse_args()

    import keras
    import numpy as np

    from petrilab.prediction.tiling import predict_tiled, tile_plan

    keras.config.disable_interactive_logging()
    model, multiple, described = build_network(1)
    n_outputs = int(model.output.shape[-1])
    overlap = args.overlap or args.tile // 4

    def predict_batch(batch):
        return np.asarray(model.predict(batch, verbose=0, batch_size=len(batch)), dtype=np.float32)

    rng = np.random.default_rng(0)
    predict_tiled(predict_batch, rng.random((600, 600, 1), dtype=np.float32), (args.tile, args.tile), overlap,
                  n_outputs, args.batch, multiple=multiple)  # warm-up: graph tracing, thread pools
    image = rng.random((args.size, args.size, 1), dtype=np.float32)
    (th, tw), used_overlap, rows, cols = tile_plan(image.shape[:2], (args.tile, args.tile), overlap, multiple)
    print(f"{described}; {model.count_params():,} parameters; image {args.size}×{args.size}; "
          f"tiles {th}×{tw}, overlap {used_overlap[0]}, {len(rows) * len(cols)} tiles, batch {args.batch}")

    output_mb = args.size * args.size * n_outputs * 4 / 2**20
    results = []
    for repeat in range(args.repeats):
        out = None
        if args.memmap:
            path = os.path.join(tempfile.mkdtemp(prefix="petrilab-tiles-"), "probs.npy")
            out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                            shape=(args.size, args.size, n_outputs))
        tracemalloc.start()
        with PeakRSS() as rss:
            before = rss.peak
            start = time.perf_counter()
            result = predict_tiled(predict_batch, image, (args.tile, args.tile), overlap, n_outputs, args.batch,
                                   multiple=multiple, out=out)
            seconds = time.perf_counter() - start
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result.shape == (args.size, args.size, n_outputs) and np.isfinite(result[::64, ::64]).all()
        results.append({"seconds": seconds, "mpx_per_s": args.size ** 2 / 1e6 / seconds,
                        "rss_delta_mb": (rss.peak - before) / 2**20, "traced_mb": traced_peak / 2**20})
        print(f"run {repeat + 1}: {seconds:.1f} s, {results[-1]['mpx_per_s']:.2f} megapixels/s, "
              f"peak RSS +{results[-1]['rss_delta_mb']:.0f} MB, tracemalloc peak {results[-1]['traced_mb']:.0f} MB "
              f"(output array alone: {output_mb:.0f} MB{', memory-mapped' if args.memmap else ''})")
        del result, out
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
