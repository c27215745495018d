"""Restoration in the window (issue #19): the before/after viewer (linked zoom and pan, the wipe, the difference,
the line profile) on known arrays, and the Evaluate page's scores and test images from a real evaluation's files."""

from __future__ import annotations

import csv
import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402

from petrilab.gui.tasks.restoration.compare_view import BeforeAfterView  # noqa: E402
from petrilab.gui.tasks.restoration.results import RestorationResults, scores_table  # noqa: E402

pytest.importorskip("pytestqt")


def known_pair():
    before = np.tile(np.arange(40, dtype=np.float32), (30, 1))  # a ramp along x: known profiles
    after = before * 2 + 5
    return before, after


def test_views_are_linked_and_the_wipe_shows_restored_left_input_right(qtbot):
    view = BeforeAfterView()
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    before, after = known_pair()
    view.set_images(before, after)
    view.left_view.setRange(xRange=(5, 15), yRange=(5, 15), padding=0)
    left, right = view.left_view.viewRange(), view.right_view.viewRange()
    assert np.allclose(left, right)  # one zoom, both pictures
    view.set_mode("wipe")
    view.set_wipe(0.25)
    composite = view.left_image.image
    assert np.array_equal(composite[:, :10], after[:, :10]) and np.array_equal(composite[:, 10:], before[:, 10:])
    assert not view.right_view.isVisible() and view.slider.isVisible()
    view.set_mode("difference")
    assert np.allclose(view.left_image.image, after - before)


def test_the_line_profile_reads_both_images_along_the_same_line(qtbot):
    view = BeforeAfterView()
    qtbot.addWidget(view)
    before, after = known_pair()
    view.set_images(before, after)
    view.set_line((10, 5), (10, 25))  # along a row, from column 5 to 25
    profile_before, profile_after = view.profiles
    assert len(profile_before) == 21
    assert np.allclose(profile_before, np.arange(5, 26), atol=1e-4)
    assert np.allclose(profile_after, 2 * np.arange(5, 26) + 5, atol=1e-4)


def test_evaluate_panel_shows_the_three_scores_and_the_test_images(qtbot, tmp_path):
    images, masks = tmp_path / "data" / "images", tmp_path / "run" / "test_masks"
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    before, after = known_pair()
    tifffile.imwrite(images / "a.tif", before.astype(np.uint16))
    tifffile.imwrite(masks / "a_restored.tif", after.astype(np.uint16))
    evaluation = {"task": "restoration", "ground_truth": True, "caution": "can invent structures",
                  "compared": {"psnr": {"input": 20.0, "non_local_means": 25.0, "network": 28.5},
                               "ssim": {"input": 0.4, "non_local_means": 0.7, "network": 0.8}}}
    rows = [{"file": str(images / "a.tif"), "restored": "a_restored.tif"}]
    panel = RestorationResults()
    qtbot.addWidget(panel)
    panel.show_evaluation(evaluation, rows, tmp_path / "run")
    text = panel.scores.text()
    assert "Non-local means" in text and "<b>28.50 dB</b>" in text and "<b>0.800</b>" in text
    assert "invent structures" in panel.caution.text()
    assert panel.chooser.count() == 1
    qtbot.waitUntil(lambda: panel.view.after is not None, timeout=10_000)  # read off the window's thread
    assert np.allclose(panel.view.after, after)
    (masks / "a_restored.tif").rename(masks / "moved.tif")  # a restored image moved away after the run: said
    panel.show_evaluation(evaluation, rows, tmp_path / "run")
    qtbot.waitUntil(lambda: "no longer in" in panel.view.caption.text(), timeout=10_000)
    assert panel.view.after is None and "a_restored.tif" in panel.view.caption.text()
    tifffile.imwrite(masks / "a_restored.tif", after[:10].astype(np.uint16))  # and one of another size
    panel.show_evaluation(evaluation, rows, tmp_path / "run")
    qtbot.waitUntil(lambda: "is not the size of" in panel.view.caption.text(), timeout=10_000)
    panel.show_evaluation({"ground_truth": False, "metrics": {"noise_before": 9.0, "noise_after": 2.0}}, rows,
                          tmp_path / "run")
    assert "No ground truth" in panel.scores.text()
    assert "PSNR" in scores_table(evaluation["compared"])
    panel.deleteLater()  # closed while its last read is still running: the result is dropped, no error
    qtbot.wait(300)
