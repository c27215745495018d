"""Epoch time of `petrilab train` against a hand-written `model.fit`, in one run.

Both train the same model (built by PetriLab's catalogue) on the same
images held in memory, with a validation set, for the same epochs.
PetriLab's extra work — events, history, checkpoints, live diagnosis —
is what the ratio measures. The first epoch (graph tracing) is left out.

    .venv/bin/python benchmarks/epoch_time.py [--images 1500] [--epochs 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1500, help="images per class")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import keras
    import numpy as np

    from petrilab import settings as settings_io
    from petrilab.data.batches import load_arrays
    from petrilab.data.discovery import discover
    from petrilab.data.preprocess import Preprocessing
    from petrilab.data.split import make_split
    from petrilab.demo import make_classification_demo
    from petrilab.models import build_model, compile_model
    from petrilab.tasks import output_head
    from petrilab.training.trainer import train

    keras.config.disable_interactive_logging()
    work = Path(tempfile.mkdtemp(prefix="petrilab-bench-"))
    data_dir = make_classification_demo(work / "data", n_per_class=args.images // 3, size=64, seed=1)

    settings = settings_io.defaults_for("classification")
    settings.name = "bench"
    settings.data.folder = str(data_dir)
    settings.data.channels = 1
    settings.data.load = "memory"
    settings.split.test_fraction = 0.0
    settings.training.epochs = args.epochs
    for key in ("flip_horizontal", "flip_vertical", "rotate_90"):
        setattr(settings.augmentation, key, False)  # the plain loop has none either

    dataset = discover("classification", data_dir)
    split = make_split(dataset, settings.split)
    prep = Preprocessing.from_settings(settings.data, 1)
    n_classes = len(dataset.classes)
    x_train, y_train = load_arrays(split.subset("train"), prep, n_classes)
    x_val, y_val = load_arrays(split.subset("validation"), prep, n_classes)
    head = output_head("classification", n_classes)

    # Epoch time = gap between consecutive epoch ends, so everything done
    # between epochs (PetriLab's checkpoints, history, diagnosis) counts.
    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.time())

    def plain_fit() -> list[float]:
        keras.utils.set_random_seed(settings.training.seed)
        model = build_model(settings, x_train.shape[1:], head)
        compile_model(model, settings, head)
        timer = EpochTimer()
        timer.ends = []
        model.fit(x_train, y_train, batch_size=settings.training.batch_size, epochs=args.epochs,
                  validation_data=(x_val, y_val), shuffle=True, verbose=0, callbacks=[timer])
        return [b - a for a, b in zip(timer.ends, timer.ends[1:])]

    def petrilab_fit() -> list[float]:
        from petrilab import runs
        from petrilab.events import read_all

        run_dir = train(settings, runs_dir=work / "runs", echo=False)
        ends = [e["time"] for e in read_all(run_dir / runs.EVENTS) if e["event"] == "epoch_end"]
        return [b - a for a, b in zip(ends, ends[1:])]

    plain, ours = [], []
    for _ in range(args.repeats):  # alternate, so drift of the machine hits both alike
        plain += plain_fit()
        ours += petrilab_fit()
    p, o = statistics.median(plain), statistics.median(ours)
    print(f"images: {len(x_train)} train, {len(x_val)} validation, 64x64x1; batch {settings.training.batch_size}; "
          f"{args.epochs} epochs x {args.repeats} repeats")
    print(f"plain keras model.fit : median epoch {p:.3f} s")
    print(f"petrilab train        : median epoch {o:.3f} s")
    print(f"ratio petrilab/plain  : {o / p:.3f}  (target <= 1.05, issue #20)")
    print(f"peak RSS              : {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
