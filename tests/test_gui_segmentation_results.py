"""Segmentation in the window: the Evaluate page's outlines and scores, the Predict page's live post-processing.

Two tiny U-Nets trained on the bundled demo nuclei (tests/finished_runs.py: once per version of the app); the
pages are then driven as a user would, and what they show is checked against the engine's own files and functions.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402
from PySide6.QtCore import QEvent, QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QScrollArea  # noqa: E402
from skimage.segmentation import find_boundaries  # noqa: E402

from petrilab import runs  # noqa: E402
from petrilab import settings as settings_io  # noqa: E402
from petrilab.data.images import read_image  # noqa: E402
from petrilab.errors import UserError  # noqa: E402
from petrilab.gui.context import AppContext  # noqa: E402
from petrilab.gui.pages.evaluate_page import EvaluatePage  # noqa: E402
from petrilab.gui.pages.predict_page import PredictPage  # noqa: E402
from petrilab.gui.tasks.segmentation.postprocess_preview import count_objects, find_objects, overrides  # noqa: E402
from petrilab.gui.widgets.overlay_view import compose_overlay  # noqa: E402
from petrilab.prediction.overlay import GREEN, MAGENTA, YELLOW  # noqa: E402
from petrilab.prediction.predict_folder import apply_postprocess  # noqa: E402
from petrilab.resources import demo_data  # noqa: E402
from petrilab.tasks.segmentation.masks import read_mask  # noqa: E402
from petrilab.tasks.segmentation.postprocess import instance_labels  # noqa: E402

import finished_runs  # noqa: E402

pytestmark = pytest.mark.gui

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """{task: run folder}: the finished semantic and instance U-Nets of tests/finished_runs.py (demo nuclei)."""
    tmp = tmp_path_factory.mktemp("seg-runs")
    return {task: finished_runs.copy_of(task, tmp / task).run for task in ("semantic", "instance")}


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


def make_page(cls, qtbot, run: Path):
    context = AppContext()
    page = cls(context)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    context.set_run(run)
    page.enter()
    return page


def close(page) -> None:
    page.shutdown()
    page.close()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)


# ---------------------------------------------------------------- the numbers behind the preview (no engine)


@pytest.mark.parametrize("task", ["semantic", "instance"])
def test_the_preview_finds_the_objects_the_recipe_finds(task):
    from petrilab.recipes import get_recipe

    rng = np.random.default_rng(4)
    channels = 3 if task == "instance" else 1
    smooth = np.stack([np.kron(rng.random((12, 12)), np.ones((16, 16))) for _ in range(channels)], axis=-1)
    probs = (smooth / smooth.sum(axis=-1, keepdims=True) if channels == 3 else smooth).astype(np.float32)
    for post in (settings_io.PostprocessSettings(threshold=0.4),
                 settings_io.PostprocessSettings(threshold=0.6, min_size=200, clear_border=True, fill_holes=False)):
        ours = find_objects(probs, post, task)
        engine = get_recipe(task).decide(probs, post)[1]
        assert count_objects(ours) == count_objects(engine) > 0
        assert np.array_equal(ours > 0, engine > 0)


def test_prediction_options_go_to_the_engine_as_postprocess_settings_only():
    post = settings_io.PostprocessSettings(threshold=0.35, min_size=40, clear_border=True, split_touching=False)
    trained = SimpleNamespace(settings=settings_io.Settings(), recipe=None)
    apply_postprocess(trained, overrides(post)[1::2])
    assert trained.settings.postprocess == post
    with pytest.raises(UserError, match="only change postprocess"):
        apply_postprocess(trained, ["training.epochs=3"])
    with pytest.raises(UserError):
        apply_postprocess(trained, ["postprocess.threshold=1.5"])


def test_moving_the_threshold_slider_updates_the_count_and_the_overlay(qtbot):
    from petrilab.gui.tasks.segmentation.postprocess_preview import PostprocessPreview

    panel = PostprocessPreview()
    qtbot.addWidget(panel)
    base = settings_io.PostprocessSettings(threshold=0.333, fill_holes=False)
    panel.set_task("semantic", base)
    assert panel.options() == base  # the run's exact threshold, not the slider's nearest step
    probs = np.zeros((60, 80, 1), np.float32)
    probs[10:25, 10:25] = 0.8  # a sure object
    probs[35:50, 40:60] = 0.5  # a doubtful one
    image = np.random.default_rng(0).integers(0, 255, (60, 80), dtype=np.uint8)
    panel.set_prediction(image, probs)
    assert panel.count == 2 and panel.count_label.text() == "2 objects"
    before = panel.view.rgb.copy()
    panel.threshold.setValue(60)  # as a drag ends
    qtbot.waitUntil(lambda: not panel._timer.isActive())
    assert panel.options().threshold == 0.6 and panel.count == 1 and panel.count_label.text() == "1 object"
    assert not np.array_equal(panel.view.rgb, before)
    assert np.array_equal(panel.labels > 0, probs[:, :, 0] > 0.6)
    panel.reset_button.click()
    qtbot.waitUntil(lambda: not panel._timer.isActive())
    assert panel.options() == base and panel.count == 2


# ---------------------------------------------------------------- Evaluate


@pytest.mark.slow
@pytest.mark.parametrize("task", ["semantic", "instance"])
def test_evaluate_page_overlays_predicted_and_true_outlines(qtbot, trained, task):
    run = trained[task]
    page = make_page(EvaluatePage, qtbot, run)
    with open(run / "test_predictions.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert not page.browser_box.isHidden() and page.confusion_box.isHidden()
    browser = page.browser
    assert len(browser.rows) == len(rows) == json.loads((run / runs.EVALUATION).read_text())["n_images"] >= 2
    score = "f1" if task == "instance" else "iou"
    shown = [float(r[score]) for r in browser.rows]
    assert shown == sorted(float(r[score]) for r in rows)  # the worst first
    for index in (0, 1):
        if index:
            browser.next_button.click()
        row = browser.rows[index]
        assert browser.index == index and browser.problem == ""
        image, true = read_image(row["file"]), read_mask(row["true_mask"], task)
        predicted = tifffile.imread(run / row["predicted_mask"])  # written by the evaluation into test_masks/
        assert predicted.shape == true.shape
        rgb = browser.view.rgb
        assert np.array_equal(rgb, compose_overlay(image, true, predicted))
        true_edge, pred_edge = find_boundaries(true, mode="inner"), find_boundaries(predicted, mode="inner")
        assert true_edge.any() and pred_edge.any()
        colour = {name: np.all(rgb == value, axis=-1) for name, value in
                  (("green", GREEN), ("magenta", MAGENTA), ("yellow", YELLOW))}
        assert np.all((colour["green"] | colour["yellow"])[true_edge])
        assert np.all((colour["magenta"] | colour["yellow"])[pred_edge])
        assert np.array_equal(colour["green"], true_edge & ~pred_edge)
        assert np.array_equal(colour["magenta"], pred_edge & ~true_edge)
        assert f"IoU {float(row['iou']):.1%}" in browser.scores.text()
    browser.outlines.setChecked(False)  # the image itself, to judge the outlines against
    assert np.array_equal(browser.view.rgb, compose_overlay(image))
    close(page)


@pytest.mark.slow
def test_evaluate_page_scores_are_those_of_evaluation_json(qtbot, trained):
    run = trained["instance"]
    evaluation = json.loads((run / runs.EVALUATION).read_text())
    metrics = evaluation["metrics"]
    page = make_page(EvaluatePage, qtbot, run)
    assert page.cards["iou"].text() == f"{metrics['iou']:.1%}"
    assert page.cards["dice"].text() == f"{metrics['dice']:.1%}"
    assert page.cards["object_f1"].text() == f"{metrics['object_f1']:.1%}"
    assert "pixel_accuracy" not in page.cards  # never a headline: only inside the warning when foreground is rare
    assert metrics["foreground_share"] < 0.2 and "pixel accuracy" in page.warnings.text()
    table = page.per_class
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    for r, name in enumerate(evaluation["classes"]):
        assert table.item(r, 0).text() == name
        for key, header in (("iou", "IoU"), ("dice", "Dice"), ("recall", "Recall")):
            assert table.item(r, headers.index(header)).text() == f"{metrics['per_class'][name][key]:.1%}"
    summary = metrics["objects"]["summary"]
    shown = page.object_scores.values
    assert not page.object_scores.isHidden()
    assert [shown[k] for k in ("tp", "fp", "fn")] == [str(summary[k]) for k in ("tp", "fp", "fn")]
    for key in ("precision", "recall", "f1", "average_precision", "mean_matched_iou", "average_precision_50_95"):
        assert shown[key] == f"{summary[key]:.1%}", key
    assert "TP / (TP + FN)" in page.object_scores.table.text()  # each score says what it means
    # three figures in plain words first; the nine scores with formulas only behind "More scores"
    scores = page.object_scores
    assert scores.headline.text() == (f"Found {summary['tp']} of {metrics['objects']['n_true']} objects · "
                                      f"{summary['fp']} invented · {summary['fn']} missed")
    assert scores.f1_words.text().startswith(f"F1 {summary['f1']:.0%}: ")
    assert not scores.more.isVisibleTo(page)
    scores.more_button.click()
    assert scores.more.isVisibleTo(page) and scores.more_button.text().startswith("Fewer")
    close(page)

    semantic = make_page(EvaluatePage, qtbot, trained["semantic"])
    assert semantic.object_scores.isHidden() and "object_f1" not in semantic.cards
    close(semantic)


@pytest.mark.slow
def test_evaluate_page_fits_a_1280_pixel_window(qtbot, trained):
    from petrilab.gui.main_window import MainWindow

    window = MainWindow(AppContext())
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.context.set_run(trained["instance"])
    window.go_to("evaluate", force=True)
    page = window.pages["evaluate"]
    qtbot.waitUntil(lambda: page.browser.view.rgb is not None, timeout=5_000)
    scroll = page.parentWidget()
    while scroll is not None and not isinstance(scroll, QScrollArea):
        scroll = scroll.parentWidget()
    assert scroll is not None and scroll.horizontalScrollBar().maximum() == 0
    window.context.dirty = False
    window.shutdown()
    window.close()


# ---------------------------------------------------------------- Predict


@pytest.mark.slow
def test_a_failed_preview_is_explained_then_retried_previews_post_processing_live_and_predicts_with_it(
        qtbot, trained, tmp_path):
    """One page, one story: the preview fails (a damaged model) and says why; once the model is back, Retry
    previews, the live post-processing follows the sliders, and the batch prediction uses what is shown
    (one preview child process fewer than a fresh page for the working preview)."""
    import shutil

    run = tmp_path / "damaged"
    shutil.copytree(trained["instance"], run)
    (run / runs.BEST_MODEL).write_bytes(b"not a model")
    images = demo_data("instance") / "images"
    page = make_page(PredictPage, qtbot, run)
    assert not page.preview_box.isHidden()
    page.input_edit.setText(str(images))
    page.output_edit.setText(str(tmp_path / "out"))
    qtbot.waitUntil(lambda: page.preview_choice.count() > 0 and not page.preview_engine.is_running(),
                    timeout=120_000)
    qtbot.waitUntil(lambda: page.message.kind == "error", timeout=5_000)
    assert "model file could not be read" in page.message.text()
    assert page.preview.probs is None and not page.retry_button.isHidden()
    shutil.copy2(trained["instance"] / runs.BEST_MODEL, run / runs.BEST_MODEL)  # the model is back
    page.retry_button.click()
    qtbot.waitUntil(lambda: page.preview.probs is not None and not page.preview_engine.is_running(),
                    timeout=180_000)
    assert page.retry_button.isHidden() and page.preview.count is not None and page.message.kind != "error"
    preview = page.preview
    chosen = Path(page.preview_choice.currentData())
    assert chosen.parent == images and preview.count is not None
    base = settings_io.load(run / runs.SETTINGS).postprocess
    assert preview.options() == base  # the run's own options to start with

    def engine_count(min_size: int) -> int:
        return count_objects(instance_labels(preview.probs, dataclasses.replace(base, min_size=min_size), "auto"))

    found = preview.labels
    areas = np.bincount(found.ravel())[1:]
    areas = areas[areas > 0]
    assert len(areas) >= 2
    cut = int(np.sort(areas)[len(areas) // 2])  # drops the smaller half
    counts = []
    for min_size in (0, cut, int(areas.max()) + 1):
        preview.min_size.setValue(min_size)  # what the user types (the slider follows)
        qtbot.waitUntil(lambda: preview.options().min_size == min_size and not preview._timer.isActive())
        assert preview.min_slider.value() == min_size
        assert preview.count == engine_count(min_size), min_size
        counts.append(preview.count)
    assert counts[0] > counts[1] > counts[2] == 0

    # the batch prediction uses the options shown
    preview.min_size.setValue(cut)
    qtbot.waitUntil(lambda: not preview._timer.isActive())
    expected = preview.count
    assert page.predict()
    qtbot.waitUntil(lambda: not page.engine.is_running(), timeout=180_000)
    assert page.message.kind != "error", page.message.text()
    with open(tmp_path / "out" / "predictions.csv", newline="", encoding="utf-8-sig") as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    assert int(rows[chosen.name]["count"]) == expected
    assert f"objects ≥ {cut} px" in page.status.text()
    assert page.measurements_button.isEnabled() and (tmp_path / "out" / "objects.csv").exists()
    assert f"{len(rows)} images" in page.summary.text() and "objects in all" in page.summary.text()
    # the overlays the engine drew, each with its count, are what the page shows first
    shown = {page.gallery.item(i).data(Qt.ItemDataRole.UserRole): page.gallery.item(i).text()
             for i in range(page.gallery.count())}
    overlay = str(tmp_path / "out" / rows[chosen.name]["overlay_file"])
    assert len(shown) == len(rows) and Path(overlay).is_file()
    assert shown[overlay] == f"{chosen.name}\n{expected} object{'s' if expected != 1 else ''}"
    assert settings_io.load(run / runs.SETTINGS).postprocess == base  # the run is unchanged
    assert not any(p.name.startswith(".") or "predictions" in p.name for p in images.iterdir())
    close(page)
    assert page.preview_box.scratch is None


def test_object_scores_claim_nothing_when_there_are_no_objects(qtbot):
    """No object in the test masks and none predicted: no 'F1 100 %' headline, and no scores to unfold."""
    from petrilab.gui.tasks.segmentation.results import ObjectScores

    scores = ObjectScores()
    qtbot.addWidget(scores)
    scores.show_scores({"n_true": 0, "n_pred": 0, "summary": {"tp": 0, "fp": 0, "fn": 0, "f1": 1.0,
                                                              "precision": 1.0, "recall": 1.0}})
    assert "nothing to score" in scores.headline.text()
    assert "100" not in scores.headline.text() + scores.f1_words.text()
    assert scores.more_button.isHidden()
    scores.show_scores({"n_true": 4, "n_pred": 3, "summary": {"tp": 3, "fp": 0, "fn": 1, "f1": 6 / 7}})
    assert scores.headline.text() == "Found 3 of 4 objects · 0 invented · 1 missed"
    assert scores.f1_words.text().startswith("F1 86%") and not scores.more_button.isHidden()
