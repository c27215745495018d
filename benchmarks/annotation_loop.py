"""Which images next, measured: a simulated person corrects a model's predictions round after round
(issue #17, item 6), the images to correct chosen at random or by PetriLab's ranking
(`petrilab.annotation.ranking`: the model unsure + unlike the images already labelled).

The image: StarDist's 512 × 512 fluorescence nuclei image and its hand-drawn instance labels
(`stardist/data/images/img2d.tif`, `mask2d.tif`, read from the installed package, never copied; see
guided_datasets.py), cut into 64 tiles of 64 × 64. 16 tiles, the same for every seed and strategy, are
held out for testing; the other 48 are the unlabelled pool. A "correction" hands the tile's ground
truth to the training set, as a person who fixed the prediction perfectly would.

Per seed: a tiny U-Net (3 classes: background, nucleus interior, outline; objects = the interiors'
connected components grown into the nucleus pixels) is trained from scratch on `--start` random tiles.
Then, per round, each strategy picks `--k` more tiles from the pool, the model is fine-tuned from the
previous round's weights (the way `model.start_from` continues a run) on all tiles corrected so far, and
scored: F1 at IoU 0.5 over all objects of the held-out tiles (`tasks/segmentation/metrics.ObjectTally`).
Both strategies start from the same first model in a seed.

    python benchmarks/annotation_loop.py [--seeds 0 1 2] [--rounds 5] [--k 2] [--start 2]

Target (issue #17): the ranking reaches the random choice's final F1 with at most half the corrected
images.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

import numpy as np  # noqa: E402

TILE = 64
HELD_OUT = 16


def tiles():
    from guided_datasets import nuclei_image

    image, labels = nuclei_image()
    x = image.astype(np.float32)
    lo, hi = np.percentile(x, 1), np.percentile(x, 99.8)
    x = np.clip((x - lo) / (hi - lo), 0, 1)
    out = []
    for r in range(0, image.shape[0], TILE):
        for c in range(0, image.shape[1], TILE):
            out.append((f"r{r:03d}c{c:03d}", x[r:r + TILE, c:c + TILE], labels[r:r + TILE, c:c + TILE]))
    return out


def target(labels: np.ndarray) -> np.ndarray:
    from skimage.segmentation import find_boundaries

    t = (labels > 0).astype(np.int32)
    t[find_boundaries(labels, mode="inner") & (labels > 0)] = 2
    return t


def unet(seed: int):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((TILE, TILE, 1))
    c1 = layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    c1 = layers.Conv2D(16, 3, padding="same", activation="relu")(c1)
    c2 = layers.Conv2D(32, 3, padding="same", activation="relu")(layers.MaxPooling2D()(c1))
    c2 = layers.Conv2D(32, 3, padding="same", activation="relu")(c2)
    c3 = layers.Conv2D(64, 3, padding="same", activation="relu")(layers.MaxPooling2D()(c2))
    u2 = layers.Concatenate()([layers.UpSampling2D()(c3), c2])
    u2 = layers.Conv2D(32, 3, padding="same", activation="relu")(u2)
    u1 = layers.Concatenate()([layers.UpSampling2D()(u2), c1])
    u1 = layers.Conv2D(16, 3, padding="same", activation="relu")(u1)
    out = layers.Conv2D(3, 1, activation="softmax")(u1)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    return model


def dihedral(x: np.ndarray, y: np.ndarray):
    xs, ys = [], []
    for k in range(4):
        for flip in (False, True):
            a, b = np.rot90(x, k), np.rot90(y, k)
            if flip:
                a, b = a[:, ::-1], b[:, ::-1]
            xs.append(a)
            ys.append(b)
    return xs, ys


def fit(model, chosen, data, epochs: int, seed: int):
    xs, ys = [], []
    for name in chosen:
        a, b = dihedral(data[name][0], target(data[name][1]))
        xs += a
        ys += b
    x = np.stack(xs)[..., None]
    y = np.stack(ys)[..., None]
    import keras

    keras.utils.set_random_seed(seed)
    model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, shuffle=True)


def probabilities(model, names, data) -> np.ndarray:
    x = np.stack([data[n][0] for n in names])[..., None]
    return model.predict_on_batch(x)


def instances(probs: np.ndarray) -> np.ndarray:
    from scipy import ndimage
    from skimage.segmentation import expand_labels

    decided = probs.argmax(-1)
    seeds, _ = ndimage.label(decided == 1)
    grown = expand_labels(seeds, distance=3) * (decided > 0)
    sizes = np.bincount(grown.ravel())
    grown[sizes[grown] < 12] = 0
    return grown


def f1(model, names, data) -> float:
    from petrilab.tasks.segmentation.metrics import ObjectTally

    tally = ObjectTally((0.5,))
    for name, p in zip(names, probabilities(model, names, data)):
        tally.add(data[name][1], instances(p))
    return float(tally.scores()["summary"]["f1"])


def pick(strategy: str, model, pool, labelled, data, k: int, rng) -> list[str]:
    from petrilab.annotation import ranking

    if strategy == "random":
        return [str(n) for n in rng.choice(sorted(pool), size=k, replace=False)]
    names = sorted(pool)
    probs = probabilities(model, names, data)
    unsure = [ranking.uncertainty(p) for p in probs]
    lo, hi = 0.0, 1.0  # the tiles are already scaled to 0..1
    feats = [ranking.features(data[n][0], lo, hi) for n in names]
    known = [ranking.features(data[n][0], lo, hi) for n in labelled]
    return ranking.choose(names, unsure, feats, known, k)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--start", type=int, default=2)
    parser.add_argument("--first-epochs", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=30, help="fine-tuning epochs per round")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    all_tiles = tiles()
    data = {name: (x, y) for name, x, y in all_tiles}
    names = sorted(data)
    held = sorted(np.random.default_rng(1234).choice(names, size=HELD_OUT, replace=False).tolist())
    pool0 = [n for n in names if n not in held]
    print(f"{len(names)} tiles, {len(held)} held out ({sum(len(np.unique(data[n][1])) - 1 for n in held)} "
          f"nuclei), pool {len(pool0)}", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    results = {"args": {k: v for k, v in vars(args).items() if k != "json"}, "held_out": held, "seeds": {}}
    for seed in args.seeds:
        rng0 = np.random.default_rng(seed)
        start = [str(n) for n in rng0.choice(pool0, size=args.start, replace=False)]
        first = unet(seed)
        fit(first, start, data, args.first_epochs, seed)
        first_f1 = f1(first, held, data)
        print(f"seed {seed}: start {start}, F1 {first_f1:.3f}", flush=True)
        results["seeds"][seed] = {}
        for strategy in ("random", "ranking"):
            model = keras.models.clone_model(first)
            model.set_weights(first.get_weights())
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
            labelled = list(start)
            rng = np.random.default_rng(1000 + seed)
            curve = [(len(labelled), first_f1)]
            picks = []
            for r in range(args.rounds):
                pool = [n for n in pool0 if n not in labelled]
                new = pick(strategy, model, pool, labelled, data, args.k, rng)
                picks.append(new)
                labelled += new
                fit(model, labelled, data, args.epochs, seed * 100 + r)
                curve.append((len(labelled), f1(model, held, data)))
                print(f"  {strategy:8s} round {r + 1}: {len(labelled)} images, F1 {curve[-1][1]:.3f} "
                      f"(+{new}) [{time.perf_counter() - t0:.0f} s]", flush=True)
            results["seeds"][seed][strategy] = {"curve": curve, "picks": picks}
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["cpu_seconds"] = round(time.process_time() - c0, 1)

    counts = [n for n, _ in results["seeds"][args.seeds[0]]["random"]["curve"]]
    mean = {s: [float(np.mean([results["seeds"][sd][s]["curve"][i][1] for sd in args.seeds]))
                for i in range(len(counts))] for s in ("random", "ranking")}
    results["mean"] = {"images": counts, **mean}
    goal = mean["random"][-1]
    reached = next((n for n, v in zip(counts, mean["ranking"]) if v >= goal), None)
    results["target"] = {"random_final_f1": goal, "ranking_reaches_it_at": reached,
                         "half": counts[-1] / 2, "met": reached is not None and reached <= counts[-1] / 2}
    print("\n| corrected images | " + " | ".join(str(n) for n in counts) + " |")
    print("|---|" + "---|" * len(counts))
    for s in ("random", "ranking"):
        print(f"| {s} (mean of {len(args.seeds)} seeds) | " + " | ".join(f"{v:.3f}" for v in mean[s]) + " |")
    for sd in args.seeds:
        for s in ("random", "ranking"):
            print(f"| {s}, seed {sd} | " + " | ".join(f"{v:.3f}" for _, v in results['seeds'][sd][s]['curve']) + " |")
    print(f"\nrandom's final F1 {goal:.3f}; the ranking reaches it at {reached} images "
          f"(half of {counts[-1]} = {counts[-1] / 2:g}): target {'met' if results['target']['met'] else 'NOT met'}")
    print(f"{results['seconds']} s wall, {results['cpu_seconds']} s CPU")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
