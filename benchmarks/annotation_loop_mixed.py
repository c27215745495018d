"""Which images next, on a mixed pool: a simulated person corrects predictions one image per round (issue #17,
item 6), the image chosen at random or by PetriLab's ranking (`petrilab.annotation.ranking`).

Why a second benchmark beside annotation_loop.py: on one 512² image cut into tiles every tile looks alike,
two tiles already saturate the model, and any order of tiles is as good as another. A user's folder more
often mixes kinds of images side by side; here two that the `stardist` package ships (read from the
installed package, never copied; see guided_datasets.py):

- 2-D: StarDist's 512 × 512 fluorescence nuclei image and its hand-drawn labels, cut into 64 tiles of 64²
  (annotation_loop.tiles); the same 16 tiles as there are held out, the other 48 are in the pool.
- 3-D: the planes of StarDist's (31, 61, 57) synthetic nuclei stack (`img3d.tif`, `mask3d.tif`), each
  normalised by the stack's own percentiles and padded with background to 64². Neighbouring planes are
  near copies, so the split leaves a gap: planes 2, 6, 10, ..., 30 are held out, the planes next to them
  are used by nobody, and planes 0, 4, 8, ..., 28 are in the pool.

Per seed: one random pool image starts the labelled set and a tiny U-Net (annotation_loop.unet) is trained
on it; that first model is the same for both strategies. Each round one more image is "corrected" (its
ground truth joins the training set), chosen at random or by `ranking.choose` with the latest model's
probabilities (as a user corrects the latest run's predictions), and the model is retrained from the first
model's weights on all corrected images (every round from the same start: less noise than chaining
fine-tunings) for the same number of steps whatever their number (`--steps`, batches of 8 flipped and
rotated copies; a fixed budget keeps the two strategies' trainings equally long and the run affordable). Score: the mean of the two kinds' F1 at
IoU 0.5 on their held-out images (`ObjectTally`), so a model that ignores one kind cannot score well.

    PYTHONPATH=app python benchmarks/annotation_loop_mixed.py [--seeds 0 1 2 3 4 5 6 7] [--rounds 11]

`--target-only` measures just the two points that decide the target, at a third of the cost: random at the
full budget (its picks never look at a model, so one retraining on the first 12 images of its random order
is its round-12 point: the same picks, the same training seed) and the ranking up to half the budget (each
round's model picks the next, as it must). `--merge` then pairs them seed by seed with full runs' JSON.

Target (issue #17): the ranking reaches the random choice's final F1 with at most half the corrected images.
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
from annotation_loop import HELD_OUT, TILE, f1, fit, probabilities, tiles, unet  # noqa: E402

PLANE_STEP = 4  # a held-out plane every 4 planes; pool planes 2 planes away from the nearest held-out one


def planes():
    """The 3-D stack's planes as (name, image 0..1 padded to TILE², labels) and which are held out / in the pool."""
    import tifffile
    from guided_datasets import _package_file

    stack = tifffile.imread(_package_file("stardist", "data", "images", "img3d.tif")).astype(np.float32)
    labels = tifffile.imread(_package_file("stardist", "data", "images", "mask3d.tif")).astype(np.int32)
    lo, hi = np.percentile(stack, 1), np.percentile(stack, 99.8)
    stack = np.clip((stack - lo) / (hi - lo), 0, 1)
    pad = [(0, TILE - stack.shape[1]), (0, TILE - stack.shape[2])]
    out, held, pool = [], [], []
    for z in range(stack.shape[0]):
        name = f"z{z:02d}"
        out.append((name, np.pad(stack[z], pad), np.pad(labels[z], pad)))
        if z % PLANE_STEP == 2:
            held.append(name)
        elif z % PLANE_STEP == 0:
            pool.append(name)
    return out, held, pool


def kind_of(name: str) -> str:
    return "3d" if name.startswith("z") else "2d"


def pick(strategy: str, model, pool, labelled, data, rng) -> str:
    from petrilab.annotation import ranking

    if strategy == "random":
        return str(rng.choice(sorted(pool)))
    names = sorted(pool)
    unsure = [ranking.uncertainty(p) for p in probabilities(model, names, data)]
    feats = [ranking.features(data[n][0], 0.0, 1.0) for n in names]  # every image already scaled to 0..1
    known = [ranking.features(data[n][0], 0.0, 1.0) for n in labelled]
    return ranking.choose(names, unsure, feats, known, 1)[0]


