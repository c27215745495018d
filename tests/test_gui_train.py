"""The train / evaluate / predict / runs pages, the run follower and the engine process runner.

Run folders are written by hand here (events through the real EventWriter,
history, evaluation.json, test_predictions.csv, real PNG images), so what the
pages show can be checked deterministically without training a model. The
engine process is exercised with small Python scripts that behave like the
engine (write events, crash, ignore or honour a STOP file).
"""

from __future__ import annotations

import json
import math
import os
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from petrilab import events as ev
from petrilab import runs
from petrilab import settings as settings_io
from petrilab.settings import Settings

pytestmark = pytest.mark.gui

CLASSES = ["dividing", "healthy", "infected"]


# ---------------------------------------------------------------- hand-made run folders


def overfitting_history(epochs: int = 30) -> list[dict]:
    rows = []
    for e in range(epochs):
        loss = 0.75 * math.exp(-e / 6) + 0.04
        val_loss = 0.6 * math.exp(-e / 4) + 0.25 + 0.012 * max(0, e - 9)
        rows.append({"epoch": e, "loss": loss, "val_loss": val_loss, "accuracy": 1 - loss * 0.6,
                     "val_accuracy": 0.93 - 0.6 * math.exp(-e / 4) - 0.002 * max(0, e - 9)})
    return rows


def good_history(epochs: int = 20) -> list[dict]:
    rows = []
    for e in range(epochs):
        loss = 0.7 * math.exp(-e / 4) + 0.12
        val_loss = 0.7 * math.exp(-e / 4) + 0.15
        rows.append({"epoch": e, "loss": loss, "val_loss": val_loss, "accuracy": 1 - loss * 0.5,
                     "val_accuracy": 1 - val_loss * 0.55})
    return rows


def write_image(path: Path, seed: int, size: int = 48) -> None:
    import imageio.v3 as iio

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = rng.normal(40, 8, (size, size))
    for _ in range(3):
        cy, cx, r = rng.uniform(8, size - 8), rng.uniform(8, size - 8), rng.uniform(4, 9)
        image += 150 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.clip(image, 0, 255).astype(np.uint8))


def make_run(runs_dir: Path, name: str, history: list[dict], *, finished: bool = True, diagnosis: dict | None = None,
             evaluation: bool = True, images_dir: Path | None = None, settings: Settings | None = None,
             distribution: dict | None = None) -> Path:
    """A run folder as the engine leaves it (or, with finished=False, as it looks mid-training)."""
    run_dir = runs.new_run_dir(runs_dir, name)
    settings = settings or Settings(name=name)
    settings.data.classes = list(CLASSES)
    settings_io.save(settings, run_dir / runs.SETTINGS)
    writer = ev.EventWriter(run_dir / runs.EVENTS, echo=False)
    writer.emit(ev.STARTED, run_dir=str(run_dir), device="CPU", backend="tensorflow", parameters=27_843,
                trainable_parameters=27_843, main_metric="accuracy", epochs=settings.training.epochs,
                initial_epoch=0, steps_per_epoch=12, n_train=372, n_validation=93, n_test=70, classes=CLASSES,
                data_fingerprint="abc", distribution=distribution or {"strategy": "none", "replicas": 1})
    writer.emit(ev.WARNING, message="The class 'dividing' has 3 times fewer images than 'healthy'.",
                file=None, fix="Turn on class weights, or add images of the rare class.")
    best = min(range(len(history)), key=lambda i: history[i]["val_loss"])
    for row in history:
        e = row["epoch"]
        writer.emit(ev.BATCH, epoch=e, batch=6, batches=12, elapsed=0.6)
        writer.emit(ev.EPOCH_END, epoch=e, epochs=settings.training.epochs,
                    metrics={k: v for k, v in row.items() if k != "epoch"}, seconds=1.2,
                    best=e == best and e <= best)
    runs.write_history(run_dir / runs.HISTORY, history)
    if diagnosis is not None:
        writer.emit(ev.DIAGNOSIS, **diagnosis)
    if not finished:
        writer.emit(ev.BATCH, epoch=len(history), batch=3, batches=12, elapsed=0.3)
        return run_dir
    (run_dir / runs.BEST_MODEL).write_bytes(b"not a real model: the pages only check that it exists")
    (run_dir / runs.LAST_MODEL).write_bytes(b"not a real model")
    if diagnosis is not None:
        runs.atomic_write_json(run_dir / runs.DIAGNOSIS, diagnosis)
    if evaluation:
        write_evaluation(run_dir, images_dir or run_dir.parent / "test-images")
    writer.emit(ev.FINISHED, status="completed", epochs_done=len(history), best_epoch=best,
                best_val_loss=history[best]["val_loss"], seconds=40.0)
    return run_dir


