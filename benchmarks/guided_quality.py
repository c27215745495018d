"""Expert results without expertise? Seven public datasets, each trained three ways, on the same test set.

    .venv/bin/pip install -e ".[bench]"      # stardist (its nuclei image) and scikit-learn (digits)
    .venv/bin/python benchmarks/guided_quality.py [--datasets digits,nuclei_count] [--seeds 3]
        [--ways a,b,c] [--tune-budget 10] [--quick] [--work DIR] [--no-record]

(a) a hand-written Keras notebook of the workshop's kind (`guided_notebook.py`, written once);
(b) PetriLab with `petrilab init`'s settings and nothing else, through the command line
    (init → train → evaluate; the test metric from evaluation.json);
(c) `petrilab tune SETTINGS --budget MINUTES` from the same settings ("not available" when this
    PetriLab has no tune command).
The datasets (`guided_datasets.py`) are written as DATA/train and DATA/test: every way tests on the
same files, and (a) trains and validates on exactly the images PetriLab's split gives (b). Seeds vary
the training (weights, batches, augmentation), not the data. Results: a markdown table appended to
benchmarks/RESULTS.md (date, machine, commit) and every number in benchmarks/guided_quality.json.
--quick: tiny datasets and 2 epochs, a smoke run only (its numbers mean nothing, and it records nothing).
If tune fails, (c) reads "failed: …" for that dataset and the other ways' numbers still count.

The whole comparison in one command (about 40 min for (a) + (b) on 2 idle cores, plus 7 datasets × 3
seeds × the tune budget for (c)):
    python benchmarks/guided_quality.py
or (c) alone, joined to the (a) and (b) numbers recorded in guided_quality.json:
    python benchmarks/guided_quality.py --ways c --json /tmp/guided_c.json --no-record
    python benchmarks/guided_quality.py --merge benchmarks/guided_quality.json /tmp/guided_c.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO / "app")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

import guided_datasets  # noqa: E402

WAYS = {"a": "hand-written Keras notebook", "b": "PetriLab, init's settings", "c": "PetriLab tune"}
QUICK_EPOCHS = 2


# ---------------------------------------------------------------- the command line, as a user types it


def petrilab(*words: str, cwd: Path | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "app"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "petrilab", *words], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def checked(done: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def init_settings(ds, folder: Path) -> Path:
    out = folder / "settings.toml"
    checked(petrilab("init", "--task", ds.task, "--data", str(ds.train), "--test-data", str(ds.test),
                     "-o", str(out), "--force"), f"petrilab init ({ds.name})")
    return out


def tune_available() -> bool:
    return petrilab("tune", "--help").returncode == 0


# ---------------------------------------------------------------- the same split for every way


def petrilab_split(ds) -> dict[str, str]:
    """file → train | validation | test, exactly as PetriLab's split makes it from init's settings."""
    from petrilab import settings as settings_io
    from petrilab.data.split import make_split
    from petrilab.recipes import get_recipe

    settings = settings_io.defaults_for(ds.task)
    recipe = get_recipe(ds.task)
    split = make_split(recipe.discover(settings, ds.train), settings.split, test_dataset=recipe.discover(settings, ds.test))
    return {str(s.path.resolve()): subset for s, subset in split.assignments}


def run_split(run_dir: Path) -> dict[str, str]:
    with open(run_dir / "split.csv", newline="", encoding="utf-8") as f:
        return {str(Path(row["file"]).resolve()): row["subset"] for row in csv.DictReader(f)}


# ---------------------------------------------------------------- scoring, one definition for every way


def score(ds, truth, predicted) -> dict:
    """The dataset's metrics from true and predicted values, with PetriLab's definitions."""
    if ds.task == "classification":
        return {"accuracy": float(np.mean(np.asarray(truth) == np.asarray(predicted)))}
    if ds.task == "regression":
        t, p = np.asarray(truth, float), np.asarray(predicted, float)
        out = {"mae": float(np.mean(np.abs(t - p)))}  # PetriLab: the mean over targets of each target's MAE
        if ds.metric == "position_error":
            out["position_error"] = float(np.mean(np.sqrt(((t - p) ** 2).sum(axis=1))))
        return out
    from petrilab.tasks.segmentation.metrics import ObjectTally, PixelTally

    if ds.task == "semantic":
        tally = PixelTally(["background"] + [f"class {i}" for i in range(1, int(np.max(truth)) + 1)])
        for t, p in zip(truth, predicted):
            tally.add(t, p)
        return {"iou": tally.scores()["metrics"]["mean_iou"]}
    objects = ObjectTally()
    for t, p in zip(truth, predicted):
        objects.add(t, p)
    s = objects.scores()["summary"]
    return {"object_f1": s["f1"], "average_precision": s["average_precision"]}


def position_error_of_run(run_dir: Path) -> float:
    with open(run_dir / "test_predictions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    d = [np.hypot(float(r["true_x"]) - float(r["predicted_x"]), float(r["true_y"]) - float(r["predicted_y"]))
         for r in rows]
    return float(np.mean(d))


# ---------------------------------------------------------------- the three ways


def way_a(ds, split: dict[str, str], seed: int, quick: bool) -> dict:
    import guided_notebook as notebook

    def subset(name):
        files = {f for f, s in split.items() if s == name}
        return notebook.load(ds.test if name == "test" else ds.train, ds.task, files)

    train, validation, test = subset("train"), subset("validation"), subset("test")
    t0 = time.perf_counter()
    predicted, history = notebook.train_and_predict(ds.task, ds.flip_invariant, train[:2], validation[:2],
                                                    test[:2], seed, epochs=QUICK_EPOCHS if quick else None)
    seconds = time.perf_counter() - t0
    val = history["val_loss"]
    return {**score(ds, test[1], predicted), "seconds": round(seconds, 1), "epochs": len(val),
            "best_epoch": int(np.argmin(val)) + 1, "n_train": len(train[2]), "n_validation": len(validation[2]),
            "n_test": len(test[2]), "test_files": sorted(test[2])}


def run_facts(run_dir: Path) -> dict:
    """What the findings need from a PetriLab run: its settings, curves and verdict."""
    import tomllib

    settings = tomllib.loads((run_dir / "settings.toml").read_text(encoding="utf-8"))
    with open(run_dir / "history.csv", newline="", encoding="utf-8") as f:
        history = list(csv.DictReader(f))
    diagnosis = json.loads((run_dir / "diagnosis.json").read_text(encoding="utf-8"))
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    started = next((e for e in events if e["event"] == "started"), {})
    val = [float(r["val_loss"]) for r in history]
    last = history[-1]
    return {"settings": {k: settings[k] for k in ("data", "model", "augmentation", "training", "postprocess")
                         if k in settings},
            "parameters": started.get("parameters"), "epochs": len(history), "best_epoch": int(np.argmin(val)) + 1,
            "last_epoch": {k: float(v) for k, v in last.items() if k != "epoch" and v not in ("", None)},
            "verdict": diagnosis.get("verdict") or diagnosis.get("kind"), "diagnosis": diagnosis}


def way_b(ds, settings: Path, folder: Path, seed: int, quick: bool) -> dict:
    run_dir = folder / f"b_seed{seed}"
    extra = ["--set", f"training.seed={seed}"] + (["--set", f"training.epochs={QUICK_EPOCHS}"] if quick else [])
    t0 = time.perf_counter()
    checked(petrilab("train", str(settings), "--run-dir", str(run_dir), "--quiet", *extra), f"petrilab train ({ds.name})")
    seconds = time.perf_counter() - t0
    checked(petrilab("evaluate", str(run_dir)), f"petrilab evaluate ({ds.name})")
    return {**metrics_of_run(ds, run_dir), "seconds": round(seconds, 1), "run_dir": str(run_dir), **run_facts(run_dir)}


def metrics_of_run(ds, run_dir: Path) -> dict:
    m = json.loads((run_dir / "evaluation.json").read_text(encoding="utf-8"))["metrics"]
    out = {k: m[k] for k in ("accuracy", "balanced_accuracy", "macro_f1", "mae", "rmse", "r2", "iou", "object_f1",
                             "average_precision") if k in m}
    if ds.metric == "position_error":
        out["position_error"] = position_error_of_run(run_dir)
    out["test_files"] = sorted(f for f, s in run_split(run_dir).items() if s == "test")
    return out


def way_c(ds, settings: Path, folder: Path, seed: int, budget: float) -> dict:
    """`petrilab tune` on a copy of init's settings (only the seed changed), then evaluate its chosen run."""
    from petrilab import settings as settings_io

    here = folder / f"c_seed{seed}"
    here.mkdir(parents=True, exist_ok=True)
    chosen = settings_io.load(settings)
    chosen.training.seed = seed
    copy = settings_io.save(chosen, here / "settings.toml")
    t0 = time.perf_counter()
    done = checked(petrilab("tune", str(copy), "--budget", f"{budget:g}", cwd=here, timeout=budget * 60 * 3 + 600),
                   f"petrilab tune ({ds.name})")
    seconds = time.perf_counter() - t0
    run_dir = tune_choice(done.stdout + "\n" + done.stderr, here)
    checked(petrilab("evaluate", str(run_dir)), f"petrilab evaluate ({ds.name}, tuned)")
    return {**metrics_of_run(ds, run_dir), "seconds": round(seconds, 1), "run_dir": str(run_dir), **run_facts(run_dir)}


