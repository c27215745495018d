"""The window as a new user meets it (issue #15): each page shows only what belongs to the current experiment
and model, suggestions are where they are seen, example data for every task, a tour that keeps still and
waits, and the last experiment reopened.

One tiny regression model (the bead demo, 32 × 32; tests/finished_runs.py trains it once through the command
line); the pages are then driven through the real main window.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QEvent, QPoint, QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from petrilab import runs  # noqa: E402
from petrilab.gui import session, welcome  # noqa: E402
from petrilab.gui.app import open_window  # noqa: E402
from petrilab.gui.pages.predict_page import NO_MODEL  # noqa: E402
from petrilab.gui.pages.train_page import NOT_TRAINED  # noqa: E402
from petrilab.gui.predict_fit import check_fit, default_output  # noqa: E402
from petrilab.resources import demo_data, resources_dir  # noqa: E402

import finished_runs  # noqa: E402
from helpers import main_window  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def bead(tmp_path_factory):
    """(data folder, run folder): a tiny bead-position model (regression on 40 bead images, 32 × 32 grey), the
    finished run of tests/finished_runs.py (trained once by the real command line), copied as runs/bead-run."""
    run = tmp_path_factory.mktemp("bead") / "runs" / "bead-run"
    finished = finished_runs.copy_of("regression", run)
    return finished.data, finished.run


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """QSettings and ~/PetriLab go to tmp_path, never to the user's own."""
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))


@pytest.fixture
def window(qtbot, tmp_path):
    with main_window(tmp_path, (1280, 800), model_helper=False) as w:
        qtbot.waitExposed(w)
        yield w


@pytest.fixture
def window_with_model_helper(qtbot, tmp_path):
    """The window with its real model helper, for the tests that read the helper's answers."""
    with main_window(tmp_path, (1280, 800)) as w:
        qtbot.waitExposed(w)
        yield w


def copy_images(source: Path, target: Path, n: int) -> Path:
    target.mkdir(parents=True)
    for path in sorted(source.glob("*.png"))[:n]:
        shutil.copy(path, target / path.name)
    return target


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def wait_checked(qtbot, page) -> None:
    qtbot.waitUntil(lambda: not page.checking and (page.checked is not None or page.error is not None),
                    timeout=60_000)


# ---------------------------------------------------------------- 1. Predict: results belong to the model shown


@pytest.mark.slow
def test_predictions_go_to_a_new_folder_per_model_and_another_model_starts_clean(qtbot, window, bead, tmp_path):
    data, run = bead
    new = copy_images(data / "images", tmp_path / "new-beads", 5)
    before = hashes(new)
    context = window.context
    context.set_run(run)
    assert window.go_to("predict", force=True)
    predict = window.pages["predict"]

    # the proposed folder: new, named after the model and the moment, beside the runs folder (not the data)
    proposed = Path(predict.output_edit.text())
    assert proposed.parent == tmp_path / "predictions" and proposed.name.startswith("bead-run_")
    assert not proposed.exists()

    predict.input_edit.setText(str(new))
    qtbot.waitUntil(lambda: not predict._fit_timer.isActive(), timeout=5_000)
    assert not predict.fit_note.isVisibleTo(predict), predict.fit_note.text()  # beads for a bead model: fine
    assert predict.predict_button.text() == "Predict"
    with qtbot.waitSignal(predict.engine.finished, timeout=120_000) as ended:
        qtbot.mouseClick(predict.predict_button, Qt.MouseButton.LeftButton)
    assert ended.args[0] == 0, predict.engine.log_tail()
    assert predict.table.rowCount() == 5
    with open(proposed / "predictions.csv", newline="", encoding="utf-8") as f:
        assert {"x", "y"} <= set(csv.DictReader(f).fieldnames)
    assert hashes(new) == before  # the new images are untouched
    # the next prediction would go to another new folder: results are never written over by default
    again = Path(predict.output_edit.text())
    assert again != proposed and not again.exists() and again.name.startswith("bead-run_")

    # another model (a new training): none of the first model's results remain on the page
    other = tmp_path / "runs" / "other-run"
    shutil.copytree(run, other)
    context.set_run(other)
    assert predict.table.rowCount() == 0 and predict.summary.text() == "" and predict.status.text() == ""
    assert not predict.open_button.isEnabled()
    assert Path(predict.output_edit.text()).name.startswith("other-run_")
    assert predict.model_label.text() == "Model: other-run"


