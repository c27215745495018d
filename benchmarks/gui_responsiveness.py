"""How quickly the window appears, and whether it stays responsive while a training runs.

1. Start-up: from the moment the process starts (the OS's process start
   time) to the main window's first paint, in a fresh Python process each
   time, as `petrilab` would start it. Also checks that TensorFlow/Keras
   were not imported to get there.
2. Event-loop stalls during training: the Train page of the real main
   window starts a real training in the engine's child process and follows
   it; a 10 ms QTimer measures the gap between its ticks. The longest gap is
   the longest the window was frozen (target: under 50 ms, issue #20).

    xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python benchmarks/gui_responsiveness.py [--epochs 6] [--starts 5]
        [--startup-only] [--experiment SETTINGS.toml]

Without a display it falls back to Qt's offscreen platform (paints are then
cheaper than on a real screen).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STALL_TARGET_MS = 50  # issue #20: the window never freezes longer than this while it follows a training

STARTUP_PROBE = r"""
import time, sys, psutil
started = psutil.Process().create_time()
from PySide6.QtCore import QEvent, QObject, QTimer
from petrilab.gui.app import create_application, open_window

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            heavy = [m for m in ("tensorflow", "keras", "torch") if m in sys.modules]
            cpu = psutil.Process().cpu_times()  # user+sys: less sensitive to other load than the wall clock
            print(f"{time.time() - started:.3f} {cpu.user + cpu.system:.3f} {','.join(heavy) or '-'}", flush=True)
            QTimer.singleShot(0, app.quit)
            obj.removeEventFilter(self)
        return False

app = create_application(["petrilab"])
probe = FirstPaint()
from PySide6.QtWidgets import QMainWindow
original_show = QMainWindow.show
def show_and_watch(self):
    self.installEventFilter(probe)
    original_show(self)
QMainWindow.show = show_and_watch
window = open_window(sys.argv[1] if len(sys.argv) > 1 else None, warm_up=False)  # --experiment
app.exec()
window.context.dirty = False
window.shutdown()
"""


def measure_startup(starts: int, experiment: str | None = None) -> dict:
    times, cpu_times, heavy = [], [], set()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home)  # no recent experiments, no user settings
        for _ in range(starts):
            command = [sys.executable, "-c", STARTUP_PROBE] + ([str(Path(experiment).resolve())] if experiment else [])
            out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
            if out.returncode != 0 or not out.stdout.strip():
                raise SystemExit(f"the start-up probe failed:\n{out.stderr}")
            seconds, cpu, modules = out.stdout.split()[-3:]
            times.append(float(seconds))
            cpu_times.append(float(cpu))
            if modules != "-":
                heavy |= set(modules.split(","))
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": len(times),
            "cpu_median_s": statistics.median(cpu_times), "heavy_modules": sorted(heavy)}


def measure_stalls(epochs: int, images_per_class: int, size: int) -> dict:
    from PySide6.QtCore import QElapsedTimer, QTimer

    from petrilab.demo import make_classification_demo
    from petrilab.gui.app import create_application
    from petrilab.gui.context import AppContext
    from petrilab.gui.main_window import MainWindow

    app = create_application(["petrilab"])
    work = Path(tempfile.mkdtemp(prefix="petrilab-bench-"))
    data = make_classification_demo(work / "data", n_per_class=images_per_class, size=size, seed=0)
    context = AppContext(runs_dir=work / "runs")
    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()
    context.settings.data.folder = str(data)
    context.settings.data.image_size = [size, size]
    context.settings.training.epochs = epochs
    context.settings.name = "responsiveness"
    window.go_to("train", force=True)
    page = window.pages["train"]
    settle_until = time.monotonic() + 1.5  # the window is up and idle when the user presses Start
    while time.monotonic() < settle_until:
        app.processEvents()
        time.sleep(0.005)

    clock = QElapsedTimer()
    gaps: list[float] = []
    last = [0]
    ticker = QTimer(interval=10)

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    ticker.timeout.connect(tick)
    done = []
    page.engine.finished.connect(lambda code, normal: done.append(code))
    events_seen = []
    page.follower.event.connect(lambda e: events_seen.append(e["event"]))

    clock.start()
    ticker.start()
    started = time.monotonic()
    page.start()
    while not done and time.monotonic() - started < 600:
        app.processEvents()
        time.sleep(0.001)
    # a little longer: the final refresh after the engine ends counts too
    until = time.monotonic() + 1.0
    while time.monotonic() < until:
        app.processEvents()
        time.sleep(0.001)
    ticker.stop()
    seconds = time.monotonic() - started
    epochs_drawn = len(page.curves.loss.curves["training"].getData()[0])
    context.dirty = False
    window.shutdown()
    window.close()
    gaps = gaps[1:]  # the first gap includes the start of the timer
    gaps_sorted = sorted(gaps)
    return {
        "exit_code": done[0] if done else None, "training_s": round(seconds, 1), "epochs_drawn": epochs_drawn,
        "ticks": len(gaps), "longest_stall_ms": max(gaps), "p99_ms": gaps_sorted[int(0.99 * (len(gaps) - 1))],
        "median_ms": statistics.median(gaps), "batch_events_shown": events_seen.count("batch"),
        "platform": app.platformName(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="fresh processes for the start-up time")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--images", type=int, default=80, help="images per class (3 classes)")
    parser.add_argument("--size", type=int, default=64, help="image size in pixels")
    parser.add_argument("--startup-only", action="store_true", help="measure the start-up only (no training)")
    parser.add_argument("--experiment", help="a settings file the start opens (as when the last one is reopened)")
    args = parser.parse_args()

    startup = measure_startup(args.starts, args.experiment)
    print(f"Start-up, process start to first paint of the main window ({startup['runs']} fresh processes): "
          f"median {startup['median_s']:.2f} s (min {startup['min_s']:.2f}, max {startup['max_s']:.2f}), "
          f"CPU user+sys median {startup['cpu_median_s']:.2f} s, load average {os.getloadavg()[0]:.1f}; "
          f"TensorFlow/Keras imported: {', '.join(startup['heavy_modules']) or 'no'}")
    if args.startup_only:
        return 0
    stalls = measure_stalls(args.epochs, args.images, args.size)
    verdict = "PASS" if stalls["longest_stall_ms"] < STALL_TARGET_MS else "FAIL"
    print(f"Event loop during a real training ({stalls['training_s']} s, {stalls['epochs_drawn']} epochs drawn, "
          f"engine exit {stalls['exit_code']}, platform {stalls['platform']}): longest stall "
          f"{stalls['longest_stall_ms']:.0f} ms ({verdict}, target < {STALL_TARGET_MS} ms), "
          f"p99 {stalls['p99_ms']:.0f} ms, "
          f"median tick {stalls['median_ms']:.0f} ms over {stalls['ticks']} ticks of 10 ms")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
