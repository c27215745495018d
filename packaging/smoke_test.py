"""Smoke test of the FROZEN application: catches a missing hidden import before a build ships.

    python packaging/smoke_test.py [EXECUTABLE] [--backend tensorflow|torch] [--keep DIR]

EXECUTABLE defaults to dist/PetriLab/PetriLab (PetriLab.exe on Windows,
dist/PetriLab.app/Contents/MacOS/PetriLab on macOS). Headless, no Python
needed by the app itself. It runs, in a scratch folder:

  1. PetriLab --version
  2. PetriLab init on the demo images bundled inside the app
  3. PetriLab train --set training.epochs=1, with stdout and stderr closed as in
     a windowed app (Windows, macOS), so the run folder must carry everything
  4. PetriLab evaluate and PetriLab predict on that run, and its report as PDF
  5. PetriLab describe-model --serve, the helper the window keeps running
  6. the window itself (offscreen): it must open on the demo experiment and start
     its model helper from the frozen executable (no Python on the user's PC)

and checks the files each step must leave. Exit code 0 when all pass.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_FILES = ("settings.toml", "split.csv", "events.jsonl", "history.csv", "model.keras", "last.keras",
             "diagnosis.json", "evaluation.json", "report.html", "dataset_check.json", "test_predictions.csv")


class SmokeFailure(AssertionError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def default_executable() -> Path:
    if sys.platform == "darwin" and (ROOT / "dist" / "PetriLab.app").exists():
        return ROOT / "dist" / "PetriLab.app" / "Contents" / "MacOS" / "PetriLab"
    return ROOT / "dist" / "PetriLab" / ("PetriLab.exe" if os.name == "nt" else "PetriLab")


def clean_environment(home: Path, backend: str) -> dict[str, str]:
    """The user's PC: no Python paths leaking in, a fresh home folder, no display."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "KERAS_", "QT_"))}
    env.update(HOME=str(home), USERPROFILE=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               QT_QPA_PLATFORM="offscreen", KERAS_BACKEND=backend)
    return env


class Frozen:
    """Runs the frozen executable with a clean environment and times each command."""

    def __init__(self, exe: Path, env: dict[str, str], cwd: Path):
        self.exe, self.env, self.cwd = exe, env, cwd
        self.timings: dict[str, float] = {}

    def run(self, name: str, *args: str, timeout: float = 600, silent: bool = False) -> subprocess.CompletedProcess:
        started = time.monotonic()
        if silent:
            # a windowed app has no stdout or stderr at all (sys.stdout is None), not even /dev/null
            proc = subprocess.run([str(self.exe), *args], env=self.env, cwd=self.cwd, timeout=timeout,
                                  stdin=subprocess.DEVNULL, **_closed_std_streams())
            proc.stdout = proc.stderr = ""
        else:
            proc = subprocess.run([str(self.exe), *args], env=self.env, cwd=self.cwd, timeout=timeout,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True)
        self.timings[name] = round(time.monotonic() - started, 2)
        print(f"  {name}: exit {proc.returncode} in {self.timings[name]:.1f} s", flush=True)
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n", file=sys.stderr)
        check(proc.returncode == 0, f"'{name}' ended with exit code {proc.returncode}")
        return proc