def score(model, held: dict, data) -> dict:
    per_kind = {kind: f1(model, names, data) for kind, names in held.items()}
    return {"mean": float(np.mean(list(per_kind.values()))), **per_kind}


def retrained(first, labelled, data, steps, seed):
    import keras

    model = keras.models.clone_model(first)
    model.set_weights(first.get_weights())
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    fit(model, labelled, data, max(1, round(steps / len(labelled))), seed)  # one epoch = len(labelled) steps
    return model


def table(results, seeds, strategies) -> list[str]:
    counts = results["images"]
    lines = ["| corrected images | " + " | ".join(str(n) for n in counts) + " |", "|---|" + "---|" * len(counts)]
    for s in strategies:
        curves = np.array([[c["mean"] for c in results["seeds"][sd][s]["curve"]] for sd in seeds])
        lines.append(f"| {s}, mean ± sd of {len(seeds)} seeds | "
                     + " | ".join(f"{m:.3f} ± {d:.3f}" for m, d in zip(curves.mean(0), curves.std(0, ddof=1))) + " |")
    for sd in seeds:
        for s in strategies:
            curve = results["seeds"][sd][s]["curve"]
            lines.append(f"| {s}, seed {sd} | " + " | ".join(
                f"{c['mean']:.3f} ({c['2d']:.2f}/{c['3d']:.2f})" for c in curve) + " |")
    return lines


def random_picks(start: str, pool0: list[str], rounds: int, seed: int) -> list[str]:
    """The random strategy's labelled images after `rounds` rounds: the main loop's rng calls, without models."""
    labelled, rng = [start], np.random.default_rng(1000 + seed)
    for _ in range(rounds):
        labelled.append(pick("random", None, [n for n in pool0 if n not in labelled], labelled, None, rng))
    return labelled


def target_points(results: dict) -> dict[str, tuple[float, float]]:
    """Per seed: (random at the full budget, the ranking at half of it), from a full or a --target-only run."""
    budget = results["args"]["rounds"] + 1
    half = budget // 2
    out = {}
    for seed, by_strategy in results["seeds"].items():
        if not {"random", "ranking"} <= set(by_strategy):
            continue
        if results["args"].get("target_only"):
            out[seed] = (by_strategy["random"]["points"][str(budget)]["mean"],
                         by_strategy["ranking"]["points"][str(half)]["mean"])
        else:
            counts = results["images"]
            out[seed] = (by_strategy["random"]["curve"][counts.index(budget)]["mean"],
                         by_strategy["ranking"]["curve"][counts.index(half)]["mean"])
    return out


def sign_test(ahead: int, behind: int) -> float:
    """One-sided p of at least `ahead` wins of ahead + behind fair coin tosses (ties left out)."""
    from math import comb

    n = ahead + behind
    return sum(comb(n, k) for k in range(ahead, n + 1)) / 2 ** n if n else 1.0


def target_report(runs: list[dict]) -> list[str]:
    """The target seed by seed over full and --target-only runs: ranking at half − random at the full budget.

    Criterion, fixed before the new seeds ran: met when the mean paired difference is ≥ 0 and the mean minus
    one standard error is ≥ −0.01 (the ranking at 6 is at least as good as random at 12, up to a hundredth of
    F1, with the noise taken into account); the sign test is reported beside it."""
    from scipy import stats

    full = [r for r in runs if not r["args"].get("target_only")]
    points = target_points(merged(full)) if full else {}
    for run in runs:
        if run["args"].get("target_only"):
            points.update(target_points(run))
    budget = runs[0]["args"]["rounds"] + 1
    half = budget // 2
    seeds = sorted(points, key=int)
    lines = [f"| seed | random at {budget} | ranking at {half} | ranking − random |", "|---|---|---|---|"]
    for sd in seeds:
        r, k = points[sd]
        lines.append(f"| {sd} | {r:.3f} | {k:.3f} | {k - r:+.3f} |")
    if len(seeds) < 2:  # a run of one strategy (or one seed) has nothing to pair
        return lines
    diff = np.array([points[sd][1] - points[sd][0] for sd in seeds])
    rand = np.array([points[sd][0] for sd in seeds])
    rank = np.array([points[sd][1] for sd in seeds])
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    ahead, behind = int((diff > 0).sum()), int((diff < 0).sum())
    met = diff.mean() >= 0 and diff.mean() - se >= -0.01
    lines += ["", f"{len(seeds)} seeds: random at {budget} {rand.mean():.3f} ± {rand.std(ddof=1):.3f}, ranking at "
              f"{half} {rank.mean():.3f} ± {rank.std(ddof=1):.3f} (mean ± sd); paired ranking − random "
              f"{diff.mean():+.4f} ± {se:.4f} (mean ± standard error), median {np.median(diff):+.3f}, ahead in "
              f"{ahead}, behind in {behind}, level in {len(diff) - ahead - behind}",
              f"sign test, one-sided p (ahead at least {ahead} of {ahead + behind} by chance) = {sign_test(ahead, behind):.3f}",
              f"one-sided 95 % lower bound on the mean (t, {len(diff) - 1} df): "
              f"{diff.mean() - stats.t.ppf(0.95, len(diff) - 1) * se:+.4f}",
              f"criterion mean ≥ 0 and mean − 1 se ≥ −0.01: {diff.mean():+.4f}, {diff.mean() - se:+.4f} → "
              f"target {'met' if met else 'NOT met'}"]
    return lines


