"""One training shared between two devices (TensorFlow's MirroredStrategy), on a machine without GPUs.

PETRILAB_LOGICAL_CPUS=2 splits the processor into two TensorFlow devices,
which must happen before TensorFlow starts: so every two-device step here
(the training and its resume, one training per other task family, mixed
precision) runs in a child process; what runs on one
device (the one-device training, evaluate, predict) runs through
`petrilab.cli.main` in the test process, beside it. All train on the bundled demo
(resources/demo/classification, 240 images of three shapes) with a small
ConvNet. The two-device run and the one-device run use the same batch of
one update (2 per device × 2 devices = 4), so they are the same experiment
and must reach the same quality.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from petrilab.training.device import LOGICAL_CPUS, Device, split_cpu
from petrilab.training.distribute import MIRRORED, NONE, Distribution, choose, shared_batch, short_name

from helpers import FIXED_CHOICES, petrilab_here

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "classification"
EPOCHS = 6
SMALL = ["data.image_size=[32, 32]", "model.filters=[8, 16, 32]", "model.head_units=[32]",
         "training.learning_rate=0.003", f"training.epochs={EPOCHS}", "augmentation.geometric=no"]
GLOBAL_BATCH = 4
CHANCE = 1 / 3


def environment(cpus: int | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", LOGICAL_CPUS)}
    env["KERAS_BACKEND"] = "tensorflow"
    if cpus:
        env[LOGICAL_CPUS] = str(cpus)
    return env


def petrilab(*args) -> None:
    """`petrilab ARGS` in this process: one device, no strategy (PETRILAB_LOGICAL_CPUS is not set here)."""
    assert os.environ.get(LOGICAL_CPUS) is None
    done = petrilab_here(*args)
    assert done.returncode == 0, f"petrilab {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def train_args(settings: Path, run_dir: Path, batch_size: int, *extra: str) -> list[str]:
    sets = [arg for s in (*SMALL, f"training.batch_size={batch_size}", *extra) for arg in ("--set", s)]
    return ["train", str(settings), *sets, "--run-dir", str(run_dir), "--quiet"]


def events_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def first(events: list[dict], kind: str) -> dict:
    return next(e for e in events if e["event"] == kind)


# `petrilab` commands one after the other in a child process split into two devices (each child costs seconds
# of processor time importing TensorFlow, and the split must happen before it starts). Its argument is a JSON
# list of steps: ["copy", FROM, TO] or the words of a command. One network per child: a second strategy in the
# same process training a network of other shapes fails in TensorFlow's collective ops ("Shape mismatch in the
# collective instance"), so only a run and its own resume share one.
TWO_DEVICE_STEPS = """
import json, shutil, sys
from petrilab.cli import main

for step in json.loads(sys.argv[1]):
    if step[0] == "copy":
        shutil.copytree(step[1], step[2])
    elif main(step) != 0:
        sys.exit(f"petrilab {' '.join(step)} failed")
"""


def on_two_devices(*steps: list[str]) -> subprocess.Popen:
    return start([sys.executable, "-c", TWO_DEVICE_STEPS, json.dumps(steps)])


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(args, env=environment(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(job: subprocess.Popen, what: str) -> str:
    out, err = job.communicate(timeout=900)
    assert job.returncode == 0, f"{what} failed:\n{out[-2000:]}\n{err[-3000:]}"
    return out


MIXED_PRECISION_UNDER_STRATEGY = """
import numpy as np, keras
from petrilab import settings as settings_io
from petrilab.models import build_model, compile_model
from petrilab.tasks import output_head
from petrilab.training.device import Device, split_cpu
from petrilab.training.distribute import choose

warnings = []
device = Device("cpu", "CPU", "tensorflow", replicas=split_cpu("tensorflow", warnings))
keras.mixed_precision.set_global_policy("mixed_float16")  # what configure() chooses on a recent GPU
distribution = choose(device)
settings = settings_io.defaults_for("classification")
settings.model.filters, settings.model.head_units = [4, 8], [8]
head = output_head("classification", 3)
with distribution.scope():
    model = build_model(settings, (16, 16, 1), head)
    compile_model(model, settings, head)