def test_the_default_results_folder_is_never_inside_the_data(tmp_path):
    data = tmp_path / "data"
    (data / "runs").mkdir(parents=True)
    inside = default_output(data / "runs" / "r1", data / "runs", avoid=(str(data),))
    assert inside.parent == tmp_path / "home" / "PetriLab" / "predictions"
    first = default_output(tmp_path / "runs" / "r1", tmp_path / "runs", now=0)
    first.mkdir(parents=True)
    second = default_output(tmp_path / "runs" / "r1", tmp_path / "runs", now=0)  # the same second: still new
    assert second != first and second.parent == first.parent


@pytest.mark.slow
def test_images_that_do_not_fit_the_model_are_pointed_out_before_predicting(qtbot, window, bead, tmp_path):
    _data, run = bead
    nuclei = copy_images(demo_data("instance") / "images", tmp_path / "nuclei", 3)
    window.context.set_run(run)
    window.go_to("predict", force=True)
    predict = window.pages["predict"]
    predict.input_edit.setText(str(nuclei))
    assert predict.predict() is False  # the first click shows what differs, and nothing starts
    assert not predict.engine.is_running()
    text = predict.fit_note.text()
    assert predict.fit_note.isVisibleTo(predict)
    assert "128 × 128" in text and "32 × 32" in text, text
    assert predict.predict_button.text() == "Predict anyway"
    output = Path(predict.output_edit.text())
    with qtbot.waitSignal(predict.engine.finished, timeout=120_000) as ended:
        assert predict.predict() is True  # the user was told: predicting anyway is their choice
    assert ended.args[0] == 0, predict.engine.log_tail()
    assert (output / "predictions.csv").exists()

    # other channels, a segmentation folder, a classification folder: each named in plain words
    colour = tmp_path / "colour"
    colour.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), mode="RGB").save(colour / f"c{i}.png")
    assert any("colour (3 channels)" in p and "grey" in p for p in check_fit(run, colour).problems)
    segmentation = demo_data("instance")
    before = hashes(segmentation)
    predict.input_edit.setText(str(segmentation))
    qtbot.waitUntil(lambda: predict.fit_note.isVisibleTo(predict), timeout=5_000)
    assert "'images' and 'masks'" in html.unescape(predict.fit_note.text())
    classes = demo_data("classification")
    assert any("one sub-folder of images per class" in p and "regression" in p
               for p in check_fit(run, classes).problems)
    assert hashes(segmentation) == before  # only headers were read
    assert not check_fit(run, _data / "images")  # its own kind of images: nothing to say


# ---------------------------------------------------------------- 2. a change of task drops the old one's run


@pytest.mark.slow
def test_changing_the_task_leaves_no_page_showing_the_old_run(qtbot, window_with_model_helper, bead):
    window = window_with_model_helper
    _data, run = bead
    window.context.set_run(run)
    window.go_to("train", force=True)
    train = window.pages["train"]
    assert train.status.text().startswith("Training finished")
    window.go_to("model", force=True)
    model = window.pages["model"]
    qtbot.waitUntil(lambda: model.catalogue is not None or model.helper_note is not None, timeout=180_000)
    assert model.catalogue, model.helper_note

    window.go_to("task", force=True)
    window.pages["task"].cards["instance"].click()
    assert window.context.settings.task.kind == "instance"
    assert window.context.current_run is None
    window.go_to("train", force=True)
    assert train.status.text() == NOT_TRAINED and train.follower.run_dir is None
    assert not train.resume_button.isVisibleTo(train)
    assert train.curves.point_count() == 0
    predict = window.pages["predict"]
    predict.enter()
    assert predict.model_label.text() == NO_MODEL and predict.table.rowCount() == 0

    # the Model page: the U-Net chosen, available for this task, and its own description shown
    window.go_to("model", force=True)
    unet = model.architecture_buttons["unet"]
    assert unet.isChecked() and unet.isEnabled()
    assert model.architecture_text.text() == model.catalogue["unet"]["description"]
    assert not model.architecture_buttons["convnet"].isEnabled()  # a ConvNet classifies: not for masks


