"""Real trainings on the Keras PyTorch backend, one per task the engine has (every recipe in RECIPES).

Each runs the commands a user or the window runs (init → train → evaluate →
predict) in one child process with KERAS_BACKEND=torch, on a tiny dataset made
for the test, and checks the run folder. This is what lets a Windows build
ship GPU training through PyTorch. Skipped, with the reason, where PyTorch is
not installed (pip install -e ".[torch]").
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from petrilab import demo
from petrilab.backend import installed
from petrilab.recipes import RECIPES
from petrilab.command_events import EVALUATION_EVENTS
from petrilab.events import read_all
from helpers import FIXED_CHOICES, petrilab_here

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not installed("torch"), reason="PyTorch is not installed (pip install -e '.[torch]')"),
]

# task -> the demo maker of petrilab.demo, its arguments, and settings for a model that trains in seconds
SMALL_UNET = ["model.filters=[8, 16]", "model.batch_norm=false", "model.dropout=0.0", "training.batch_size=4",
              "data.patch_size=[32, 32]", "augmentation.elastic=0.0"]
TINY_DATA = {
    "classification": ("make_classification_demo", {"n_per_class": 8, "size": 32, "seed": 1}, []),
    "semantic": ("make_segmentation_demo", {"task": "semantic", "n_images": 8, "size": 64, "seed": 1}, SMALL_UNET),
    "instance": ("make_segmentation_demo", {"task": "instance", "n_images": 8, "size": 64, "seed": 1}, SMALL_UNET),
    "regression": ("make_regression_demo", {"n_images": 40, "size": 32, "seed": 1}, []),
    "multilabel": ("make_multilabel_demo", {"n_images": 40, "size": 32, "seed": 1}, []),
    "restoration": ("make_restoration_demo", {"n_images": 8, "size": 64, "seed": 1},
                    ["model.filters=[8, 16]", "training.batch_size=8"]),
}
EPOCHS = 1


# One child process runs commands in a row through the command line's main, as the window's separate processes
# would one by one: the backend is chosen at start-up, so a child process is what makes it PyTorch, and one for
# every task's train → evaluate → predict spares the suite an import of PyTorch and Keras per command. A task
# whose command fails stops there; the others go on, and its test reads why from the child's output.
IN_ORDER = """
import json, sys, traceback
from petrilab.cli import main
failed = {}
for task, commands in json.loads(sys.argv[1]).items():
    for args in commands:
        try:
            code = main(args)
        except BaseException:
            code = traceback.format_exc()
        if code:
            failed[task] = f"petrilab {args[0]} ended with {code}"
            print(f"{task}: {failed[task]}", file=sys.stderr)
            break
json.dump(failed, open(sys.argv[2], "w"))
"""


def petrilab(commands: dict[str, list[list]], backend: str | None = "torch", timeout: float = 900) -> dict:
    """Each task's `commands` (`petrilab` arguments) in turn, all in one child process on `backend`:
    {task: why it failed} for the tasks whose commands did not all succeed."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "KERAS_TORCH_DEVICE")}
    if backend:
        env["KERAS_BACKEND"] = backend
    argv = {task: [[str(a) for a in args] for args in task_commands] for task, task_commands in commands.items()}
    with tempfile.TemporaryDirectory() as folder:
        failures = Path(folder) / "failed.json"
        proc = subprocess.run([sys.executable, "-c", IN_ORDER, json.dumps(argv), str(failures)], capture_output=True,
                              text=True, env=env, timeout=timeout)
        assert proc.returncode == 0 and failures.is_file(), f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        failed = json.loads(failures.read_text(encoding="utf-8"))
    return {task: f"{why}\n{proc.stderr[-3000:]}" for task, why in failed.items()}


def tiny_dataset(task: str, folder: Path) -> Path:
    assert task in TINY_DATA, (f"the task '{task}' is registered in RECIPES but has no tiny dataset here: "
                               f"add it to TINY_DATA in {Path(__file__).name} so it is trained on PyTorch too")
    maker, arguments, _ = TINY_DATA[task]
    assert hasattr(demo, maker), f"petrilab.demo has no {maker}() for the task '{task}'"
    return getattr(demo, maker)(folder, **arguments)


def small_model(task: str) -> list[str]:
    # the learning-rate range test (its own callback setting the rate batch by batch) runs on PyTorch for one task,
    # regression; the flip probe is a plain fit and predict, which every task here runs on PyTorch anyway
    fixed = ["augmentation.geometric=no"] if task == "regression" else FIXED_CHOICES
    return [arg for setting in [*TINY_DATA[task][2], *fixed] for arg in ("--set", setting)]


def events_of(run_dir: Path, name: str = "events.jsonl") -> list[dict]:
    return read_all(run_dir / name)


@dataclass
class TaskRun:
    images: Path
    images_before: list[str]
    run_dir: Path
    predictions: Path


