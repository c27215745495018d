"""Screenshots of every page of the window at 1280×800, for review and for the docs.

    python packaging/screenshots.py OUT_DIR [--no-train]

Runs the real app on the demo data in a scratch folder (nothing is written
next to your experiments): visits Task, Data, Split and Model, then trains a
short run through the real engine process so Train, Evaluate, Predict and
Runs show real content, and saves one PNG per page into OUT_DIR.

It needs a display. Without one (a server, CI) it restarts itself under
Xvfb (`xvfb-run`, Debian package `xvfb`) with a 1280×800 screen.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT = 1280, 800
ROOT = Path(__file__).resolve().parents[1]


def _under_xvfb() -> None:
    """Restart this script under Xvfb when there is no display."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("PETRILAB_SHOTS_CHILD"):
        return
    if shutil.which("xvfb-run") is None:
        sys.exit("No display and no xvfb-run: install Xvfb (apt-get install xvfb) or run on a desktop.")
    env = dict(os.environ, PETRILAB_SHOTS_CHILD="1")
    command = ["xvfb-run", "-a", "-s", f"-screen 0 {WIDTH}x{HEIGHT}x24", sys.executable, *sys.argv]
    sys.exit(subprocess.call(command, env=env))


def wait_until(app, condition, timeout: float, what: str) -> bool:
    """Let the window work (events, background jobs) until `condition()` or `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.03)
    print(f"  (gave up waiting for {what} after {timeout:.0f} s)")
    return False


def settle(app, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="where to save the PNG files")
    parser.add_argument("--no-train", action="store_true", help="skip the short training (faster; later pages empty)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the training run (default 20)")
    args = parser.parse_args()
    _under_xvfb()

    sys.path.insert(0, str(ROOT / "app"))
    from PySide6.QtCore import QSettings

    from petrilab.gui.app import create_application, open_window, prepare_demo

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="petrilab-shots-"))
    # recent-experiment lists and the like go to the scratch folder, not the user's settings
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(scratch / "qsettings"))

    app = create_application([sys.argv[0]])
    settings_path = prepare_demo(scratch / "demo")
    window = open_window(settings_path, warm_up=True)
    window.setGeometry(0, 0, WIDTH, HEIGHT)
    window.context.settings.training.epochs = args.epochs
    settle(app, 0.5)

    def shoot(name: str) -> None:
        settle(app, 0.4)
        path = out / f"{name}.png"
        window.grab().save(str(path))
        print(f"  {path}")

    pages = window.pages
    print("Task")
    window.go_to("task", force=True)
    shoot("1-task")

    print("Data")
    window.go_to("data", force=True)
    data = pages["data"]
    wait_until(app, lambda: data.checked is not None and data.thumbnails.loaded >= sum(
        len(v) for v in data.thumbnails.slots.values()), 60, "the dataset check and thumbnails")
    shoot("2-data")

    print("Split")
    window.go_to("split", force=True)
    shoot("3-split")

    print("Model")
    window.go_to("model", force=True)
    model = pages["model"]
    wait_until(app, lambda: model.description is not None or model.helper_note is not None, 90,
               "the parameter count")
    model.binder.panel.show_key("training.learning_rate")  # what a user sees on hovering a control
    shoot("4-model")

    train = pages["train"]
    if not args.no_train:
        print(f"Train ({args.epochs} epochs through the engine process)")
        window.go_to("train", force=True)
        train.start()
        wait_until(app, lambda: not train.engine.is_running() and train.problem() is None, 600, "the training")
        settle(app, 1.5)
    window.go_to("train", force=True)
    shoot("5-train")

    print("Evaluate")
    window.go_to("evaluate", force=True)
    evaluate = pages["evaluate"]
    if not args.no_train and evaluate.problem() is None:
        wait_until(app, lambda: not evaluate.engine.is_running(), 300, "the evaluation")
    shoot("6-evaluate")

    print("Predict")
    window.go_to("predict", force=True)
    predict = pages["predict"]
    if not args.no_train and window.context.current_run is not None:
        first_class = sorted(p for p in Path(window.context.settings.data.folder).iterdir() if p.is_dir())[0]
        predict.input_edit.setText(str(first_class))
        predict.output_edit.setText(str(scratch / "predictions"))
        if predict.predict():
            wait_until(app, lambda: not predict.engine.is_running(), 300, "the prediction")
    shoot("7-predict")

    print("Runs")
    window.go_to("runs", force=True)
    runs_page = pages["runs"]
    if window.context.current_run is not None:
        runs_page.select_runs([window.context.current_run])
    shoot("8-runs")

    window.context.dirty = False
    window.shutdown()
    window.close()
    app.processEvents()
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
