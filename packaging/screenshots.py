"""Screenshots of every page of the window, for every task, at a desktop and a laptop size.

    python packaging/screenshots.py OUT_DIR [--task TASK ...] [--size WxH ...] [--no-train] [--epochs N]

Runs the real app on each task's demo data in a scratch folder (nothing is
written next to your experiments): visits Task, Data, Split and Model, then
trains a short run through the real engine process so Train, Evaluate,
Predict and Runs show real content, and saves one PNG per page and size into
OUT_DIR/<task>/<W>x<H>/. By default: all six tasks, 1280×800 and 1366×768.

It needs a display. Without one (a server, CI) it restarts itself under
Xvfb (`xvfb-run`, Debian package `xvfb`) with a screen large enough for every size.
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

SIZES = ["1280x800", "1366x768"]
TASKS = ["classification", "multilabel", "regression", "semantic", "instance", "restoration"]
SCREEN = "1920x1200"
ROOT = Path(__file__).resolve().parents[1]


def _under_xvfb() -> None:
    """Restart this script under Xvfb when there is no display."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("PETRILAB_SHOTS_CHILD"):
        return
    if shutil.which("xvfb-run") is None:
        sys.exit("No display and no xvfb-run: install Xvfb (apt-get install xvfb) or run on a desktop.")
    env = dict(os.environ, PETRILAB_SHOTS_CHILD="1")
    command = ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}x24", sys.executable, *sys.argv]
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


def demo_experiment(task: str, folder: Path) -> Path:
    """What `petrilab init` writes for the task's demo data (multi-label: a demo generated into `folder`)."""
    from petrilab import settings as settings_io
    from petrilab.demo import make_multilabel_demo
    from petrilab.recipes import get_recipe
    from petrilab.resources import demo_data

    folder.mkdir(parents=True, exist_ok=True)
    data = make_multilabel_demo(folder / "data") if task == "multilabel" else demo_data(task)
    settings = settings_io.defaults_for(task)
    settings.name = f"{task}-demo"
    settings.data.folder = str(data)
    recipe = get_recipe(task)
    for key, value in recipe.check(recipe.discover(settings, settings.data.folder)).proposals.items():
        settings_io.apply_override(settings, key, value)
    path = folder / "settings.toml"
    settings_io.save(settings, path)
    return path


def prediction_input(task: str, data: Path) -> Path:
    if task == "classification":
        return sorted(p for p in data.iterdir() if p.is_dir())[0]
    return data / "images"


def shoot_task(app, task: str, sizes: list[tuple[int, int]], out: Path, scratch: Path, args) -> None:
    from petrilab.gui.app import open_window

    window = open_window(demo_experiment(task, scratch / task), warm_up=True)
    window.setGeometry(0, 0, *sizes[0])
    window.context.settings.training.epochs = args.epochs
    settle(app, 0.5)
    pages = window.pages

    def shoot(name: str) -> None:
        for width, height in sizes:
            window.setGeometry(0, 0, width, height)
            settle(app, 0.5)
            path = out / task / f"{width}x{height}" / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(path))
            print(f"  {path}")
        window.setGeometry(0, 0, *sizes[0])

    print(f"{task}: Task")
    window.go_to("task", force=True)
    shoot("1-task")

    print(f"{task}: Data")
    window.go_to("data", force=True)
    data = pages["data"]
    wait_until(app, lambda: data.checked is not None, 90, "the dataset check")
    settle(app, 3.0)  # thumbnails and overlays load in the background
    shoot("2-data")

    print(f"{task}: Split")
    window.go_to("split", force=True)
    shoot("3-split")

    print(f"{task}: Model")
    window.go_to("model", force=True)
    model = pages["model"]
    wait_until(app, lambda: model.description is not None or model.helper_note is not None, 90,
               "the parameter count")
    model.binder.panel.show_key("training.learning_rate")  # what a user sees on hovering a control
    shoot("4-model")

    train = pages["train"]
    if not args.no_train:
        print(f"{task}: Train ({args.epochs} epochs through the engine process)")
        window.go_to("train", force=True)
        train.start()
        wait_until(app, lambda: not train.engine.is_running() and train.problem() is None, 900, "the training")
        settle(app, 1.5)
    window.go_to("train", force=True)
    shoot("5-train")

    print(f"{task}: Evaluate")
    window.go_to("evaluate", force=True)
    evaluate = pages["evaluate"]
    if not args.no_train and evaluate.problem() is None:
        wait_until(app, lambda: not evaluate.engine.is_running(), 300, "the evaluation")
        settle(app, 2.0)
    shoot("6-evaluate")

    print(f"{task}: Predict")
    window.go_to("predict", force=True)
    predict = pages["predict"]
    if not args.no_train and window.context.current_run is not None:
        if task in ("semantic", "instance"):
            wait_until(app, lambda: not predict.preview_engine.is_running(), 120, "the preview")
        predict.input_edit.setText(str(prediction_input(task, Path(window.context.settings.data.folder))))
        predict.output_edit.setText(str(scratch / f"predictions-{task}"))
        if predict.predict():
            wait_until(app, lambda: not predict.engine.is_running(), 300, "the prediction")
        settle(app, 2.0)
    shoot("7-predict")

    print(f"{task}: Runs")
    window.go_to("runs", force=True)
    runs_page = pages["runs"]
    if window.context.current_run is not None:
        runs_page.select_runs([window.context.current_run])
    shoot("8-runs")

    window.context.dirty = False
    window.shutdown()
    window.close()
    app.processEvents()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="where to save the PNG files")
    parser.add_argument("--task", action="append", choices=TASKS, help="a task (repeat; default: all six)")
    parser.add_argument("--size", action="append", help="a window size WxH (repeat; default: 1280x800 and 1366x768)")
    parser.add_argument("--no-train", action="store_true", help="skip the short training (faster; later pages empty)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of each training run (default 8)")
    args = parser.parse_args()
    _under_xvfb()

    sys.path.insert(0, str(ROOT / "app"))
    from PySide6.QtCore import QSettings

    from petrilab.gui.app import create_application

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [tuple(int(v) for v in size.lower().split("x")) for size in (args.size or SIZES)]
    scratch = Path(tempfile.mkdtemp(prefix="petrilab-shots-"))
    # recent-experiment lists and the like go to the scratch folder, not the user's settings
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(scratch / "qsettings"))
    app = create_application([sys.argv[0]])
    try:
        for task in args.task or TASKS:
            shoot_task(app, task, sizes, out, scratch, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