@pytest.fixture(scope="module")
def on_torch(tmp_path_factory) -> tuple[dict[str, TaskRun], dict[str, str]]:
    """Every task trained, evaluated and predicted on PyTorch in one child process, once for this file."""
    runs, commands = {}, {}
    for task in sorted(RECIPES):
        folder = tmp_path_factory.mktemp(task)
        data = tiny_dataset(task, folder / "data")
        settings = folder / "settings.toml"
        assert petrilab_here("init", "--task", task, "--data", data, "-o", settings).returncode == 0
        images = data / "images" if (data / "images").is_dir() else next(p for p in sorted(data.iterdir())
                                                                         if p.is_dir())
        run = runs[task] = TaskRun(images, sorted(p.name for p in images.iterdir()), folder / "run",
                                   folder / "predictions")
        commands[task] = [
            ["train", settings, "--set", f"training.epochs={EPOCHS}", *small_model(task), "--run-dir", run.run_dir,
             "--quiet"],
            ["evaluate", run.run_dir],  # again, after training's own evaluation: the command alone, on PyTorch
            ["predict", run.run_dir, images, run.predictions]]
    return runs, petrilab(commands)


@pytest.mark.parametrize("task", sorted(RECIPES))
def test_every_task_trains_evaluates_and_predicts_on_pytorch(task, on_torch, tmp_path):
    runs, failed = on_torch
    assert task not in failed, failed.get(task)
    run = runs[task]
    run_dir, out, images = run.run_dir, run.predictions, run.images
    events = events_of(run_dir)
    started, finished = events[0], events[-1]
    assert started["event"] == "started" and started["backend"] == "torch" and started["device"].startswith("CPU")
    assert 'backend = "auto"' in (run_dir / "settings.toml").read_text(encoding="utf-8")  # chosen by KERAS_BACKEND
    assert finished["event"] == "finished" and finished["status"] == "completed"
    epochs = [e for e in events if e["event"] == "epoch_end"]
    assert len(epochs) == EPOCHS
    assert all(isinstance(e["metrics"]["loss"], float) and isinstance(e["metrics"]["val_loss"], float)
               for e in epochs)  # finite numbers (NaN would be written as null)
    for name in ("model.keras", "last.keras", "history.csv", "diagnosis.json", "report.html"):
        assert (run_dir / name).is_file(), name

    evaluated = events_of(run_dir, EVALUATION_EVENTS)
    assert evaluated[0]["event"] == "started" and evaluated[0]["command"] == "evaluate"
    assert evaluated[-1]["event"] == "finished" and evaluated[-1]["status"] == "completed", evaluated[-2:]
    evaluation = json.loads((run_dir / "evaluation.json").read_text(encoding="utf-8"))
    assert evaluation["n_images"] > 0 and evaluation["metrics"]

    assert any(out.glob("*.csv")), f"no table of results in {sorted(p.name for p in out.iterdir())}"
    assert sorted(p.name for p in images.iterdir()) == run.images_before  # input files never touched
    if task == "classification":
        same_model_on_tensorflow(run_dir, images, out / "predictions.csv", tmp_path / "on-tensorflow")


def same_model_on_tensorflow(run_dir: Path, images: Path, torch_csv: Path, out: Path) -> None:
    """A run trained on a Windows GPU (PyTorch) is used unchanged on a Linux server (TensorFlow)."""
    assert not petrilab({"predict": [["predict", run_dir, images, out]]}, backend=None)  # 'auto', no KERAS_BACKEND
    tables = []
    for path in (torch_csv, out / "predictions.csv"):
        with open(path, newline="", encoding="utf-8") as f:
            tables.append({row["file"]: row for row in csv.DictReader(f)})
    on_torch, on_tensorflow = tables
    assert on_torch.keys() == on_tensorflow.keys() and len(on_torch) == 8
    for name, row in on_torch.items():
        assert row["predicted_class"] == on_tensorflow[name]["predicted_class"]
        for key in (k for k in row if k.startswith("p_")):
            assert float(row[key]) == pytest.approx(float(on_tensorflow[name][key]), abs=1e-4)


def test_the_backend_setting_alone_chooses_pytorch(tiny_classification_dir, tmp_path):
    settings = tmp_path / "settings.toml"
    run_dir = tmp_path / "run"
    assert not petrilab({"classification": [
        ["init", "--task", "classification", "--data", tiny_classification_dir, "-o", settings],
        ["train", settings, "--set", "training.epochs=1", "--set", "training.backend=torch",
         "--set", "training.device=cpu", *small_model("classification"), "--run-dir", run_dir, "--quiet"]]},
        backend=None)
    assert events_of(run_dir)[0]["backend"] == "torch"
    assert 'backend = "torch"' in (run_dir / "settings.toml").read_text(encoding="utf-8")  # exactly what ran