rng = np.random.default_rng(0)
x = rng.random((32, 16, 16, 1), dtype=np.float32)
y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 32)]
history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
print(distribution.name, distribution.replicas, type(model.optimizer).__name__,
      all(np.isfinite(history.history["loss"])), warnings)
"""



@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """The same experiment on one device (in this process) and on two (a child, which then continues a copy
    of its run on two devices), and the mixed-precision check, side by side (child processes spend much of
    their time waiting on each other's cores)."""
    root = tmp_path_factory.mktemp("distributed")
    settings = root / "settings.toml"
    petrilab("init", "--task", "classification", "--data", str(DEMO), "-o", str(settings))
    runs = {"one": root / "one device", "two": root / "two devices", "resumed": root / "resumed",
            "settings": settings}
    jobs = {"two devices": on_two_devices(train_args(settings, runs["two"], GLOBAL_BATCH // 2),
                                          ["copy", str(runs["two"]), str(runs["resumed"])],
                                          ["train", str(settings), "--resume", str(runs["resumed"]), "--set",
                                           f"training.epochs={EPOCHS + 1}", "--quiet"]),
            "mixed precision": start([sys.executable, "-c", MIXED_PRECISION_UNDER_STRATEGY])}
    petrilab(*train_args(settings, runs["one"], GLOBAL_BATCH))
    outputs = {what: finish(job, what) for what, job in jobs.items()}
    runs["mixed precision"] = outputs["mixed precision"]
    return runs


def test_two_devices_share_each_batch_and_say_so(trained):
    events = events_of(trained["two"])
    started = first(events, "started")
    assert started["distribution"] == {"strategy": MIRRORED, "devices": ["CPU:0", "CPU:1"], "replicas": 2,
                                       "per_device_batch_size": GLOBAL_BATCH // 2,
                                       "global_batch_size": GLOBAL_BATCH}
    assert started["steps_per_epoch"] == math.ceil(started["n_train"] / GLOBAL_BATCH)  # batches of 4, not 2
    assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == list(range(EPOCHS))
    assert events[-1]["event"] == "finished" and events[-1]["status"] == "completed"
    assert not [e for e in events if e["event"] in ("warning", "error")]
    assert 'devices = "auto"' in (trained["two"] / "settings.toml").read_text(encoding="utf-8")
    assert "batch_size = 2" in (trained["two"] / "settings.toml").read_text(encoding="utf-8")  # per device, as set


def test_one_device_reports_no_strategy(trained):
    started = first(events_of(trained["one"]), "started")
    assert started["distribution"] == {"strategy": NONE, "devices": [started["device"]], "replicas": 1,
                                       "per_device_batch_size": GLOBAL_BATCH, "global_batch_size": GLOBAL_BATCH}


def test_two_devices_learn_as_well_as_one(trained):
    accuracy = {name: first(events_of(trained[name]), "evaluation")["metrics"]["accuracy"] for name in ("one", "two")}
    assert accuracy["one"] > CHANCE + 0.2 and accuracy["two"] > CHANCE + 0.2, accuracy
    assert abs(accuracy["one"] - accuracy["two"]) <= 0.15, accuracy
    losses = {name: [e["metrics"]["loss"] for e in events_of(trained[name]) if e["event"] == "epoch_end"]
              for name in ("one", "two")}
    assert losses["two"][-1] < losses["two"][0] and losses["one"][-1] < losses["one"][0]  # both learnt


@pytest.fixture(scope="module")
def followed_up(trained, tmp_path_factory) -> dict:
    """What users do next with the two-device run: evaluate a copy of it and predict with it on one device
    (no strategy: in this process). Continuing it on two devices was the child's (trained["resumed"])."""
    root = tmp_path_factory.mktemp("after")
    evaluated = root / "evaluated"
    shutil.copytree(trained["two"], evaluated)
    (evaluated / "evaluation.json").unlink()
    petrilab("evaluate", str(evaluated))
    petrilab("predict", str(trained["two"]), str(DEMO / "round"), str(root / "predictions"))
    return {"evaluated": evaluated, "predictions": root / "predictions" / "predictions.csv"}


def test_a_model_trained_on_two_devices_evaluates_on_one(trained, followed_up):
    during_training = json.loads((trained["two"] / "evaluation.json").read_text(encoding="utf-8"))
    again = json.loads((followed_up["evaluated"] / "evaluation.json").read_text(encoding="utf-8"))
    assert again["metrics"]["accuracy"] == pytest.approx(during_training["metrics"]["accuracy"])
    assert again["confusion_matrix"] == during_training["confusion_matrix"]


def test_a_model_trained_on_two_devices_predicts_on_one(followed_up):
    with open(followed_up["predictions"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(list((DEMO / "round").iterdir()))  # and nothing was written into the demo
    assert sum(row["predicted_class"] == "round" for row in rows) > CHANCE * len(rows)


def test_a_two_device_run_resumes_on_two_devices(trained):
    run = trained["resumed"]
    events = events_of(run)
    resumed = [e for e in events if e["event"] == "started"][-1]
    assert resumed["initial_epoch"] == EPOCHS and resumed["distribution"]["replicas"] == 2
    assert events[-1]["event"] == "finished" and events[-1]["status"] == "completed"
    with open(run / "history.csv", newline="", encoding="utf-8") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == list(range(EPOCHS + 1))


def test_mixed_precision_still_trains_under_the_strategy(trained):
    assert trained["mixed precision"].split() == ["mirrored", "2", "LossScaleOptimizer", "True", "[]"]


OTHER_TASKS = {  # task -> the petrilab.demo maker, its arguments, settings for a model that trains in seconds
    "regression": ("make_regression_demo", {"n_images": 40, "size": 32, "seed": 1}, ["training.batch_size=8"]),
    "multilabel": ("make_multilabel_demo", {"n_images": 40, "size": 32, "seed": 1}, ["training.batch_size=8"]),
    "semantic": ("make_segmentation_demo", {"task": "semantic", "n_images": 12, "size": 64, "seed": 1},
                 ["model.filters=[8, 16]", "model.batch_norm=false", "training.batch_size=2",
                  "data.patch_size=[32, 32]", "augmentation.elastic=0.0"]),
}


@pytest.fixture(scope="module")
def other_tasks(tmp_path_factory) -> dict[str, Path]:
    """One short two-device training per other task family, side by side (a child each: one network each)."""
    from petrilab import demo

    root = tmp_path_factory.mktemp("tasks")
    jobs, runs = {}, {}
    for task, (maker, arguments, sets) in OTHER_TASKS.items():
        data = getattr(demo, maker)(root / f"{task} data", **arguments)
        settings = root / f"{task}.toml"
        petrilab("init", "--task", task, "--data", str(data), "-o", str(settings))
        runs[task] = root / f"{task} run"
        args = [arg for s in ("training.epochs=2", *FIXED_CHOICES, *sets) for arg in ("--set", s)]
        jobs[task] = on_two_devices(["train", str(settings), *args, "--run-dir", str(runs[task]), "--quiet"])
    for task, job in jobs.items():
        finish(job, f"training {task} on two devices")
    return runs


@pytest.mark.parametrize("task", sorted(OTHER_TASKS))
def test_every_task_trains_on_two_devices(other_tasks, task):
    events = events_of(other_tasks[task])
    started = first(events, "started")
    assert started["distribution"]["strategy"] == MIRRORED and started["distribution"]["replicas"] == 2
    assert started["distribution"]["global_batch_size"] % 2 == 0
    assert events[-1]["event"] == "finished" and events[-1]["status"] == "completed", events[-3:]
    assert any(e["event"] == "evaluation" for e in events)  # the test images scored after training


# ---------------------------------------------------------------- no training needed


def test_one_device_or_the_setting_one_means_no_strategy():
    alone = choose(Device("cpu", "CPU (4 cores)", "tensorflow"))
    assert (alone.name, alone.replicas, alone.strategy, alone.devices) == (NONE, 1, None, ["CPU (4 cores)"])
    asked = choose(Device("gpu", "GPU: A (+1 more)", "tensorflow", replicas=["/device:GPU:0", "/device:GPU:1"]),
                   "one")
    assert (asked.name, asked.replicas, asked.warnings) == (NONE, 1, [])
    assert asked.report(16) == {"strategy": NONE, "devices": ["GPU:0"], "replicas": 1,
                                "per_device_batch_size": 16, "global_batch_size": 16}


def test_pytorch_with_several_gpus_trains_on_one_and_says_so():
    distribution = choose(Device("gpu", "GPU: A (+1 more)", "torch", replicas=["cuda:0", "cuda:1"]))
    assert (distribution.name, distribution.replicas) == (NONE, 1)
    (warning,) = distribution.warnings
    assert "2 graphics cards" in warning and "one of them" in warning and "TensorFlow" in warning


def test_the_batches_hold_per_device_batch_times_devices():
    from petrilab import settings as settings_io

    settings = settings_io.defaults_for("classification")
    settings.training.batch_size = 16
    alone = choose(Device("cpu", "CPU", "tensorflow")).plan(16, {"training": 100, "validation": 7})
    assert alone.batch_settings(settings, "validation") is settings
    shared = Distribution(object(), MIRRORED, ["/device:GPU:0", "/device:GPU:1", "/device:GPU:2"])
    planned = shared.plan(16, {"training": 960, "validation": 30})
    assert planned.batch_sizes == {"training": 48, "validation": 30} and planned.warnings == []
    assert planned.batch_settings(settings, "training").training.batch_size == 48
    assert settings.training.batch_size == 16  # the settings stay per device
    assert planned.report(16) == {"strategy": MIRRORED, "devices": ["GPU:0", "GPU:1", "GPU:2"], "replicas": 3,
                                  "per_device_batch_size": 16, "global_batch_size": 48}
    assert short_name("/job:localhost/replica:0/task:0/device:GPU:1") == "GPU:1"


def test_every_device_gets_images_in_every_batch():
    # TensorFlow deals a batch out in equal parts in device order: 7 images in batches of 6 on
    # 2 devices would leave the second device empty-handed in the last batch (1 + 0)
    assert shared_batch(7, 64, 2) == 4  # 4, then 3 = 2 + 1
    assert shared_batch(1000, 64, 2) == 64  # last batch 40 = 32 + 8
    assert shared_batch(980, 64, 2) == 62  # 64 would end on 20 = 20 + 0
    assert shared_batch(26, 64, 2) == 26  # a small set: one batch of all, split evenly
    assert shared_batch(5, 64, 2) is None and shared_batch(1, 8, 2) is None and shared_batch(10, 16, 4) is None
    planned = Distribution(object(), MIRRORED, ["/device:GPU:0", "/device:GPU:1"]).plan(32, {"training": 980,
                                                                                           "validation": 5})
    assert planned.strategy is None and planned.replicas == 1
    assert "validation set (5 images) is too small to be shared between 2 devices" in planned.warnings[0]
    adjusted = Distribution(object(), MIRRORED, ["/device:GPU:0", "/device:GPU:1"]).plan(32, {"training": 980,
                                                                                            "validation": 48})
    assert adjusted.batch_sizes == {"training": 62, "validation": 48}
    assert "62 for the training set instead of 64" in adjusted.warnings[0]


def test_logical_cpus_needs_a_number_and_tensorflow(monkeypatch):
    warnings: list[str] = []
    monkeypatch.setenv(LOGICAL_CPUS, "two")
    assert split_cpu("tensorflow", warnings) == [] and "not a whole number" in warnings[-1]
    monkeypatch.setenv(LOGICAL_CPUS, "2")
    assert split_cpu("torch", warnings) == [] and "only works with the TensorFlow engine" in warnings[-1]
    monkeypatch.setenv(LOGICAL_CPUS, "1")
    assert split_cpu("tensorflow", warnings) == [] and len(warnings) == 2  # one device: nothing to split