def merged(runs: list[dict]) -> dict:
    """One result from runs of the same seeds that each ran some of the strategies."""
    out = dict(runs[0], seeds={})
    for run in runs:
        for seed, by_strategy in run["seeds"].items():
            out["seeds"].setdefault(str(seed), {}).update(by_strategy)
    return out


def report(results: dict) -> list[str]:
    """The table, the paired gains and the target's verdict (stored in results["target"])."""
    seeds = list(results["seeds"])
    strategies = [s for s in ("random", "ranking") if all(s in results["seeds"][sd] for sd in seeds)]
    counts = results["images"]
    lines = table(results, seeds, strategies)
    if strategies != ["random", "ranking"]:
        return lines
    curves = {s: np.array([[c["mean"] for c in results["seeds"][sd][s]["curve"]] for sd in seeds])
              for s in strategies}
    goal = float(curves["random"].mean(0)[-1])
    reached = next((n for n, v in zip(counts, curves["ranking"].mean(0)) if v >= goal), None)
    half = counts[-1] / 2
    gain = curves["ranking"] - curves["random"]
    # the same question seed by seed: the ranking at half the images against random at all of them
    at_half = curves["ranking"][:, counts.index(int(half))] - curves["random"][:, -1] if half in counts else None
    results["target"] = {"random_final_f1": goal, "ranking_reaches_it_at": reached, "half": half,
                         "met": reached is not None and reached <= half,
                         "ranking_at_half_minus_random_final": None if at_half is None else at_half.tolist()}
    lines += ["", "| paired gain, ranking − random | " + " | ".join(
        f"{m:+.3f} ± {d:.3f} ({(g > 0).sum()}/{len(g)})" for m, d, g in
        zip(gain.mean(0), gain.std(0, ddof=1), gain.T)) + " |", "",
        f"random's final F1 {goal:.4f}; the ranking reaches it at {reached} images (half of {counts[-1]} = "
        f"{half:g}): target {'met' if results['target']['met'] else 'NOT met'}"]
    if at_half is not None:
        lines.append(f"seed by seed, the ranking at {half:g} images − random at {counts[-1]}: {at_half.mean():+.3f} ± "
                     f"{at_half.std(ddof=1) / np.sqrt(len(at_half)):.3f} (mean ± standard error), ahead in "
                     f"{(at_half >= 0).sum()} of {len(at_half)} seeds")
    return lines


