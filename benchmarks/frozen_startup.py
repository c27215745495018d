"""Start-up time of the FROZEN app: process start → main window shown, and `--version`.

    python benchmarks/frozen_startup.py [EXECUTABLE] [--runs 3] [--json OUT]

EXECUTABLE defaults to dist/PetriLab/PetriLab (build it with packaging/build.py).
The window is a real X11 window: without a display the script restarts itself
under Xvfb (xvfb-run, 1280×800). "Shown" is the moment X reports a PetriLab
window as viewable (xwininfo, Debian package x11-utils), polled every 20 ms.
Each run uses a fresh home folder: the first start (demo data prepared, tour
shown) and a second start in the same home (the demo experiment reopened).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1280, 800


def _under_xvfb() -> None:
    if os.environ.get("DISPLAY") or os.environ.get("PETRILAB_STARTUP_CHILD"):
        return
    if shutil.which("xvfb-run") is None:
        sys.exit("No display and no xvfb-run: apt-get install xvfb x11-utils, or run on a desktop.")
    env = dict(os.environ, PETRILAB_STARTUP_CHILD="1")
    sys.exit(subprocess.call(["xvfb-run", "-a", "-s", f"-screen 0 {WIDTH}x{HEIGHT}x24", sys.executable, *sys.argv],
                             env=env))


def viewable_petrilab_window() -> bool:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
    for window_id in re.findall(r"^\s+(0x[0-9a-f]+) \"[^\"]*PetriLab[^\"]*\"", tree, flags=re.M):
        info = subprocess.run(["xwininfo", "-id", window_id], capture_output=True, text=True).stdout
        if "Map State: IsViewable" in info:
            return True
    return False


def time_window(exe: Path, home: Path, timeout: float = 120) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "QT_QPA"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    started = time.perf_counter()
    log = open(home / "window.log", "wb")  # read when the window does not come up
    proc = subprocess.Popen([str(exe)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while time.perf_counter() - started < timeout:
            if viewable_petrilab_window():
                return time.perf_counter() - started
            if proc.poll() is not None:
                tail = (home / "window.log").read_text(errors="replace")[-1500:]
                raise RuntimeError(f"PetriLab exited with {proc.returncode} before showing its window:\n{tail}")
            time.sleep(0.02)
        raise RuntimeError(f"no PetriLab window within {timeout} s")
    finally:
        import psutil

        try:
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()  # the window's own helper processes
        except psutil.Error:
            pass
        proc.kill()
        proc.wait()
        log.close()


def time_version(exe: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(exe), "--version"], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("executable", nargs="?", type=Path, default=ROOT / "dist" / "PetriLab" / "PetriLab")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    _under_xvfb()
    exe = args.executable.resolve()
    first, second, version = [], [], []
    for _ in range(args.runs):
        home = Path(tempfile.mkdtemp(prefix="petrilab-startup-"))
        try:
            first.append(time_window(exe, home))
            second.append(time_window(exe, home))
            version.append(time_version(exe))
        finally:
            shutil.rmtree(home, ignore_errors=True)
    result = {
        "executable": str(exe),
        "first_start_window_s": [round(t, 2) for t in first],
        "later_start_window_s": [round(t, 2) for t in second],
        "version_s": [round(t, 2) for t in version],
        "median": {"first_start_window_s": round(statistics.median(first), 2),
                   "later_start_window_s": round(statistics.median(second), 2),
                   "version_s": round(statistics.median(version), 2)},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