def write_evaluation(run_dir: Path, images_dir: Path) -> dict:
    matrix = [[14, 3, 1], [2, 25, 1], [0, 4, 20]]
    rows, k = [], 0
    for t, true in enumerate(CLASSES):
        for p, predicted in enumerate(CLASSES):
            for _ in range(matrix[t][p]):
                path = images_dir / true / f"{true}_{k:03d}.png"
                if t != p:
                    write_image(path, seed=k)
                probs = [0.1, 0.1, 0.1]
                probs[p] = 0.8
                rows.append([str(path), true, predicted, int(t == p), *probs])
                k += 1
    runs.atomic_write_csv(run_dir / "test_predictions.csv",
                          ["file", "true_class", "predicted_class", "correct"] + [f"p_{c}" for c in CLASSES], rows)
    evaluation = {
        "task": "classification", "source": "test split", "n_images": 70, "classes": CLASSES,
        "metrics": {"accuracy": 59 / 70, "balanced_accuracy": 0.83, "macro_f1": 0.82,
                    "per_class": {"dividing": {"precision": 0.875, "recall": 0.778, "f1": 0.824, "support": 18},
                                  "healthy": {"precision": 0.781, "recall": 0.893, "f1": 0.833, "support": 28},
                                  "infected": {"precision": 0.909, "recall": 0.833, "f1": 0.870, "support": 24}}},
        "confusion_matrix": matrix,
        "warnings": ["Only 18 test images of 'dividing': its numbers are uncertain (± 10 %)."],
    }
    runs.atomic_write_json(run_dir / runs.EVALUATION, evaluation)
    return evaluation


def real_diagnosis(history: list[dict], final: bool = True) -> dict:
    from petrilab.training.diagnosis import diagnose  # pure numpy; the GUI itself never imports it

    return diagnose(history, final=final, settings=Settings()).to_dict()


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def context(tmp_path):
    from petrilab.gui.context import AppContext

    return AppContext(Settings(name="cells"), runs_dir=tmp_path / "runs")


@pytest.fixture
def finished_run(tmp_path):
    history = overfitting_history()
    return make_run(tmp_path / "runs", "cells", history, diagnosis=real_diagnosis(history),
                    images_dir=tmp_path / "test-images")


# ---------------------------------------------------------------- the Qt binding


def test_emitting_signals_does_not_drain_references():
    """PySide6 6.12.0 loses a reference to True on every Signal.emit() called from Python: a window
    following a training (pyqtgraph and the pages emit constantly) crashed after a few minutes."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        happened = Signal(object)

    emitter = Emitter()
    emitter.happened.connect(lambda value: None)
    before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(2000):
        emitter.happened.emit({"fix": None})
    assert abs(sys.getrefcount(True) - before[0]) < 50
    assert abs(sys.getrefcount(None) - before[1]) < 50


# ---------------------------------------------------------------- the follower


def test_follower_reads_a_growing_file_and_collapses_batch_bursts(qtbot, tmp_path):
    from petrilab.gui.run_follower import RunFollower

    run_dir = tmp_path / "run"
    writer = ev.EventWriter(run_dir / runs.EVENTS, echo=False)
    follower = RunFollower(interval_ms=20)
    seen: list[str] = []
    follower.event.connect(lambda e: seen.append(e["event"]))
    follower.follow(run_dir)  # nothing written yet
    assert follower.state.status == "queued"

    writer.emit(ev.STARTED, main_metric="accuracy", epochs=3, initial_epoch=0, device="CPU")
    for b in range(1, 11):
        writer.emit(ev.BATCH, epoch=0, batch=b, batches=10, elapsed=0.1 * b)
    writer.emit(ev.EPOCH_END, epoch=0, epochs=3, metrics={"loss": 0.9, "val_loss": 1.0, "accuracy": 0.5,
                                                          "val_accuracy": 0.45}, seconds=1.0, best=True)
    # half a line: the engine is still writing it
    with open(run_dir / runs.EVENTS, "a", encoding="utf-8") as f:
        f.write('{"event": "batch", "epoch": 1, "ba')
    qtbot.waitUntil(lambda: follower.state.epochs_done == 1, timeout=2000)
    assert seen == ["started", "batch", "epoch_end"]  # ten batch events read at once: only the last emitted
    assert follower.state.series("val_loss") == ([1], [1.0])
    with open(run_dir / runs.EVENTS, "a", encoding="utf-8") as f:
        f.write('tch": 4, "batches": 10, "elapsed": 0.4, "time": 1}\n')
    qtbot.waitUntil(lambda: follower.state.batch.get("batch") == 4, timeout=2000)
    assert follower.state.progress() == pytest.approx((1 + 0.4) / 3)
    assert follower.state.seconds_left() == pytest.approx(0.6 + 1.0)  # rest of epoch 2, then epoch 3
    writer.emit(ev.FINISHED, status="completed", best_epoch=0)
    qtbot.waitUntil(lambda: follower.state.status == "completed", timeout=2000)
    follower.stop()


def test_follower_resume_replaces_the_epochs_after_the_checkpoint(qtbot, tmp_path):
    from petrilab.gui.run_follower import RunFollower

    run_dir = make_run(tmp_path, "r", good_history(6), evaluation=False)
    follower = RunFollower()
    follower.follow(run_dir)
    assert follower.state.epochs_done == 6 and follower.state.status == "completed"
    writer = ev.EventWriter(run_dir / runs.EVENTS, echo=False)
    writer.emit(ev.STARTED, main_metric="accuracy", epochs=10, initial_epoch=4)
    follower.poll()
    assert follower.state.status == "running"
    assert follower.state.epochs_done == 4  # epochs 5 and 6 are trained again from last.keras
    follower.stop()


def test_follower_reads_history_csv_when_there_are_no_events(qtbot, tmp_path):
    from petrilab.gui.run_follower import RunFollower

    run_dir = tmp_path / "copied-run"
    runs.write_history(run_dir / runs.HISTORY, good_history(5))
    follower = RunFollower()
    follower.follow(run_dir)
    assert len(follower.state.series("loss")[0]) == 5
    follower.stop()


# ---------------------------------------------------------------- the engine process


FAKE_ENGINE = textwrap.dedent('''
    """Behaves like `petrilab train SETTINGS --run-dir DIR` for the process runner's tests."""
    import sys, time
    from pathlib import Path
    from petrilab import events as ev
    mode = sys.argv[1]
    args = sys.argv[2:]
    run_dir = Path(args[args.index("--run-dir") + 1]) if "--run-dir" in args else Path(args[args.index("--resume") + 1])
    w = ev.EventWriter(run_dir / "events.jsonl")
    w.emit("started", main_metric="accuracy", epochs=3, initial_epoch=0, device="CPU")
    if mode == "crash":
        print("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", file=sys.stderr)
        print("I0000 00:00:1795310439.541905   17041 cudart_stub.cc:31] Could not find cuda drivers", file=sys.stderr)
        print("Traceback (most recent call last):\\n  MemoryError: the GPU ran out of memory", file=sys.stderr)
        sys.exit(1)
    if mode == "user-error":
        w.emit("error", message="No images were found in /data/cells.", file="/data/cells",
               fix="Choose the folder that contains one sub-folder per class.")
        w.emit("finished", status="failed")
        print("PetriLab: No images were found in /data/cells.", file=sys.stderr)
        sys.exit(2)
    for epoch in range(3):
        for batch in range(1, 200):
            if mode in ("polite", "slow-finish") and (run_dir / "STOP").exists():
                if mode == "slow-finish":  # saving, evaluating, writing the report: longer than the grace
                    for step in range(8):
                        w.emit("warning", message=f"still finishing {step}")
                        time.sleep(0.2)
                w.emit("finished", status="stopped", epochs_done=epoch)
                sys.exit(0)
            time.sleep(0.01)
        w.emit("epoch_end", epoch=epoch, epochs=3, metrics={"loss": 1.0 / (epoch + 1), "val_loss": 1.1 / (epoch + 1)},
               seconds=2.0, best=True)
        if mode == "stubborn":
            import signal
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(60)
    (run_dir / "model.keras").write_bytes(b"x")
    w.emit("finished", status="completed", epochs_done=3, best_epoch=2)
