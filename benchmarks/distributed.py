"""Epoch time of one training shared between two devices against one device, on this machine's CPU.

Without GPUs, the several-device path (TensorFlow's MirroredStrategy) runs on
the processor split into two logical devices (PETRILAB_LOGICAL_CPUS=2). Both
runs are the same experiment: the bundled demo (resources/demo/classification),
the default ConvNet, the same batch of one update (one device: --batch;
two devices: --batch / 2 each). Each run is a `petrilab train` in its own
process, alternately, so drift of the machine hits both alike. Epoch time is
the gap between consecutive epoch ends (the first epoch, graph tracing, is
left out); CPU time is the child process's user + system seconds.

Two logical devices share the same cores, so this measures the cost of the
strategy (splitting each batch, one model copy per device, averaging the
gradients, building the per-device input iterators every epoch), not a
speed-up: that needs real GPUs.

    .venv/bin/python benchmarks/distributed.py [--epochs 6] [--repeats 2] [--batch 32]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo" / "classification"


def run(settings: Path, run_dir: Path, devices: int, batch: int, epochs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PETRILAB_LOGICAL_CPUS"}
    env["KERAS_BACKEND"] = "tensorflow"
    if devices > 1:
        env["PETRILAB_LOGICAL_CPUS"] = str(devices)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "petrilab", "train", str(settings), "--run-dir", str(run_dir), "--quiet",
                    "--set", f"training.epochs={epochs}", "--set", f"training.batch_size={batch // devices}",
                    "--set", "split.test_fraction=0.0"], env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    ends = [e["time"] for e in events if e["event"] == "epoch_end"]
    started = next(e for e in events if e["event"] == "started")
    return {"epochs": [b - a for a, b in zip(ends, ends[1:])], "distribution": started["distribution"],
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "val_accuracy": [e["metrics"]["val_accuracy"] for e in events if e["event"] == "epoch_end"][-1]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32, help="images per update (both runs)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="petrilab-distributed-"))
    settings = work / "settings.toml"
    subprocess.run([sys.executable, "-m", "petrilab", "init", "--task", "classification", "--data", str(DEMO),
                    "-o", str(settings)], check=True, capture_output=True)
    results: dict[int, list[dict]] = {1: [], 2: []}
    for repeat in range(args.repeats):
        for devices in (1, 2):
            results[devices].append(run(settings, work / f"run-{devices}-{repeat}", devices, args.batch,
                                        args.epochs))
    print(f"demo classification, default ConvNet, {args.batch} images per update, {args.epochs} epochs x "
          f"{args.repeats} repeats, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    medians = {}
    for devices, runs in results.items():
        medians[devices] = statistics.median(t for r in runs for t in r["epochs"])
        cpu = statistics.median(r["cpu"] for r in runs)
        print(f"{devices} device(s): {runs[0]['distribution']}")
        print(f"  median epoch {medians[devices]:.3f} s, CPU time per run {cpu:.1f} s, "
              f"last val_accuracy {[round(r['val_accuracy'], 3) for r in runs]}")
    print(f"ratio two/one: {medians[2] / medians[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
