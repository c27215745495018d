"""The whole classification flow through the real main window, as a user would drive it.

Task → Data → Split → Model → Train (a real, short training in the engine's
child process) → Evaluate → Predict (another child process), asserting on
what the user sees and on the files written. Tiny images and a tiny network
keep it to well under a minute on two CPU cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import csv  # noqa: E402
import shutil  # noqa: E402

import psutil  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402

from petrilab import runs  # noqa: E402
from petrilab.demo import make_classification_demo  # noqa: E402
from petrilab.gui.context import AppContext  # noqa: E402

from helpers import main_window  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def window(qtbot, tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    with main_window(tmp_path, (1280, 800)) as w:
        yield w


def test_the_whole_flow_from_images_to_predictions(qtbot, window, tmp_path):
    data = make_classification_demo(tmp_path / "cells", n_per_class=16, size=32, seed=3)
    new_images = tmp_path / "new-images"
    for i, path in enumerate(sorted(data.rglob("*.png"))[::6]):
        new_images.mkdir(exist_ok=True)
        shutil.copy(path, new_images / f"new_{i:02d}.png")  # unlabelled: no class folders
    n_new = len(list(new_images.iterdir()))
    context = window.context

    # 1. Task
    window.pages["task"].choose("classification")
    qtbot.mouseClick(window.next_button, Qt.MouseButton.LeftButton)
    assert window.current_key == "data"

    # 2. Data: the check runs in the background; Next opens once it is done
    window.pages["data"].set_folder(data)
    qtbot.waitUntil(window.next_button.isEnabled, timeout=20_000)
    qtbot.mouseClick(window.next_button, Qt.MouseButton.LeftButton)
    assert window.current_key == "split"

    # 3. Split: the defaults
    qtbot.waitUntil(window.next_button.isEnabled, timeout=10_000)
    qtbot.mouseClick(window.next_button, Qt.MouseButton.LeftButton)
    assert window.current_key == "model"

    # 4. Model: a tiny convnet, 3 epochs (what the model page's controls write); a fixed learning rate and no
    # flips (helpers.FIXED_CHOICES): the range test and the flip probe have their own tests, not this flow
    for key, value in {"data.image_size": [32, 32], "model.filters": [4, 8], "model.head_units": [8],
                       "training.epochs": 3, "training.batch_size": 8, "name": "flow",
                       "training.learning_rate": 0.001, "augmentation.geometric": "no"}.items():
        context.set_value(key, value)
    qtbot.waitUntil(window.next_button.isEnabled, timeout=10_000)
    qtbot.mouseClick(window.next_button, Qt.MouseButton.LeftButton)
    assert window.current_key == "train"

    # 5. Train: a real training in the engine's child process, followed through the run folder
    train = window.pages["train"]
    assert not window.next_button.isEnabled()  # nothing trained yet
    with qtbot.waitSignal(train.engine.finished, timeout=80_000) as ended:
        qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
        assert train.stop_button.isEnabled()
    assert ended.args == [0, True], train.engine.log_tail()
    run_dir = context.current_run
    assert run_dir is not None and run_dir.parent == tmp_path / "runs"
    for name in (runs.EVENTS, runs.HISTORY, runs.BEST_MODEL, runs.DIAGNOSIS, runs.EVALUATION, "engine.log"):
        assert (run_dir / name).exists(), name
    assert train.curves.loss.curves["training"].getData()[0].tolist() == [1, 2, 3]
    assert len(train.curves.loss.curves["validation"].getData()[0]) == 3
    assert len(train.curves.metric.curves["validation"].getData()[0]) == 3
    assert train.diagnosis.stage.text() == "Final verdict"
    assert train.diagnosis.verdict.text() not in ("", "Waiting for the first epochs")
    assert train.status.text().startswith("Training finished")
    assert "CPU" in train.details.text()
    assert train.progress.value() == train.progress.maximum()
    assert not train.message.isVisibleTo(train), train.message.text()
    qtbot.waitUntil(window.next_button.isEnabled, timeout=5_000)

    # 6. Evaluate: what the engine measured on the test images at the end of training
    qtbot.mouseClick(window.next_button, Qt.MouseButton.LeftButton)
    assert window.current_key == "evaluate"
    evaluate = window.pages["evaluate"]
    assert evaluate.per_class.rowCount() == 3
    assert evaluate.confusion.rowCount() == 3 and evaluate.confusion.columnCount() == 3
    n_test = int(evaluate.cards["n_images"].text())
    assert n_test > 0
    assert sum(evaluate.confusion.cell_count(i, j) for i in range(3) for j in range(3)) == n_test
    assert evaluate.cards["accuracy"].text().endswith("%")
    assert "Misclassified test images" in evaluate.gallery_title.text()

    # 7. Predict: new images in another child process; never an output folder inside the images
    qtbot.mouseClick(window.next_button, Qt.MouseButton.LeftButton)
    assert window.current_key == "predict"
    predict = window.pages["predict"]
    predict.input_edit.setText(str(new_images))
    predict.output_edit.setText(str(new_images / "results"))
    qtbot.mouseClick(predict.predict_button, Qt.MouseButton.LeftButton)
    assert "inside the folder of images" in predict.message.text()
    output = tmp_path / "results"
    predict.output_edit.setText(str(output))
    with qtbot.waitSignal(predict.engine.finished, timeout=60_000) as ended:
        qtbot.mouseClick(predict.predict_button, Qt.MouseButton.LeftButton)
    assert ended.args[0] == 0, predict.engine.log_tail()
    assert predict.table.rowCount() == n_new
    assert predict.summary.text().startswith(f"{n_new} images:")
    assert predict.open_button.isEnabled()
    with open(output / "predictions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n_new and {r["predicted_class"] for r in rows} <= {"elongated", "fragmented", "round"}
    assert sorted(p.name for p in new_images.iterdir()) == sorted(r["file"] for r in rows)  # input untouched

    # Runs: the run is listed with its result
    window.go_to("runs")
    runs_page = window.pages["runs"]
    assert runs_page.table.rowCount() == 1
    assert runs_page.table.item(0, 2).text() == "completed"
    assert runs_page.table.item(0, 5).text() != ""
    runs_page.timer.stop()


def test_stop_ends_a_real_training_politely_keeps_its_model_and_leaves_no_process(qtbot, tmp_path):
    from petrilab.gui.pages.train_page import STOPPED, TrainPage

    data = make_classification_demo(tmp_path / "cells", n_per_class=12, size=32, seed=4)
    context = AppContext(runs_dir=tmp_path / "runs")
    for key, value in {"data.folder": str(data), "data.image_size": [32, 32], "model.filters": [4],
                       "model.head_units": [8], "training.epochs": 500, "training.batch_size": 8,
                       "training.learning_rate": 0.001, "augmentation.geometric": "no"}.items():  # FIXED_CHOICES
        context.set_value(key, value)
    page = TrainPage(context)
    qtbot.addWidget(page)
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    run_dir = page.start()
    qtbot.waitUntil(lambda: page.follower.state.epochs_done >= 1, timeout=60_000)
    engines = [p for p in me.children(recursive=True) if p.pid not in before]
    assert engines, "the engine runs as a child process"
    with qtbot.waitSignal(page.engine.finished, timeout=60_000) as ended:
        qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
        assert page.status.text().startswith("Stopping")
    assert ended.args == [0, True], page.engine.log_tail()  # it ended by itself, not terminated
    assert page.follower.state.status == "stopped"
    page.follower.poll()
    assert page.status_now() == "stopped"
    # no process of the training outlives it (what test_soak.py's own stop test asserted before)
    gone, alive = psutil.wait_procs(engines, timeout=30)
    assert not alive, f"left behind: {[p.cmdline() for p in alive]}"
    assert {p.pid for p in me.children(recursive=True)} <= before
    assert page.follower.state.epochs_done < 500
    assert (run_dir / runs.BEST_MODEL).exists() and (run_dir / runs.LAST_MODEL).exists()
    assert not (run_dir / runs.STOP_REQUEST).exists()  # the engine cleared the request
    assert STOPPED in page.message.text()
    assert page.problem() is None  # a stopped run can be evaluated

    # "Train N more epochs from where it stopped": the same run folder goes on, the curves continue
    done = page.follower.state.epochs_done
    with qtbot.waitSignal(page.engine.finished, timeout=60_000) as ended:
        page.apply_advice({"text": "Train 2 more epochs", "changes": {"training.epochs": done + 2},
                           "page": "train", "resume": True})
    assert ended.args == [0, True], page.engine.log_tail()
    assert page.follower.run_dir == run_dir and page.follower.state.status == "completed"
    assert page.follower.state.epochs_done == done + 2
    assert page.curves.loss.curves["training"].xData.tolist() == list(range(1, done + 3))
    page.follower.stop()