def target_only(first, first_score, start, pool0, held, data, args, seed, t0) -> dict:
    """One seed's two deciding points: random at the full budget, the ranking's rounds up to half of it."""
    out = {}
    budget = args.rounds + 1
    if "random" in args.strategies:
        labelled = random_picks(start, pool0, args.rounds, seed)
        # the main loop's last round is r = rounds − 1, retrained with seed * 100 + r
        model = retrained(first, labelled, data, args.steps, seed * 100 + args.rounds - 1)
        out["random"] = {"points": {"1": first_score, str(budget): score(model, held, data)}, "picks": labelled}
        last = out["random"]["points"][str(budget)]
        print(f"  random   {budget:2d} images, F1 {last['mean']:.3f} ({last['2d']:.3f}/{last['3d']:.3f}) "
              f"[{time.perf_counter() - t0:.0f} s]", flush=True)
    if "ranking" in args.strategies:
        labelled, model, points = [start], first, {"1": first_score}
        for r in range(budget // 2 - 1):
            pool = [n for n in pool0 if n not in labelled]
            labelled.append(pick("ranking", model, pool, labelled, data, None))
            model = retrained(first, labelled, data, args.steps, seed * 100 + r)
            points[str(len(labelled))] = last = score(model, held, data)
            print(f"  ranking  {len(labelled):2d} images, F1 {last['mean']:.3f} ({last['2d']:.3f}/{last['3d']:.3f}) "
                  f"+{labelled[-1]} [{time.perf_counter() - t0:.0f} s]", flush=True)
        out["ranking"] = {"points": points, "picks": labelled}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--rounds", type=int, default=11, help="images corrected after the first one")
    parser.add_argument("--first-epochs", type=int, default=60)
    parser.add_argument("--steps", type=int, default=120, help="retraining steps per round")
    parser.add_argument("--strategies", nargs="+", default=["random", "ranking"])
    parser.add_argument("--target-only", action="store_true",
                        help="only random at the full budget and the ranking up to half of it (see the docstring)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--merge", type=Path, nargs="+", default=None,
                        help="only report: the --json files of runs of the same seeds with other strategies")
    args = parser.parse_args()
    if args.merge:
        runs = [json.loads(p.read_text()) for p in args.merge]
        if any(r["args"].get("target_only") for r in runs):
            print("\n".join(target_report(runs)))
        else:
            print("\n".join(report(merged(runs))))
        return 0

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    flat = tiles()
    names2d = sorted(n for n, _, _ in flat)
    held2d = sorted(np.random.default_rng(1234).choice(names2d, size=HELD_OUT, replace=False).tolist())
    stack_planes, held3d, pool3d = planes()
    data = {name: (x, y) for name, x, y in flat + stack_planes}
    held = {"2d": held2d, "3d": held3d}
    pool0 = [n for n in names2d if n not in held2d] + pool3d
    objects = {k: sum(len(np.unique(data[n][1])) - 1 for n in v) for k, v in held.items()}
    print(f"pool: {len(pool0) - len(pool3d)} 2-D tiles + {len(pool3d)} planes; held out: {len(held2d)} tiles "
          f"({objects['2d']} nuclei), {len(held3d)} planes ({objects['3d']} nuclei)", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    results = {"args": {k: v for k, v in vars(args).items() if k != "json"}, "held_out": held,
               "images": list(range(1, args.rounds + 2)), "seeds": {}}
    for seed in args.seeds:
        start = str(np.random.default_rng(seed).choice(pool0))
        first = unet(seed)
        fit(first, [start], data, args.first_epochs, seed)
        first_score = score(first, held, data)
        print(f"seed {seed}: start {start}, F1 {first_score['mean']:.3f} "
              f"(2-D {first_score['2d']:.3f}, 3-D {first_score['3d']:.3f})", flush=True)
        results["seeds"][seed] = {}
        if args.target_only:
            results["seeds"][seed] = target_only(first, first_score, start, pool0, held, data, args, seed, t0)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1))
            continue
        for strategy in args.strategies:
            labelled, rng = [start], np.random.default_rng(1000 + seed)
            curve, model = [first_score], first
            for r in range(args.rounds):
                pool = [n for n in pool0 if n not in labelled]
                labelled.append(pick(strategy, model, pool, labelled, data, rng))
                model = retrained(first, labelled, data, args.steps, seed * 100 + r)
                curve.append(score(model, held, data))
                print(f"  {strategy:8s} {len(labelled):2d} images, F1 {curve[-1]['mean']:.3f} "
                      f"({curve[-1]['2d']:.3f}/{curve[-1]['3d']:.3f}) +{labelled[-1]} "
                      f"[{time.perf_counter() - t0:.0f} s]", flush=True)
            results["seeds"][seed][strategy] = {"curve": curve, "picks": labelled}
        if args.json:  # after every seed, so a run cut short still leaves its finished seeds
            args.json.write_text(json.dumps(results, indent=1))
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["cpu_seconds"] = round(time.process_time() - c0, 1)

    print("\n" + "\n".join(target_report([results]) if args.target_only else report(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