def _run_of_another_task(run: Path, target: Path) -> Path:
    """A copy of `run` whose events say it learnt classification (the Runs page reads only the events)."""
    shutil.copytree(run, target)
    lines = []
    for line in (target / runs.EVENTS).read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("event") == "started":
            event["task"] = "classification"
        lines.append(json.dumps(event))
    (target / runs.EVENTS).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


@pytest.mark.slow  # the module's bead run (a real training by the engine)
def test_runs_of_different_tasks_are_not_drawn_in_one_plot(qtbot, window, bead, tmp_path):
    _data, run = bead
    shutil.copytree(run, tmp_path / "runs" / "beads-1")
    shutil.copytree(run, tmp_path / "runs" / "beads-2")
    _run_of_another_task(run, tmp_path / "runs" / "cells")
    window.go_to("runs", force=True)
    page = window.pages["runs"]
    page.timer.stop()
    page.select_runs([tmp_path / "runs" / "beads-1", tmp_path / "runs" / "beads-2"])
    assert page.comparison.isVisibleTo(page)  # one task: compared
    page.select_runs([tmp_path / "runs" / "beads-1", tmp_path / "runs" / "cells"])
    assert "these runs are of different tasks" in page.legend.text().lower()
    assert "classification" in page.legend.text() and "regression" in page.legend.text()
    assert not page.comparison.isVisibleTo(page)
    assert page.curves.point_count() == 0  # nothing drawn


# ---------------------------------------------------------------- 3, 4. the Data page


@pytest.mark.slow  # the module's bead run (a real training by the engine)
def test_a_pending_suggestion_sits_beside_the_status_at_the_top(qtbot, window, bead):
    data, _run = bead
    window.pages["task"].choose("regression")
    window.go_to("data", force=True)
    page = window.pages["data"]
    page.set_folder(data)
    wait_checked(qtbot, page)
    assert window.context.settings.data.image_size == [64, 64]  # the default; the beads are 32 × 32
    assert "data.image_size" in page.proposals_card.buttons
    assert "ready to train" in page.status.text() and "suggestion" in page.status.text()
    card = page.proposals_card
    assert card.isVisibleTo(page)
    # above what the check found, and in the window's first screen, without scrolling
    assert card.mapTo(page, QPoint(0, 0)).y() < page.findings_card.mapTo(page, QPoint(0, 0)).y()
    assert card.mapTo(window, QPoint(0, card.height())).y() < window.next_button.mapTo(window, QPoint(0, 0)).y()
    qtbot.mouseClick(page.proposals_card.apply_all_button, Qt.MouseButton.LeftButton)
    assert window.context.settings.data.image_size == [32, 32]
    assert "suggestion" not in page.status.text()


@pytest.mark.parametrize("task, chosen", [("regression", "images"), ("instance", "images"), ("instance", "masks")])
def test_choosing_the_images_folder_itself_uses_the_folder_above(qtbot, window, task, chosen):
    window.pages["task"].choose(task)
    window.go_to("data", force=True)
    page = window.pages["data"]
    data = demo_data(task)
    page.set_folder(data / chosen)
    assert Path(window.context.settings.data.folder) == data
    assert page.folder_edit.text() == str(data)
    assert page.folder_note.isVisibleTo(page) and "folder above" in page.folder_note.text()
    wait_checked(qtbot, page)
    assert page.error is None and page.problem() is None
    page.set_folder(demo_data("regression" if task == "instance" else "instance"))  # another folder: no note
    assert not page.folder_note.isVisibleTo(page)


