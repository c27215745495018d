"""What the "which images next" ranking measures, on the tiles of benchmarks/annotation_loop.py (issue #17).

Per seed, the loop's first model (trained on the seed's 2 start tiles) predicts the 46 pool tiles. For each
tile: the plain mean over pixels of the normalised entropy (ranking.uncertainty before this study), the
per-class mean (ranking.uncertainty now), the foreground share of its ground truth, and the distance to
the labelled tiles in `ranking.features` space; printed as Spearman correlations. With --oracle, each tile
is also added alone to the start tiles and the first model fine-tuned on them (30 epochs, as a round of
the loop does): the held-out F1 gained is what correcting that tile would have been worth, and the table
says how well each measure predicts it (46 fine-tunings per seed: slow on a loaded machine).

    python benchmarks/annotation_ranking_study.py [--seeds 0 1] [--oracle] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import annotation_loop as loop  # noqa: E402  (also puts app/ on the path)
import numpy as np  # noqa: E402


def mean_entropy(p: np.ndarray) -> float:
    q = np.clip(p, 1e-12, 1.0)
    return float((-(q * np.log(q)).sum(-1) / np.log(q.shape[-1])).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--oracle", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import keras
    import tensorflow as tf
    from scipy.stats import spearmanr

    from petrilab.annotation import ranking

    tf.config.threading.set_intra_op_parallelism_threads(2)
    data = {name: (x, y) for name, x, y in loop.tiles()}
    names = sorted(data)
    held = sorted(np.random.default_rng(1234).choice(names, size=loop.HELD_OUT, replace=False).tolist())
    pool0 = [n for n in names if n not in held]
    out = {}
    for seed in args.seeds:
        start = [str(n) for n in np.random.default_rng(seed).choice(pool0, size=2, replace=False)]
        first = loop.unet(seed)
        loop.fit(first, start, data, 60, seed)
        f0 = loop.f1(first, held, data)
        pool = [n for n in pool0 if n not in start]
        probs = loop.probabilities(first, pool, data)
        known = [ranking.features(data[n][0], 0, 1) for n in start]
        rows = {}
        for n, p in zip(pool, probs):
            f = ranking.features(data[n][0], 0, 1)
            rows[n] = {"mean_entropy": mean_entropy(p), "per_class": ranking.uncertainty(p),
                       "foreground": float((data[n][1] > 0).mean()),
                       "distance": float(min(np.linalg.norm(f - k) for k in known))}
            if args.oracle:
                model = keras.models.clone_model(first)
                model.set_weights(first.get_weights())
                model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
                loop.fit(model, start + [n], data, 30, seed * 100)
                rows[n]["gain"] = loop.f1(model, held, data) - f0
        out[seed] = {"start": start, "f1": f0, "tiles": rows}
        measures = ["mean_entropy", "per_class", "distance"]
        against = ["foreground"] + (["gain"] if args.oracle else [])
        print(f"\nseed {seed}: start {start}, first model F1 {f0:.3f}")
        print("| Spearman | " + " | ".join(against) + " |\n|---|" + "---|" * len(against))
        for m in measures:
            r = [spearmanr([t[m] for t in rows.values()], [t[a] for t in rows.values()]).statistic for a in against]
            print(f"| {m} | " + " | ".join(f"{v:+.2f}" for v in r) + " |")
        if args.oracle:
            g = np.array([t["gain"] for t in rows.values()])
            for m in ("mean_entropy", "per_class"):
                top = sorted(rows, key=lambda n: -rows[n][m])[:6]
                print(f"F1 gained by the 6 tiles {m} puts first: mean {np.mean([rows[n]['gain'] for n in top]):+.3f} "
                      f"(all tiles {g.mean():+.3f}, the best 6 {np.sort(g)[-6:].mean():+.3f})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
