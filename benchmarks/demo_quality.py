"""The classification demo as a new user runs it: the window's demo experiment, Start, nothing changed.

    .venv/bin/python benchmarks/demo_quality.py [--seeds 42,1,2]

Issue #14 asks that the demo's default run end with a good fit and at least 90 % test accuracy within a
minute on 2 cores. Per seed: the demo experiment exactly as the window prepares it (`prepare_demo`: the
defaults plus the data check's proposals), `petrilab train` with only `training.seed` set, then
`petrilab evaluate` (the run's own test split). Printed per seed: test accuracy, the diagnosis' verdict,
epochs, the training's wall-clock seconds and its processor seconds (user + system, which depend less on
what else the machine is doing), and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "app"))
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from guided_quality import checked, petrilab  # noqa: E402  (the command line as a user types it)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_seed(seed: int, work: Path) -> dict:
    from petrilab import runs
    from petrilab.gui.app import prepare_demo

    settings = prepare_demo(work / f"seed{seed}")
    load_before = os.getloadavg()[0]
    cpu0, t0 = children_cpu(), time.perf_counter()
    checked(petrilab("train", str(settings), "--set", f"training.seed={seed}", "--quiet"), "petrilab train")
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    run = max((settings.parent / "runs").iterdir())
    checked(petrilab("evaluate", str(run)), "petrilab evaluate")
    evaluation = json.loads((run / runs.EVALUATION).read_text(encoding="utf-8"))
    verdict = json.loads((run / runs.DIAGNOSIS).read_text(encoding="utf-8"))["verdict"]
    epochs = len((run / runs.HISTORY).read_text(encoding="utf-8").splitlines()) - 1  # one row per epoch
    return {"seed": seed, "accuracy": evaluation["metrics"]["accuracy"], "test_images": evaluation["n_images"],
            "verdict": verdict, "epochs": epochs, "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1),
            "load": f"{load_before:.1f} → {os.getloadavg()[0]:.1f}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42,1,2")
    args = parser.parse_args(argv)
    print("| seed | test accuracy | verdict | epochs | training wall s | training CPU s | load before → after |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="petrilab-demo-") as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            r = one_seed(seed, Path(tmp))
            print(f"| {r['seed']} | {r['accuracy']:.3f} ({r['test_images']} images) | {r['verdict']} | {r['epochs']} "
                  f"| {r['train_wall_s']} | {r['train_cpu_s']} | {r['load']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