def tune_choice(output: str, here: Path) -> Path:
    """The trial run folder tune kept: `best` in the tuning folder's tuning.json (the folder named on the
    'Tuning folder:' line tune prints, else the newest one under `here/runs`)."""
    from petrilab import runs
    from petrilab.tuning.records import TUNING_JSON

    named = [Path(line.split(":", 1)[1].strip()) for line in output.splitlines() if line.startswith("Tuning folder:")]
    folders = named or sorted((here / "runs").glob(f"*/{TUNING_JSON}"), key=lambda p: p.stat().st_mtime)
    for folder in reversed(folders):
        folder = folder if folder.is_dir() else folder.parent
        summary = folder / TUNING_JSON
        if summary.is_file():
            best = json.loads(summary.read_text(encoding="utf-8")).get("best") or {}
            run = folder / best.get("run_folder", "")
            if best and (run / runs.BEST_MODEL).is_file():
                return run.resolve()
    raise RuntimeError(f"petrilab tune kept no run with a model (in {here}):\n{output[-2000:]}")


# ---------------------------------------------------------------- one dataset, every seed and way


def bench_dataset(name: str, work: Path, seeds: list[int], ways: list[str], budget: float, quick: bool,
                  tune_ok: bool) -> dict:
    folder = work / name
    ds = guided_datasets.build(name, folder / "data", quick)
    settings = init_settings(ds, folder)
    split = petrilab_split(ds)
    result = {"kind": ds.kind, "task": ds.task, "metric": ds.metric, "higher_is_better": ds.higher_is_better,
              "flip_invariant": ds.flip_invariant, "source": ds.source, "n_train_folder": ds.n_train,
              "n_test": ds.n_test, "init_settings": settings.read_text(encoding="utf-8"), "runs": {w: [] for w in ways}}
    tests = []
    for seed in seeds:
        for way in ways:
            if way == "c" and not tune_ok:
                result["runs"]["c"] = "not available: this PetriLab has no 'petrilab tune' command"
                continue
            if way == "c" and isinstance(result["runs"]["c"], str):
                continue  # tune failed on an earlier seed
            print(f"[{time.strftime('%H:%M:%S')}] {name}: way ({way}), seed {seed} …", flush=True)
            if way == "a":
                r = way_a(ds, split, seed, quick)
            elif way == "b":
                r = way_b(ds, settings, folder, seed, quick)
                if {f: s for f, s in run_split(Path(r["run_dir"])).items()} != split:
                    raise RuntimeError(f"{name}: PetriLab's split differs from the one (a) trained on")
            else:
                try:
                    r = way_c(ds, settings, folder, seed, budget)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:  # the other ways' numbers still count
                    result["runs"]["c"] = f"failed: {str(exc).splitlines()[0]}"
                    print(f"    (c) {result['runs']['c']}", flush=True)
                    continue
            tests.append(r.pop("test_files"))
            r["seed"] = seed
            result["runs"][way].append(r)
            print(f"    {ds.metric} = {r[ds.metric]:.4f} ({r['seconds']} s)", flush=True)
    if any(t != tests[0] for t in tests):
        raise RuntimeError(f"{name}: the ways were not tested on the same images")
    result["same_test_set"] = bool(tests)
    for way, runs in result["runs"].items():
        if isinstance(runs, list) and runs:
            result.setdefault("summary", {})[way] = summary_of([r[ds.metric] for r in runs],
                                                               [r["seconds"] for r in runs])
    return result