''')


def fake_engine(tmp_path: Path, mode: str) -> list[str]:
    script = tmp_path / "fake_engine.py"
    script.write_text(FAKE_ENGINE, encoding="utf-8")
    return [sys.executable, str(script), mode]


def test_engine_process_writes_settings_log_and_run_folder(qtbot, tmp_path):
    from petrilab.gui.process import EngineProcess

    engine = EngineProcess(command=fake_engine(tmp_path, "user-error"))
    with qtbot.waitSignal(engine.finished, timeout=20_000) as blocker:
        run_dir = engine.start_train(Settings(name="my cells"), tmp_path / "runs")
    assert blocker.args[0] == 2
    assert run_dir.parent == tmp_path / "runs" and run_dir.name.endswith("my-cells")
    assert settings_io.load(run_dir / runs.SETTINGS).name == "my cells"
    log = (run_dir / "engine.log").read_text()
    assert "PetriLab: No images" in log
    assert "No images" in engine.log_tail() and '{"event"' not in engine.log_tail()  # echoed events left out


def test_stop_is_polite_first(qtbot, tmp_path):
    from petrilab.gui.process import EngineProcess

    engine = EngineProcess(command=fake_engine(tmp_path, "polite"), grace_ms=10_000)
    run_dir = engine.start_train(Settings(), tmp_path / "runs")
    qtbot.waitUntil(lambda: (run_dir / runs.EVENTS).exists(), timeout=20_000)
    with qtbot.waitSignal(engine.finished, timeout=15_000) as blocker:
        engine.stop()
    assert blocker.args == [0, True]  # ended on its own, after seeing the STOP file
    assert ev.read_all(run_dir / runs.EVENTS)[-1]["status"] == "stopped"


@pytest.mark.slow
def test_stop_waits_for_an_engine_that_is_still_finishing_its_work(qtbot, tmp_path):
    from petrilab.gui.process import EngineProcess

    engine = EngineProcess(command=fake_engine(tmp_path, "slow-finish"), grace_ms=500, kill_ms=300)
    run_dir = engine.start_train(Settings(), tmp_path / "runs")
    qtbot.waitUntil(lambda: (run_dir / runs.EVENTS).exists(), timeout=20_000)
    with qtbot.waitSignal(engine.finished, timeout=15_000) as blocker:
        engine.stop()
    assert blocker.args == [0, True]  # not terminated although it took three grace periods
    assert ev.read_all(run_dir / runs.EVENTS)[-1]["status"] == "stopped"


@pytest.mark.slow
def test_stop_terminates_then_kills_an_engine_that_does_not_listen(qtbot, tmp_path):
    from petrilab.gui.process import EngineProcess

    engine = EngineProcess(command=fake_engine(tmp_path, "stubborn"), grace_ms=300, kill_ms=300)
    run_dir = engine.start_train(Settings(), tmp_path / "runs")
    qtbot.waitUntil(lambda: any(e["event"] == "epoch_end" for e in ev.read_all(run_dir / runs.EVENTS)),
                    timeout=20_000)
    with qtbot.waitSignal(engine.finished, timeout=10_000) as blocker:
        engine.stop()
    assert blocker.args[1] is False  # killed


def test_plain_failure_reads_the_engine_message():
    from petrilab.gui.process import plain_failure

    log = ("some tensorflow noise\nPetriLab: The folder /x does not exist.\n  File: /x\n"
           "  What to do: Check the path of the images to predict.\n")
    assert plain_failure(log) == ("The folder /x does not exist.", "/x", "Check the path of the images to predict.")
    assert plain_failure("Traceback (most recent call last):\n  boom") is None


@pytest.mark.slow
def test_a_failed_prediction_is_explained_from_its_error_event_not_the_terminal(qtbot, tmp_path):
    from petrilab.gui.engine_job import show_failure
    from petrilab.gui.process import EngineProcess
    from petrilab.gui.widgets.message_box import InlineMessage

    engine = EngineProcess()  # the real `petrilab predict`
    run, missing = tmp_path / "run", tmp_path / "no such folder"
    run.mkdir()
    with qtbot.waitSignal(engine.finished, timeout=120_000) as blocker:
        engine.start_predict(run, missing, tmp_path / "out")
    assert blocker.args[0] == 2
    assert engine.events_path == run / "engine-predict.events.jsonl"
    assert [e["event"] for e in ev.read_all(engine.events_path)] == ["error", "finished"]
    engine.log_path.write_text("", encoding="utf-8")  # the terminal text is not what the window reads
    message = InlineMessage()
    qtbot.addWidget(message)
    show_failure(message, engine, "The prediction")
    assert message.kind == "error" and f"The folder {missing} does not exist." in message.text()
    assert "Check the path of the images to predict." in message.text()
    # no event at all (the engine could not even start): the end of its log is all there is
    engine.events_path.write_text("", encoding="utf-8")
    engine.log_path.write_text("PetriLab: Python could not start.\n  What to do: Reinstall PetriLab.\n")
    show_failure(message, engine, "The prediction")
    assert "Python could not start." in message.text() and "Reinstall PetriLab." in message.text()


# ---------------------------------------------------------------- the train page


def test_train_page_shows_a_finished_run(qtbot, context, finished_run):
    from petrilab.gui.pages.train_page import NOT_TRAINED, TrainPage

    page = TrainPage(context)
    qtbot.addWidget(page)
    context.set_run(finished_run)
    page.enter()
    assert page.curves.loss.curves["training"].getData()[0].tolist() == list(range(1, 31))
    assert len(page.curves.metric.curves["validation"].getData()[1]) == 30
    assert page.diagnosis.verdict.text() == "Overfitting"
    assert page.diagnosis.stage.text() == "Final verdict"
    assert page.diagnosis.advice_buttons, "the overfitting advice can be applied"
    assert "Training finished" in page.status.text()
    assert "CPU" in page.details.text() and "27 843 parameters" in page.details.text()
    assert page.warnings.isVisibleTo(page) and "fewer images" in page.warnings.text()
    assert "devices" not in page.details.text()  # one device: nothing to say
    assert page.problem() is None
    context.set_run(None)  # another experiment was opened
    assert page.curves.point_count() == 0 and page.status.text() == NOT_TRAINED
    assert page.diagnosis.stage.text() == "The verdict appears after a few epochs."
    assert page.problem() == NOT_TRAINED and not page.warnings.isVisibleTo(page)


def test_train_page_says_when_devices_share_the_training(qtbot, context, tmp_path):
    from petrilab.gui.pages.train_page import TrainPage

    shared = {"strategy": "mirrored", "devices": ["GPU:0", "GPU:1"], "replicas": 2, "per_device_batch_size": 32,
              "global_batch_size": 64}
    history = overfitting_history()
    run = make_run(tmp_path / "runs", "cells", history, diagnosis=real_diagnosis(history), distribution=shared)
    page = TrainPage(context)
    qtbot.addWidget(page)
    context.set_run(run)
    page.enter()
    assert "shared by 2 devices, 64 images per step" in page.details.text()


def test_train_page_live_updates_from_a_run_being_written(qtbot, context, tmp_path):
    from petrilab.gui.pages.train_page import TrainPage

    history = good_history(8)
    run_dir = make_run(tmp_path / "runs", "live", history[:2], finished=False)
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.show_run(run_dir)
    assert page.curves.loss.point_count() == 4
    assert page.problem() == "The training is still running: wait for it to finish, or press Stop."
    assert f"Epoch 3 of {Settings().training.epochs}" in page.progress_label.text() and "left" in page.progress_label.text()
    writer = ev.EventWriter(run_dir / runs.EVENTS, echo=False)
    for row in history[2:]:
        writer.emit(ev.EPOCH_END, epoch=row["epoch"], epochs=30,
                    metrics={k: v for k, v in row.items() if k != "epoch"}, seconds=1.0, best=True)
        writer.emit(ev.DIAGNOSIS, **real_diagnosis(history[: row["epoch"] + 1], final=False))
    qtbot.waitUntil(lambda: page.curves.loss.point_count() == 16, timeout=3000)
    qtbot.waitUntil(lambda: page.diagnosis.stage.text().startswith("So far"), timeout=3000)  # a turn later
    # a run started elsewhere can be stopped from here too: the engine honours the STOP file
    assert page.stop_button.isEnabled()
    page.stop_button.click()
    assert (run_dir / runs.STOP_REQUEST).exists() and page.status.text().startswith("Stopping")
    assert not page.stop_button.isEnabled()
    writer.emit(ev.ERROR, message="The disk is full.", file=str(run_dir), fix="Free some space and continue.")
    writer.emit(ev.FINISHED, status="failed")
    qtbot.waitUntil(lambda: page.message.isVisibleTo(page), timeout=3000)
    assert "The disk is full." in page.message.text() and "Free some space" in page.message.text()
    assert "Traceback" not in page.message.text()
    assert page.status.text() == "Training failed"
    page.follower.stop()


def test_train_page_crash_without_error_event_shows_plain_words_and_the_log(qtbot, context, tmp_path):
    from petrilab.gui.pages.train_page import CRASHED, TrainPage
    from petrilab.gui.process import EngineProcess

    page = TrainPage(context, engine=EngineProcess(command=fake_engine(tmp_path, "crash")))
    qtbot.addWidget(page)
    context.settings.data.folder = str(tmp_path / "data")  # beside the runs folder: never inside it
    with qtbot.waitSignal(page.engine.finished, timeout=20_000):
        run_dir = page.start()
    assert run_dir is not None and context.current_run == run_dir
    text = page.message.text()
    assert CRASHED in text and "Copy details" in text  # plain words; the log is for a report, folded
    details = page.message.details_text.toPlainText()
    assert "MemoryError" in details and "MemoryError" not in text  # the last lines of engine.log, folded
    assert "cudart_stub" not in details and "absl" not in details  # without TensorFlow's start-up chatter
    assert page.message.details_row.isVisibleTo(page) and not page.message.details_text.isVisibleTo(page)
    page.message.show_details_button.click()
    assert page.message.details_text.isVisibleTo(page)
    copied = page.message.copy_details()
    assert CRASHED in copied and "ran out of memory" in copied
    assert QGuiApplication.clipboard().text() == copied
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()
    page.follower.stop()


@pytest.mark.slow
def test_train_page_refuses_invalid_settings_in_plain_words(qtbot, context):
    from petrilab.gui.pages.train_page import TrainPage

    page = TrainPage(context)
    qtbot.addWidget(page)
    context.settings.split.validation_fraction = 0.5
    context.settings.split.test_fraction = 0.45
    assert page.start() is None
    assert "almost nothing to train on" in page.message.text()
    assert not page.engine.is_running()


def test_advice_changes_settings_and_leads_to_the_page(qtbot, context, finished_run):
    from petrilab.gui.pages.train_page import TrainPage

    page = TrainPage(context)
    qtbot.addWidget(page)
    page.show_run(finished_run)
    pages: list[str] = []
    context.go_to_page.connect(pages.append)
    page.apply_advice({"text": "Add dropout", "changes": {"model.dropout": 0.3}, "page": "model", "resume": False})
    assert context.settings.model.dropout == 0.3 and pages == ["model"]
    page.apply_advice({"text": "Bad", "changes": {"model.dropout": "lots"}, "page": "model", "resume": False})
    assert "model.dropout" in page.message.text() and pages == ["model"]
    # the buttons of the real diagnosis apply the real advice
    with qtbot.waitSignal(page.diagnosis.advice_applied) as blocker:
        page.diagnosis.advice_buttons[0].click()
    assert blocker.args[0]["text"]
    page.follower.stop()


def test_resume_advice_continues_the_run_with_the_new_epochs(qtbot, context, tmp_path, finished_run):
    from petrilab.gui.pages.train_page import TrainPage
    from petrilab.gui.process import EngineProcess

    recorder = tmp_path / "record_args.py"
    recorder.write_text("import sys, json, pathlib\n"
                        "pathlib.Path(sys.argv[1]).write_text(json.dumps(sys.argv[2:]))\n")
    args_file = tmp_path / "args.json"
    page = TrainPage(context, engine=EngineProcess(command=[sys.executable, str(recorder), str(args_file)]))
    qtbot.addWidget(page)
    page.show_run(finished_run)
    with qtbot.waitSignal(page.engine.finished, timeout=20_000):
        page.apply_advice({"text": "Train 20 more epochs", "changes": {"training.epochs": 50}, "page": "train",
                           "resume": True})
    args = json.loads(args_file.read_text())
    assert args == ["train", str(finished_run / runs.SETTINGS), "--resume", str(finished_run), "--quiet",
                    "--set", "training.epochs=50"]
    assert context.settings.training.epochs == 50
    page.follower.stop()


# ---------------------------------------------------------------- evaluate, predict, runs


def test_evaluate_page_shows_metrics_matrix_table_and_mistakes(qtbot, context, finished_run):
    from petrilab.gui.pages.evaluate_page import EvaluatePage

    page = EvaluatePage(context)
    qtbot.addWidget(page)
    context.set_run(finished_run)
    page.enter()
    assert page.cards["accuracy"].text() == "84.3%"
    assert page.cards["n_images"].text() == "70"
    assert page.confusion.rowCount() == 3 and page.confusion.cell_count(0, 1) == 3
    assert page.per_class.rowCount() == 3 and page.per_class.item(2, 0).text() == "infected"
    assert page.per_class.item(2, 3).text() == "87.0%"
    assert "uncertain" in page.warnings.text()
    assert page.gallery.count() == 11  # the off-diagonal cells: 3 + 1 + 2 + 1 + 0 + 4
    assert "true: dividing" in page.gallery.item(0).text()
    qtbot.waitUntil(lambda: page.gallery.loaded == 11, timeout=10_000)  # thumbnails arrive in the background
    assert not page.gallery.item(0).icon().isNull()
    assert page.problem() is None


def test_evaluate_on_another_folder_runs_the_engine_and_shows_that_evaluation(qtbot, context, finished_run, tmp_path):
    from petrilab.gui.pages.evaluate_page import EvaluatePage
    from petrilab.gui.process import EngineProcess

    # stands in for `petrilab evaluate RUN --data DIR`: records its arguments, writes evaluation_<folder>.json
    fake = tmp_path / "fake_evaluate.py"
    fake.write_text(textwrap.dedent('''
        import json, sys
        from pathlib import Path
        run_dir, data = Path(sys.argv[2]), Path(sys.argv[4])
        (run_dir / "args.json").write_text(json.dumps(sys.argv[1:]))
        evaluation = json.loads((run_dir / "evaluation.json").read_text())
        evaluation.update(source=str(data), n_images=12)
        (run_dir / f"evaluation_{data.name}.json").write_text(json.dumps(evaluation))
    '''))
    other = tmp_path / "microscope-2"
    other.mkdir()
    page = EvaluatePage(context, engine=EngineProcess(command=[sys.executable, str(fake)]))
    qtbot.addWidget(page)
    context.set_run(finished_run)
    page.enter()
    with qtbot.waitSignal(page.engine.finished, timeout=20_000):
        page.evaluate(other)
    assert json.loads((finished_run / "args.json").read_text()) == [
        "evaluate", str(finished_run), "--data", str(other),
        "--events", str(finished_run / "engine-evaluate.events.jsonl")]  # the window follows events, not the log
    assert page.source.count() == 2 and page.source.currentText() == "microscope-2"
    assert page.cards["n_images"].text() == "12"
    page.source.setCurrentIndex(0)
    assert page.cards["n_images"].text() == "70"


def test_evaluate_page_shows_what_a_regression_reports(qtbot, context, tmp_path):
    from petrilab.gui.pages.evaluate_page import EvaluatePage

    run_dir = make_run(tmp_path / "runs", "beads", good_history(5), evaluation=False)
    runs.atomic_write_json(run_dir / runs.EVALUATION, {
        "task": "regression", "source": "test split", "n_images": 40, "targets": ["x", "y"],
        "metrics": {"mae": 1.25, "rmse": 1.8, "r2": 0.91, "baseline_mae": 6.0,
                    "per_target": {"x": {"mae": 1.1, "rmse": 1.6, "r2": 0.93, "n": 40},
                                   "y": {"mae": 1.4, "rmse": 2.0, "r2": 0.89, "n": 40}}},
        "warnings": []})
    runs.atomic_write_csv(run_dir / "test_predictions.csv", ["file", "true_x", "predicted_x"], [["a.png", 1, 1.2]])
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    context.set_run(run_dir)
    page.enter()
    assert [c.name.text() for c in page.card_widgets if not c.isHidden()] == [
        "Mean absolute error · test images", "RMSE · test images", "R² · test images", "Test images"]
    assert page.cards["mae"].text() == "1.25" and page.cards["n_images"].text() == "40"
    assert page.confusion_box.isHidden() and page.gallery_box.isHidden()
    assert page.per_class_title.text() == "Per value" and page.per_class.rowCount() == 2
    assert page.per_class.horizontalHeaderItem(1).text() == "MAE" and page.per_class.item(1, 3).text() == "0.89"


def test_evaluate_page_without_evaluation_says_what_to_do(qtbot, context, tmp_path):
    from petrilab.gui.pages.evaluate_page import NOT_EVALUATED, EvaluatePage

    run_dir = make_run(tmp_path / "runs", "no-eval", good_history(5), evaluation=False)
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    context.set_run(run_dir)
    page.enter()
    assert NOT_EVALUATED in page.message.text()
    assert page.evaluate_button.isEnabled()
    # nothing measured yet: no empty confusion matrix or accuracy cards, whatever the task
    assert page.metric_cards.isHidden() and page.sections.isHidden()
    context.set_run(None)
    page.enter()
    assert page.metric_cards.isHidden() and page.sections.isHidden()


def test_predict_page_refuses_an_output_folder_inside_the_images(qtbot, context, finished_run, tmp_path):
    from petrilab.gui.pages.predict_page import OUTPUT_INSIDE, PredictPage

    images = tmp_path / "new-images"
    images.mkdir()
    page = PredictPage(context)
    qtbot.addWidget(page)
    context.set_run(finished_run)
    page.enter()
    page.input_edit.setText(str(images))
    proposed = Path(page.output_edit.text())  # a new folder named after the model, never inside the images
    assert proposed.parent == Path(context.runs_dir).parent / "predictions"
    assert proposed.name.startswith(f"{finished_run.name}_") and images not in proposed.parents
    page.output_edit.setText(str(images / "results"))
    assert page.predict() is False
    assert OUTPUT_INSIDE in page.message.text()
    assert not page.engine.is_running()


def test_predict_page_shows_the_results_table(qtbot, context, finished_run, tmp_path):
    from petrilab.gui.pages.predict_page import PredictPage

    out = tmp_path / "out"
    runs.atomic_write_csv(out / "predictions.csv", ["file", "predicted_class", "p_healthy", "p_infected", "problem"],
                          [["a.png", "healthy", "0.9", "0.1", ""], ["b.png", "infected", "0.2", "0.8", ""],
                           ["c.png", "", "", "", "The file is not an image."], ["d.png", "infected", "0.46", "0.54", ""]])
    page = PredictPage(context)
    qtbot.addWidget(page)
    page.input_edit.setText(str(tmp_path / "new-images"))
    page.show_results(out / "predictions.csv")
    assert page.table.rowCount() == 4
    assert page.summary.text() == ("4 images: 2 infected, 1 healthy · 1 coin toss (shown first: check them) · "
                                   "1 could not be read")
    assert page.open_button.isEnabled()
    # the pictures first, the least sure first, the close call flagged
    assert page.views.currentWidget() is page.gallery
    captions = [page.gallery.item(i).text() for i in range(page.gallery.count())]
    assert captions == ["infected 54% · coin toss\nd.png", "infected 80%\nb.png", "healthy 90%\na.png"]
    assert page.gallery.item(0).data(Qt.ItemDataRole.UserRole) == str(tmp_path / "new-images" / "d.png")


def test_predict_page_shows_the_engines_plain_message_when_it_refuses(qtbot, context, finished_run, tmp_path):
    from petrilab.gui.pages.predict_page import PredictPage
    from petrilab.gui.process import EngineProcess

    refuses = tmp_path / "refuses.py"
    refuses.write_text("import sys\n"
                       "print('Traceback (most recent call last): noise the user must not see')\n"
                       "print('PetriLab: No images were found in the folder.\\n  File: /x\\n"
                       "  What to do: PetriLab reads TIFF, PNG, JPEG and BMP files.', file=sys.stderr)\n"
                       "sys.exit(2)\n")
    images = tmp_path / "empty"
    images.mkdir()
    page = PredictPage(context, engine=EngineProcess(command=[sys.executable, str(refuses)]))
    qtbot.addWidget(page)
    context.set_run(finished_run)
    page.enter()
    page.input_edit.setText(str(images))
    with qtbot.waitSignal(page.engine.finished, timeout=20_000):
        assert page.predict()
    text = page.message.text()
    assert "No images were found" in text and "TIFF, PNG" in text and "Traceback" not in text
    assert page.predict_button.isEnabled() and page.busy.isHidden()
    page.shutdown()


def test_predict_page_explains_an_unexpected_problem_without_programmer_words(qtbot, context, finished_run,
                                                                           tmp_path):
    """A crash inside the engine: what happened, what is saved, what to do; the library path and --debug
    only in the details a user copies for a report."""
    from petrilab.gui.pages.predict_page import PredictPage
    from petrilab.gui.process import EngineProcess

    crashes = tmp_path / "crashes.py"
    crashes.write_text("import sys\n"
                       "print('PetriLab stopped because of an unexpected problem: ValueError: cannot reshape in "
                       "/usr/lib/python3/site-packages/keras/src/ops.py\\n  What to do: run the same command "
                       "again with --debug and send its output to the PetriLab developers.', file=sys.stderr)\n"
                       "sys.exit(1)\n")
    images = tmp_path / "new-images"
    images.mkdir()
    page = PredictPage(context, engine=EngineProcess(command=[sys.executable, str(crashes)]))
    qtbot.addWidget(page)
    context.set_run(finished_run)
    page.enter()
    page.input_edit.setText(str(images))
    page.output_edit.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(page.engine.finished, timeout=20_000):
        assert page.predict()
    text = page.message.text()
    assert "The prediction stopped because of a problem inside PetriLab" in text
    assert "Nothing was lost: the trained model" in text and finished_run.name in text
    assert "--debug" not in text and "site-packages" not in text
    assert "site-packages" in page.message.copy_details()
    page.shutdown()


def test_runs_page_lists_compares_and_follows_runs(qtbot, context, tmp_path):
    from petrilab.gui.pages.runs_page import RunsPage

    history = overfitting_history()
    first = make_run(context.runs_dir, "first", history, diagnosis=real_diagnosis(history), evaluation=False)
    second = make_run(context.runs_dir, "second", good_history(12), finished=False)
    elsewhere = make_run(tmp_path / "cluster", "from-the-cluster", good_history(4), finished=False)
    page = RunsPage(context)
    qtbot.addWidget(page)
    page.enter()
    assert page.table.rowCount() == 2
    rows = {page.table.item(r, 0).text(): r for r in range(2)}
    assert page.table.item(rows[first.name], 2).text() == "completed"
    assert page.table.item(rows[first.name], 5).text() == "Overfitting"
    assert page.table.item(rows[second.name], 2).text() == "running"
    page.select_runs([first, second])
    assert page.selected_runs() and len(page.selected_runs()) == 2
    assert page.curves.loss.point_count() == 2 * (30 + 12)  # two runs, training + validation each

    page.add_folder(elsewhere)
    assert page.table.rowCount() == 3 and page.selected_runs() == [elsewhere]
    assert page.curves.loss.point_count() == 8
    writer = ev.EventWriter(elsewhere / runs.EVENTS, echo=False)
    writer.emit(ev.EPOCH_END, epoch=4, epochs=30, metrics={"loss": 0.3, "val_loss": 0.35}, seconds=1.0)
    page.refresh()
    assert page.curves.loss.point_count() == 10  # followed live
    rows = {page.table.item(r, 0).text(): r for r in range(3)}
    assert page.table.item(rows[elsewhere.name], 3).text() == "5"  # its epochs column went on too
    pages: list[str] = []
    context.go_to_page.connect(pages.append)
    page.open_in_train_page()
    assert context.current_run == elsewhere and pages == ["train"]
    page.timer.stop()


def test_the_legends_cover_no_point_of_the_curves(qtbot, context, tmp_path):
    """A loss that stays flat and then falls used to run under the legend in the plot's top right."""
    from PySide6.QtCore import QPointF

    from petrilab.gui.pages.train_page import TrainPage

    flat_then_falling = [{"epoch": e, "loss": 1.1 - (0.003 * e if e < 12 else 0.04 + 0.05 * (e - 12)),
                          "val_loss": 1.1 - (0.003 * e if e < 12 else 0.03 + 0.04 * (e - 12)),
                          "accuracy": min(0.3 + 0.03 * e, 0.95), "val_accuracy": min(0.3 + 0.025 * e, 0.9)}
                         for e in range(20)]
    run = make_run(tmp_path / "runs", "cells", flat_then_falling)
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.resize(1070, 730)
    page.show()
    context.set_run(run)
    page.enter()
    qtbot.wait(50)
    for plot in (page.curves.loss, page.curves.metric):
        legend = plot.legend.sceneBoundingRect()
        view = plot.plotItem.vb
        points = [view.mapViewToScene(QPointF(x, y)) for item in plot.curves.values()
                  for x, y in zip(item.xData, item.yData)]
        assert len(points) == 40
        assert not any(legend.contains(p) for p in points), plot.plotItem.titleLabel.text


def test_runs_page_says_what_changed_from_the_run_before(qtbot, context):
    """Runs of one experiment share a name: the list says what differs from the run before."""
    from petrilab.gui.pages.runs_page import RunsPage
    from petrilab.gui.pages.runs_table import CHANGES_COLUMN

    before = Settings(name="demo")
    before.training.learning_rate = 0.001
    before.training.epochs = 30
    first = make_run(context.runs_dir, "demo", good_history(4), evaluation=False, settings=before)
    changed = Settings(name="demo")
    changed.training.learning_rate = 0.003
    changed.training.epochs = 40
    second = make_run(context.runs_dir, "demo", good_history(4), evaluation=False, settings=changed)
    page = RunsPage(context)
    qtbot.addWidget(page)
    page.enter()
    rows = {page.table.item(r, 0).toolTip(): r for r in range(page.table.rowCount())}
    assert page.table.item(rows[str(first)], CHANGES_COLUMN).text() == "first run"
    words = page.table.item(rows[str(second)], CHANGES_COLUMN).text()
    assert "0.001 → 0.003" in words and "30 → 40" in words and "learning rate" in words.lower()
    page.timer.stop()
