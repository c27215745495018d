"""Instance prediction of a large image on the CPU: PetriLab against StarDist's `predict_instances` (issue #20).

Both networks are trained briefly on StarDist's 2-D nuclei image, as in
`nuclei_quality.py` (its training functions, the same tiles, the same
processor-time budget each; install the `bench` extra first). The speed
of a prediction does not depend on how well the network learnt, but a
trained network finds real objects, so the post-processing has real work.

The large image is the 512 × 512 nuclei image mirrored side by side
(flipped copies, so no seams) up to `--sizes` pixels a side. Each method
is warmed up first (graph tracing for its tile shapes: PetriLab on the same
image, StarDist on a corner of it, its tiles being the same), then timed in
two parts:

- PetriLab: the network (the recipe's `probabilities`: tiles, network,
  blending, as `petrilab predict`) and the post-processing (the recipe's
  `decide`: seeded watershed, holes, sizes);
- StarDist: `predict_instances` with the tiles StarDist itself guesses for the
  image (`_guess_n_tiles`: its training patch times its batch), split where
  it says 'nms': before, the network and the sparse candidates; after, the
  non-maximum suppression and the label image.

Each part's peak resident memory (psutil, sampled every 10 ms) is given as the
increase over the level just before that part. Trained models are kept in
`--work`, so a second run with the same folder predicts only.

    .venv/bin/python benchmarks/instance_speed.py [--budget 120] [--sizes 2048 4096] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from nuclei_quality import (SPLIT_ROW, load_nuclei, petrilab_train, read_split, relabel,  # noqa: E402
                            stardist_train, write_dataset)  # (run as a script: benchmarks/ is on the path)
from tiled_prediction import PeakRSS  # noqa: E402


def mirrored(image: np.ndarray, side: int) -> np.ndarray:
    """`image` repeated up to side × side, every other copy flipped so that neighbours meet without a seam."""
    h, w = image.shape[:2]
    rows = []
    for i in range(-(-side // h)):
        row = [image[::(-1 if i % 2 else 1), ::(-1 if j % 2 else 1)] for j in range(-(-side // w))]
        rows.append(np.concatenate(row, axis=1))
    return np.ascontiguousarray(np.concatenate(rows, axis=0)[:side, :side])


def timed(call, *args):
    """(result, seconds, peak RSS increase in MB) of call(*args)."""
    with PeakRSS() as rss:
        before = rss.peak
        start = time.perf_counter()
        result = call(*args)
        seconds = time.perf_counter() - start
    return result, seconds, (rss.peak - before) / 2**20


def petrilab_predict(trained, image: np.ndarray) -> dict:
    recipe, post = trained.recipe, trained.settings.postprocess
    probs, net_s, net_mb = timed(recipe.probabilities, trained, image[:, :, np.newaxis], False)
    (_, labels), post_s, post_mb = timed(recipe.decide, probs, post)
    return {"labels": labels, "network_s": net_s, "network_mb": net_mb, "post_s": post_s, "post_mb": post_mb}


def stardist_predict(model, image: np.ndarray) -> dict:
    """predict_instances through its generator, timed up to its 'nms' step and after it."""
    from csbdeep.utils import normalize

    x = normalize(image, 1, 99.8, axis=(0, 1))
    n_tiles = model._guess_n_tiles(x)
    rss = PeakRSS().__enter__()
    level, start, marks = rss.peak, time.perf_counter(), {}
    for step in model._predict_instances_generator(x, n_tiles=n_tiles, show_tile_progress=False):
        if step == "nms":  # the network's part ends: its peak, then a fresh sampler for the rest
            rss.__exit__(None, None, None)
            marks.update(network_s=time.perf_counter() - start, network_mb=(rss.peak - level) / 2**20)
            rss = PeakRSS().__enter__()
            level, start = rss.peak, time.perf_counter()
        result = step
    rss.__exit__(None, None, None)
    labels = result[0]
    return {"labels": relabel(labels), "n_tiles": n_tiles, **marks, "post_s": time.perf_counter() - start,
            "post_mb": (rss.peak - level) / 2**20}


def trained_models(work: Path, budget: float):
    """PetriLab's run and StarDist's model, trained under the budget unless `work` holds them already."""
    from petrilab.prediction.trained_model import TrainedModel
    from stardist.models import StarDist2D

    image, labels = load_nuclei()
    data_dir, run_dir = work / "train", work / "petrilab-run"
    if not data_dir.exists():
        write_dataset(image[:SPLIT_ROW], relabel(labels[:SPLIT_ROW]), data_dir)
    names = sorted(p.stem for p in (data_dir / "images").glob("*.tif"))
    if not (run_dir / "model.keras").exists():
        wall, cpu = petrilab_train(data_dir, run_dir, budget)
        print(f"PetriLab trained: {wall:.0f} s, {cpu:.0f} processor seconds", flush=True)
    if not (work / "stardist" / "thresholds.json").exists():
        _, info = stardist_train(data_dir, names, read_split(run_dir), work, budget)
        print(f"StarDist trained: {info}", flush=True)
    return TrainedModel(run_dir), StarDist2D(None, name="stardist", basedir=str(work)), image


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=120.0, help="processor seconds of training for each")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--work", type=Path, help="folder for the trained models (kept; reused when present)")
    parser.add_argument("--skip-stardist", action="store_true")
    args = parser.parse_args()

    import keras

    keras.config.disable_interactive_logging()
    work = args.work or Path(tempfile.mkdtemp(prefix="petrilab-instance-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    trained, stardist, nuclei = trained_models(work, args.budget)
    print(f"models in {work}; load average {os.getloadavg()[0]:.1f}", flush=True)

    rows = []
    for side in args.sizes:
        image = mirrored(nuclei, side)
        # warm-up: graph tracing for the tile shapes (PetriLab's depend on the image's size; StarDist's
        # are its 256-pixel blocks whatever the size, so a corner of the image will do)
        methods = {"PetriLab": (lambda: petrilab_predict(trained, image),) * 2}
        if not args.skip_stardist:
            methods["StarDist"] = (lambda: stardist_predict(stardist, image[:1024, :1024]),
                                   lambda: stardist_predict(stardist, image))
        for name, (warm_up, run) in methods.items():
            warm_up()
            load = os.getloadavg()[0]
            r = run()
            total = r["network_s"] + r["post_s"]
            rows.append((side, name, r, total, load))
            extra = f", {r['n_tiles']} tiles" if "n_tiles" in r else ""
            print(f"{side}² {name}: {int(r['labels'].max())} objects{extra}; network {r['network_s']:.1f} s "
                  f"(+{r['network_mb']:.0f} MB), post-processing {r['post_s']:.1f} s (+{r['post_mb']:.0f} MB), "
                  f"total {total:.1f} s; load {load:.1f}", flush=True)

    print("\n| image | method | objects | network | post-processing | total | network share | "
          "peak RSS + (network / post) | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for side, name, r, total, load in rows:
        print(f"| {side}² | {name} | {int(r['labels'].max())} | {r['network_s']:.1f} s | {r['post_s']:.1f} s | "
              f"**{total:.1f} s** | {r['network_s'] / total:.0%} | +{r['network_mb']:.0f} / +{r['post_mb']:.0f} MB | "
              f"{load:.1f} |")
    totals = {(side, name): total for side, name, _, total, _ in rows}
    for side in args.sizes:
        if (side, "StarDist") in totals:
            print(f"{side}²: PetriLab / StarDist time = {totals[side, 'PetriLab'] / totals[side, 'StarDist']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