# ---------------------------------------------------------------- 5. example data for every task


@pytest.mark.slow
@pytest.mark.parametrize("task", ["classification", "multilabel", "regression", "semantic", "instance"])
def test_every_task_can_be_tried_on_example_data_from_the_task_page(qtbot, window, task, tmp_path):
    bundled = resources_dir() / "demo"
    before = {str(p.relative_to(bundled)): p.stat().st_size for p in bundled.rglob("*") if p.is_file()}
    window.go_to("task", force=True)
    page = window.pages["task"]
    page.cards[task].click()
    assert page.example_button.isVisibleTo(page) and "example data" in page.example_button.text()
    qtbot.mouseClick(page.example_button, Qt.MouseButton.LeftButton)
    assert window.current_key == "data"
    folder = Path(window.context.settings.data.folder)
    assert folder.is_dir()
    assert folder == (bundled / task if task != "multilabel"
                      else tmp_path / "home" / "PetriLab" / "demo-data" / "multilabel")
    data = window.pages["data"]
    wait_checked(qtbot, data)
    assert data.error is None and data.problem() is None, data.problem()
    after = {str(p.relative_to(bundled)): p.stat().st_size for p in bundled.rglob("*") if p.is_file()}
    assert after == before  # nothing written into resources/


# ---------------------------------------------------------------- 6. the tour keeps still and waits


def test_the_tour_stays_in_place_and_lets_no_click_through(qtbot, window):
    task_before = window.context.settings.task.kind
    tour = welcome.start_tour(window)
    places = set()
    for _step in welcome.STEPS[:-1]:
        places.add(tour.next_button.mapTo(window, QPoint(0, 0)).toTuple())
        # a click on the window behind the card does nothing while the tour is open
        window.go_to("task", force=True) if window.current_key != "task" else None
        card = window.pages["task"].cards["instance"]
        if card.isVisible():
            QTest.mouseClick(card, Qt.MouseButton.LeftButton)
            assert window.context.settings.task.kind == task_before
        tour.show_step(tour.index)  # back to the page the step shows
        QTest.mouseClick(tour.next_button, Qt.MouseButton.LeftButton)
    assert len(places) == 1, places  # the Next button never moved under the mouse
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # File → New waits too
    assert tour.isVisible() and window.context.settings.task.kind == task_before
    QTest.mouseClick(tour.next_button, Qt.MouseButton.LeftButton)  # the last step: the tour ends
    QApplication.processEvents()
    assert not [t for t in window.findChildren(welcome.WelcomeTour) if t.isVisible()]
    window.go_to("task", force=True)
    QTest.mouseClick(window.pages["task"].cards["instance"], Qt.MouseButton.LeftButton)
    assert window.context.settings.task.kind == "instance"  # the window answers again


# ---------------------------------------------------------------- 12. the last experiment is reopened


def _close(w) -> None:
    w.context.dirty = False
    w.close()
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)


def test_the_app_reopens_the_last_experiment_or_says_quietly_that_it_is_gone(qtbot, tmp_path):
    first = open_window(None, warm_up=False, reopen_last=True)
    assert first.context.settings_path is None  # nothing remembered yet: a blank experiment
    first.pages["task"].choose("regression")
    assert first.save_to(tmp_path / "beads.toml")
    _close(first)

    second = open_window(None, warm_up=False, reopen_last=True)
    try:
        assert second.context.settings_path == (tmp_path / "beads.toml").resolve()
        assert second.context.settings.task.kind == "regression"
    finally:
        _close(second)

    (tmp_path / "beads.toml").unlink()
    third = open_window(None, warm_up=False, reopen_last=True)
    try:
        assert third.context.settings_path is None and third.last_message is None  # no error box
        assert "no longer there" in third.statusBar().currentMessage()
        assert str(tmp_path / "beads.toml") in third.statusBar().currentMessage()
    finally:
        _close(third)
    assert session.last_experiment() == (None, None)  # closed on a blank experiment: the next start is blank