def summary_of(values: list[float], seconds: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values, "seconds": statistics.fmean(seconds)}


# ---------------------------------------------------------------- the record


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.node()} ({os.cpu_count()} cores, {platform.machine()}, no GPU used; load {load:.1f} at the end)"


def commit() -> str:
    def git(*words):
        return subprocess.run(["git", *words], cwd=REPO, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "--", "app") else "")


def table(results: dict, ways: list[str], seeds: list[int]) -> str:
    head = "| dataset | kind | test metric | " + " | ".join(f"({w}) {WAYS[w]}" for w in ways) + " |"
    lines = [head, "|" + "---|" * (3 + len(ways))]
    for name, r in results.items():
        arrow = "↑" if r["higher_is_better"] else "↓"
        cells = []
        for w in ways:
            s, runs = r.get("summary", {}).get(w), r["runs"].get(w)
            note = runs if isinstance(runs, str) else "not run"
            spread = "" if not s else f" ± {s['sd']:.3f}" if len(s.get("values", [])) > 1 else " (1 seed)"
            cells.append(f"{s['mean']:.3f}{spread} ({s['seconds']:.0f} s)" if s else note[:60])
        lines.append(f"| {name} | {r['kind']} | {r['metric']} {arrow} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\nmean ± sd over the seeds each way ran ({', '.join(map(str, seeds))}); time = " \
                              "training (and tuning) per seed."


def command_line(results: dict, ways: list[str], seeds: list[int], budget: float) -> str:
    return (f"python benchmarks/guided_quality.py --datasets {','.join(results)} --seeds {len(seeds)} "
            f"--ways {','.join(ways)}" + (f" --tune-budget {budget:g}" if "c" in ways else ""))


def record(results: dict, ways: list[str], seeds: list[int], command: str, duration: str) -> None:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (f"\n### {now} — commit {commit()}, {machine()}; {duration}\n\n"
            f"Command: `{command}`\n\n{table(results, ways, seeds)}\n")
    path = HERE / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    title = "## Quality: a hand-written notebook, PetriLab's defaults and tuning (`benchmarks/guided_quality.py`)"
    if title not in text:
        text = text.rstrip("\n") + f"\n\n{title}\n\nSee the script's docstring and `guided_datasets.py` for the data.\n"
    path.write_text(text.rstrip("\n") + "\n" + body, encoding="utf-8")
    print(f"Appended to {path}")


def merge(args) -> int:
    """One table from several runs of this script: each dataset's ways gathered from every file."""
    results, seeds, ways, quick = {}, [], [], False
    for path in args.merge:
        part = json.loads(path.read_text(encoding="utf-8"))
        quick |= part["quick"]
        seeds = sorted(set(seeds) | set(part["seeds"]))
        ways += [w for w in part["ways"] if w not in ways]
        for name, r in part["results"].items():
            mine = results.setdefault(name, {**r, "runs": {}, "summary": {}})
            for way, runs in r["runs"].items():
                have = mine["runs"].get(way)
                if isinstance(runs, list) and isinstance(have, list):  # a later file's seeds join, a seed run again wins
                    runs = sorted({x["seed"]: x for x in have + runs}.values(), key=lambda x: x["seed"])
                if runs:
                    mine["runs"][way] = runs
    for r in results.values():  # the spread of what was joined
        r["summary"] = {}
        for way, runs in r["runs"].items():
            if isinstance(runs, list) and runs:
                r["summary"][way] = summary_of([x[r["metric"]] for x in runs], [x["seconds"] for x in runs])
    ways = [w for w in WAYS if w in ways]
    args.json.write_text(json.dumps({"quick": quick, "seeds": seeds, "ways": ways, "merged": [str(p) for p in args.merge],
                                     "commit": commit(), "machine": machine(), "results": results},
                                    indent=1, default=str), encoding="utf-8")
    print(table(results, ways, seeds))
    if not quick and not args.no_record:
        runs = [r for res in results.values() for v in res["runs"].values() if isinstance(v, list) for r in v]
        record(results, ways, seeds, "python benchmarks/guided_quality.py --merge " + " ".join(map(str, args.merge)),
               f"{sum(r['seconds'] for r in runs) / 60:.0f} min of training in all")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(guided_datasets.NAMES))
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds (1, 2, … n) per way")
    parser.add_argument("--first-seed", type=int, default=1, help="start the seeds here (more seeds for a way)")
    parser.add_argument("--ways", default="a,b,c")
    parser.add_argument("--tune-budget", type=float, default=10.0, help="minutes per tune run (c)")
    parser.add_argument("--quick", action="store_true", help="tiny datasets, 2 epochs: a smoke run (records nothing)")
    parser.add_argument("--work", type=Path, help="keep the datasets and runs in this folder")
    parser.add_argument("--json", type=Path, default=HERE / "guided_quality.json")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                        help="train nothing: join earlier runs' JSON files (other datasets or ways) into one table")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args)
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    if unknown := [w for w in ways if w not in WAYS] + [n for n in names if n not in guided_datasets.NAMES]:
        parser.error(f"unknown ways or datasets: {', '.join(unknown)}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    tune_ok = "c" in ways and tune_available()
    if "c" in ways and not tune_ok:
        print("(c) not available: this PetriLab has no 'petrilab tune' command.", flush=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="petrilab-guided-"))
    started, results = time.time(), {}
    for name in names:
        results[name] = bench_dataset(name, work, seeds, ways, args.tune_budget, args.quick, tune_ok)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"quick": args.quick, "seeds": seeds, "ways": ways, "work": str(work),
                                         "commit": commit(), "machine": machine(), "results": results},
                                        indent=1, default=str), encoding="utf-8")
    print("\n" + table(results, ways, seeds))
    if not args.quick and not args.no_record:
        record(results, ways, seeds, command_line(results, ways, seeds, args.tune_budget),
               f"{(time.time() - started) / 60:.0f} min in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