def _closed_std_streams() -> dict:
    if os.name == "nt":
        # Windows: a windowed build has no standard handles; DEVNULL is the nearest we can give
        return {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    return {"preexec_fn": lambda: (os.close(1), os.close(2))}


def bundled_demo(exe: Path) -> Path:
    """The classification demo images shipped inside the application folder."""
    bundle = exe.parent.parent if exe.parent.name == "MacOS" else exe.parent
    found = sorted(bundle.rglob("resources/demo/classification"))
    check(bool(found), f"no resources/demo/classification inside {bundle}")
    return found[0]


def count_images(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.suffix.lower() in (".png", ".tif", ".tiff", ".jpg", ".jpeg"))


def smoke_engine(frozen: Frozen, work: Path, backend: str) -> dict:
    exe = frozen.exe
    proc = frozen.run("--version", "--version")
    from_app = (proc.stdout + proc.stderr).strip()
    check(from_app.startswith("PetriLab "), f"--version printed {from_app!r}")

    demo = bundled_demo(exe)
    n_images = count_images(demo)
    classes = sorted(p.name for p in demo.iterdir() if p.is_dir())
    check(n_images >= 30 and len(classes) >= 2, f"the bundled demo has {n_images} images in {classes}")
    settings = work / "demo.toml"
    frozen.run("init", "init", "--task", "classification", "--data", str(demo), "-o", str(settings))
    check(settings.is_file(), "init wrote no settings file")

    run_dir = work / "run"
    frozen.run("train (1 epoch, no stdout)", "train", str(settings), "--set", "training.epochs=1",
               "--run-dir", str(run_dir), silent=True)
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    check(not missing, f"the run folder lacks {missing}")
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    kinds = [e["event"] for e in events]
    check(kinds[0] == "started" and kinds[-1] == "finished", f"events run from {kinds[0]} to {kinds[-1]}")
    started, finished = events[0], events[-1]
    check(finished["status"] == "completed", f"the training ended {finished['status']}")
    check(started["backend"] == backend, f"trained on {started['backend']}, not {backend}")
    check("epoch_end" in kinds and "evaluation" in kinds, f"no epoch_end or evaluation event in {sorted(set(kinds))}")

    (run_dir / "evaluation.json").unlink()
    frozen.run("evaluate", "evaluate", str(run_dir))
    evaluation = json.loads((run_dir / "evaluation.json").read_text(encoding="utf-8"))
    check(evaluation["classes"] == classes and 0.0 <= evaluation["metrics"]["accuracy"] <= 1.0,
          f"evaluation.json: {evaluation.get('classes')}, {evaluation.get('metrics', {}).get('accuracy')}")

    new_images = demo / classes[0]
    out = work / "predictions"
    frozen.run("predict", "predict", str(run_dir), str(new_images), str(out))
    with open(out / "predictions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == count_images(new_images), f"{len(rows)} predictions for {count_images(new_images)} images")
    expected = {"file", "predicted_class", *(f"p_{c}" for c in classes)}
    check(expected <= set(rows[0]), f"predictions.csv columns {list(rows[0])}")
    check(all(r["predicted_class"] in classes for r in rows), "a prediction names an unknown class")
    total = sum(float(rows[0][f"p_{c}"]) for c in classes)
    check(abs(total - 1.0) < 1e-3, f"the probabilities of one image sum to {total}")

    pdf = work / "report.pdf"  # fpdf2 and its font handling travel inside the app
    frozen.run("report --pdf", "report", str(run_dir), "--pdf", "-o", str(pdf))
    check(pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-", "report --pdf wrote no PDF")
    return {"n_images": n_images, "accuracy_after_1_epoch": evaluation["metrics"]["accuracy"]}


def smoke_model_helper(frozen: Frozen) -> None:
    """The window's model helper: one JSON request in, one JSON answer out."""
    request = {"id": 1, "settings": {"task": {"kind": "classification"}}, "input_shape": [64, 64, 1], "n_classes": 3}
    started = time.monotonic()
    proc = subprocess.run([str(frozen.exe), "describe-model", "--serve"], input=json.dumps(request) + "\n",
                          env=frozen.env, cwd=frozen.cwd, capture_output=True, text=True, timeout=300)
    frozen.timings["describe-model"] = round(time.monotonic() - started, 2)
    check(proc.returncode == 0, f"describe-model ended with {proc.returncode}: {proc.stderr[-2000:]}")
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    check(answer.get("ok") and answer.get("id") == 1 and answer.get("total", 0) > 1000,
          f"describe-model answered {str(answer)[:300]}")
    print(f"  describe-model: {answer['total']:,} parameters in {frozen.timings['describe-model']:.1f} s")


def smoke_window(frozen: Frozen, home: Path, timeout: float = 180) -> None:
    """The window opens (offscreen) on the demo experiment and starts its helper from the frozen executable."""
    import psutil  # a PetriLab dependency; only this check needs it

    log_path = frozen.cwd / "window.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        window = subprocess.Popen([str(frozen.exe)], env=frozen.env, cwd=frozen.cwd, stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=subprocess.STDOUT)
    helper = None
    demo_settings = home / "PetriLab" / "demo" / "settings.toml"
    try:
        while time.monotonic() - started < timeout and helper is None:
            check(window.poll() is None,
                  f"the window closed by itself: {log_path.read_text(errors='replace')[-2000:]}")
            for child in psutil.Process(window.pid).children(recursive=True):
                try:
                    command = child.cmdline()
                except psutil.Error:
                    continue
                if "describe-model" in command:
                    helper = command
            time.sleep(0.5)
        check(helper is not None, f"no model helper started within {timeout:.0f} s")
        check(Path(helper[0]).resolve() == frozen.exe.resolve(),
              f"the window started its helper with {helper[0]}, not the frozen executable")
        check(demo_settings.is_file(), "the first start did not open the demo experiment")
        frozen.timings["window + helper"] = round(time.monotonic() - started, 2)
        print(f"  window: opened on the demo, helper started from the app in {frozen.timings['window + helper']} s")
    finally:
        try:
            for child in psutil.Process(window.pid).children(recursive=True):
                child.kill()  # our own window's children only
        except psutil.Error:
            pass  # the window has already gone
        window.kill()
        window.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("executable", nargs="?", type=Path, default=None)
    parser.add_argument("--backend", choices=("tensorflow", "torch"), default="tensorflow",
                        help="the Keras backend to train with (torch needs a build made with --torch)")
    parser.add_argument("--no-window", action="store_true", help="skip the window check (no Qt libraries)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a scratch folder)")
    parser.add_argument("--report", type=Path, help="write the timings as JSON to this file")
    args = parser.parse_args(argv)

    exe = (args.executable or default_executable()).resolve()
    if not exe.is_file():
        print(f"No frozen PetriLab at {exe}: build it first (python packaging/build.py).", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="petrilab-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir(exist_ok=True)
    frozen = Frozen(exe, clean_environment(home, args.backend), work)
    print(f"Smoke test of {exe} ({args.backend}) in {work}")
    try:
        results = smoke_engine(frozen, work, args.backend)
        smoke_model_helper(frozen)
        if not args.no_window:
            smoke_window(frozen, home)
    except (SmokeFailure, subprocess.TimeoutExpired) as exc:
        print(f"SMOKE TEST FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.report:
        args.report.write_text(json.dumps({"timings": frozen.timings, **results}, indent=2), encoding="utf-8")
    print(f"Frozen app OK: {json.dumps(frozen.timings)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
