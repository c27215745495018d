"""Does training ever wait for its data? The input pipeline against the training step (issue #20 item 3).

For each case, PetriLab's own batches for the training images (`recipe.inputs`, as `petrilab train`
makes them: decoding, augmentation, patches, streaming from disk) and its default network for the task:

- pipeline alone: the seconds to make one epoch of batches (each batch asked for in turn, nothing trained);
- step alone: the seconds of one epoch of `train_on_batch` on those same batches made beforehand;
- fit: the epoch time of `model.fit` on the batches as Keras gets them (the TensorFlow backend prefetches
  a PyDataset's batches in a thread of its own while the step runs), median of epochs 2 and later.

`fit / step` near 1.0 means the step never waits for data; the pipeline's share of the step says how much
room the overlap has on two cores (both compete for the same processors).

    .venv/bin/python benchmarks/input_pipeline.py [--epochs 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CASES = {  # name: (task, settings changed from init's, what it shows)
    "classification, flips + rotation + brightness, in memory":
        ("classification", {"augmentation.rotation": 30.0, "augmentation.brightness": 0.1}, None),
    "classification, streamed from disk (data.load = stream)":
        ("classification", {"data.load": "stream"}, None),
    "instance segmentation, patches + elastic, in memory": ("instance", {}, None),
    "instance segmentation, patches + elastic, streamed": ("instance", {"data.load": "stream"}, None),
}


def prepared(task: str, changes: dict, work: Path):
    """Settings as `petrilab init` writes them for the task's demo data, decided from the data as training does."""
    from petrilab import settings as settings_io
    from petrilab.demo import make_demo
    from petrilab.recipes import get_recipe
    from petrilab.training.trainer import _prepare_data

    data = work / f"data_{task}"
    if not data.exists():  # one demo folder per task, shared by its cases
        make_demo(task, data)
    settings = settings_io.defaults_for(task)
    settings.data.folder = str(data)
    for key, value in changes.items():
        section, name = key.split(".")
        setattr(getattr(settings, section), name, value)
    recipe = get_recipe(task)
    run_dir = work / f"run_{task}_{len(list(work.iterdir()))}"
    run_dir.mkdir()
    ready = _prepare_data(recipe, settings, run_dir, resume=False, warnings=[])
    return settings, recipe, ready


def measure(task: str, changes: dict, epochs: int, work: Path) -> dict:
    import keras
    import numpy as np

    from petrilab.models import build_model, compile_model

    settings, recipe, ready = prepared(task, changes, work)
    samples = ready.split.subset("train")
    data = recipe.inputs(samples, ready.prep, settings, training=True)
    batches = data["x"]
    head = recipe.head(settings)
    model = build_model(settings, (*ready.prep.image_size, ready.prep.channels), head)
    compile_model(model, settings, head)
    n = len(batches)

    start = time.perf_counter()
    made = [batches[i] for i in range(n)]
    pipeline = time.perf_counter() - start

    def step_epoch() -> float:
        start = time.perf_counter()
        for batch in made:
            model.train_on_batch(*batch[:2])
        return time.perf_counter() - start

    step_epoch()  # tracing
    step = statistics.median(step_epoch() for _ in range(2))

    class Ends(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    ends: list[float] = []
    model.fit(batches, epochs=epochs, verbose=0, callbacks=[Ends()])
    fit = statistics.median(b - a for a, b in zip(ends, ends[1:]))
    shape = np.shape(made[0][0])
    return {"batches": n, "batch": shape, "pipeline": pipeline, "step": step, "fit": fit}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()

    import keras

    keras.config.disable_interactive_logging()
    work = Path(tempfile.mkdtemp(prefix="petrilab-pipeline-"))
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    print("| case | batches × shape | pipeline alone s | step alone s | model.fit epoch s | fit / step | "
          "pipeline / step |")
    print("|---|---|---|---|---|---|---|")
    for name, (task, changes, _) in CASES.items():
        r = measure(task, changes, args.epochs, work)
        print(f"| {name} | {r['batches']} × {tuple(r['batch'])} | {r['pipeline']:.2f} | {r['step']:.2f} | "
              f"{r['fit']:.2f} | {r['fit'] / r['step']:.2f} | {r['pipeline'] / r['step']:.2f} |", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
