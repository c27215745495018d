"""Z-stacks in the window: the data page checks them as `petrilab check` does and shows each stack with its
mask in the stack viewer (a plane with a z slider, cross-sections XZ and YZ at the stack's proportions)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import hashlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from petrilab.gui.widgets.stack_viewer import CROSSHAIR, StackViewer, display_stack  # noqa: E402
from petrilab.tasks.segmentation.demo3d import VOXEL, example_stacks  # noqa: E402

from helpers import main_window  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


def digests(folder):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def a_stack(z=6, y=20, x=30):
    """A stack whose every plane has its own brightness, with one box-shaped object (label 3)."""
    pixels = np.zeros((z, y, x), np.uint16)
    pixels += (np.arange(z) * 1000).astype(np.uint16)[:, None, None]
    labels = np.zeros((z, y, x), np.int64)
    labels[1:4, 5:12, 8:20] = 3
    return pixels, labels


def test_one_contrast_for_the_whole_stack():
    pixels, _ = a_stack()
    shown = display_stack(pixels)
    assert shown.shape == (6, 20, 30, 3) and shown.dtype == np.uint8
    means = shown[..., 0].mean(axis=(1, 2))
    assert np.all(np.diff(means) > 0)  # a dim plane stays dim: planes are not stretched one by one


def test_planes_and_cross_sections_show_the_stack_at_its_proportions(qtbot):
    pixels, labels = a_stack()
    viewer = StackViewer()
    qtbot.addWidget(viewer)
    viewer.resize(600, 500)
    viewer.set_stack(display_stack(pixels), labels, voxel=(1.0, 0.25, 0.25))
    assert viewer.thickness == 4  # planes 4× farther apart than pixels: drawn 4 pixels thick
    assert (viewer.z, viewer.y, viewer.x) == (3, 10, 15) and viewer.slider.maximum() == 5
    assert viewer.xy.rgb.shape == (20, 30, 3)
    assert viewer.xz.rgb.shape == (6 * 4, 30, 3)
    assert viewer.yz.rgb.shape == (20, 6 * 4, 3)
    # the crosshair marks where the other views cut: row y and column x on the plane
    assert (viewer.xy.rgb[10, 0] == CROSSHAIR).all() and (viewer.xy.rgb[0, 15] == CROSSHAIR).all()

    viewer.set_view("outline", overlay_visible=False)
    viewer.slider.setValue(5)
    assert viewer.z == 5
    plain_top = viewer.xy.rgb.copy()
    viewer.slider.setValue(0)
    assert viewer.xy.rgb[2, 2].sum() < plain_top[2, 2].sum()  # another plane, darker
    assert "1 of 6 (z = 0.0 µm)" in viewer.where.text()

    # the object (planes 1–3) is outlined on plane 2, absent from plane 5
    viewer.set_view("fill", overlay_visible=True)
    viewer.set_plane(2)
    assert not np.array_equal(viewer.xy.rgb[5:12, 8:20], display_stack(pixels)[2, 5:12, 8:20])
    viewer.set_plane(5)
    outside = viewer.xy.rgb.copy()
    outside[10, :] = outside[:, 15] = 0  # the crosshair aside
    expected = display_stack(pixels)[5].copy()
    expected[10, :] = expected[:, 15] = 0
    assert np.array_equal(outside, expected)

    # a click on the plane moves the cross-sections there
    target = viewer.xy.picture_rect()
    point = QPoint(target.x() + int(target.width() * 25.5 / 30), target.y() + int(target.height() * 2.5 / 20))
    qtbot.mouseClick(viewer.xy, Qt.LeftButton, pos=point)
    assert (viewer.y, viewer.x) == (2, 25)

    with pytest.raises(ValueError):
        viewer.set_stack(display_stack(pixels), labels[:, :10])


def test_the_data_page_checks_stacks_and_shows_them_in_the_stack_viewer(qtbot, tmp_path):
    data = example_stacks(tmp_path / "stacks", n=6, size=(12, 48, 48))
    before = digests(data)
    with main_window(tmp_path, (1280, 800), model_helper=False) as window:
        window.pages["task"].choose("instance")
        window.go_to("data", force=True)
        page = window.pages["data"]
        page.set_folder(data)
        qtbot.waitUntil(lambda: page.checked is not None or page.error is not None, timeout=30_000)
        assert page.error is None, page.error and page.error.message
        report = page.checked.report
        assert report.dimensions == "3d" and report.n_images == 6 and report.voxel == pytest.approx(list(VOXEL))
        words = " ".join(f.message for f in report.findings)
        assert "6 z-stacks" in words and "4× farther apart" in words and "is a z-stack" not in words
        # stacks train on blocks of planes: the block "from the data" (planes 4× apart: no pooling in z)
        patches = page.summary_fields["Training patches"].text()
        assert patches.startswith("from the data: blocks of 8 × 48 × 48 voxels")
        per_stack = [len(np.unique(tifffile.imread(m))) - 1 for m in sorted((data / "masks").iterdir())]
        objects = report.masks["objects"]["object"]
        assert objects["count"] == sum(per_stack) and objects["per_image"]["max"] == max(per_stack)

        gallery = page.pairs_gallery
        qtbot.waitUntil(lambda: gallery.current is not None, timeout=30_000)
        assert gallery.stack_view.isVisible() and not gallery.view.isVisible()
        assert f"{per_stack[0]} objects in 12 planes" in gallery.caption.text()
        viewer = gallery.stack_view
        assert viewer.xz.rgb.shape[0] == 12 * 4
        first = viewer.xy.rgb.copy()
        viewer.slider.setValue(0)
        assert not np.array_equal(first, viewer.xy.rgb)
        gallery.set_mode("none")
        assert not viewer.xy.overlay_visible
    assert digests(data) == before


def test_the_evaluate_browser_shows_a_test_stack_with_true_and_predicted_outlines(qtbot, tmp_path):
    from petrilab.gui.tasks.segmentation.results import TestImageBrowser
    from petrilab.tasks.segmentation.demo3d import nuclei_stack

    image, true = nuclei_stack((10, 48, 40), n=3, seed=5)
    predicted = true.copy()
    predicted[predicted == 2] = 0  # one nucleus missed
    for name, array in (("image.tif", image), ("true.tif", true), ("pred.tif", predicted)):
        tifffile.imwrite(tmp_path / name, array, imagej=True, resolution=(4, 4),
                         metadata={"spacing": 1.0, "unit": "micron", "axes": "ZYX"})
    browser = TestImageBrowser()
    qtbot.addWidget(browser)
    browser.resize(700, 600)
    rows = [{"file": "image.tif", "true_mask": "true.tif", "predicted_mask": "pred.tif", "iou": "0.7"}]
    browser.set_rows(rows, "instance", tmp_path)
    assert browser.problem == "" and browser.stack_view.isVisibleTo(browser) and not browser.view.isVisibleTo(browser)
    viewer = browser.stack_view
    assert viewer.thickness == 4 and viewer.xy.rgb.shape == (48, 40, 3)
    # the missed nucleus: green (true) outline only, on a plane through it
    z = int(np.flatnonzero((true == 2).any(axis=(1, 2)))[len(np.flatnonzero((true == 2).any(axis=(1, 2)))) // 2])
    viewer.set_plane(z)
    inside = true[z] == 2
    rgb = viewer.xy.rgb
    green = (rgb[..., 1] > 200) & (rgb[..., 0] < 50)
    assert green[inside | np.roll(inside, 1, 0)].any()
    browser.outlines.setChecked(False)
    assert not viewer.xy.overlay_visible

    (tmp_path / "pred.tif").unlink()  # moved since the evaluation: said, not a crash
    browser.show_image(0)
    assert "cannot be shown" in browser.scores.text()


def a_prediction_on_stacks(tmp_path, n=2, task="instance"):
    """Stacks and a prediction folder written as `petrilab predict` writes one for stacks: a label stack per
    stack (labels/), predictions.csv one line per stack, prediction.json naming the input folder and task."""
    import json

    from petrilab.export.tiff import write_label_stack
    from petrilab.tasks.segmentation.measurements import write_table
    from petrilab.tasks.segmentation.measurements3d import measure_objects_3d, stack_summary

    stacks = example_stacks(tmp_path / "new", n=n, size=(10, 48, 40), seed=20) / "images"
    out = tmp_path / "out"
    rows = []
    for path in sorted(stacks.iterdir()):
        labels = tifffile.imread(path.parent.parent / "masks" / path.name)  # the "prediction": the true nuclei
        write_label_stack(out / "labels" / f"{path.stem}_labels.tif", labels, VOXEL)
        objects = measure_objects_3d(labels, tifffile.imread(path)[..., None], VOXEL)
        rows.append({"file": path.name, "mask_file": f"labels/{path.stem}_labels.tif",
                     **stack_summary(objects, int(labels.size)), "problem": ""})
    write_table(out / "predictions.csv", rows)
    (out / "prediction.json").write_text(json.dumps({"input_folder": str(stacks), "task": task}), encoding="utf-8")
    return stacks, out


def test_the_predict_page_shows_each_predicted_stack_with_its_objects_outlined(qtbot, tmp_path):
    from skimage.segmentation import find_boundaries

    from petrilab.gui.context import AppContext
    from petrilab.gui.pages.predict_page import PredictPage

    from petrilab import settings as settings_io

    stacks, out = a_prediction_on_stacks(tmp_path)
    before = digests(stacks.parent)
    run = tmp_path / "runs" / "run"  # a run on stacks: the live preview (2-D) gives way to the results
    run.mkdir(parents=True)
    settings = settings_io.defaults_for("instance")
    settings.data.dimensions = "3d"
    settings_io.save(settings, run / "settings.toml")
    context = AppContext(runs_dir=tmp_path / "runs")
    page = PredictPage(context)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    context.set_run(run)
    page.enter()
    assert page.task == "instance" and page.preview_box.stacks and page.preview_box.isHidden()
    page.input_edit.setText(str(tmp_path / "elsewhere"))  # the page's folder changed since: the record wins
    page.show_results(out / "predictions.csv")
    panel = page.stacks
    assert page.views.currentWidget() is panel and not page.views.isTabVisible(0)  # no overlay pictures
    assert panel.choice.count() == 2 and "objects" in panel.choice.itemText(0)
    qtbot.waitUntil(lambda: panel.shown == "nuclei_00.tif", timeout=20_000)
    assert panel.problem == ""
    viewer = panel.viewer
    image = tifffile.imread(stacks / "nuclei_00.tif")
    labels = tifffile.imread(stacks.parent / "masks" / "nuclei_00.tif")
    assert viewer.slider.maximum() == 9 and viewer.xy.rgb.shape == (48, 40, 3)
    assert viewer.thickness == 4 and viewer.xz.rgb.shape == (10 * 4, 40, 3)  # the label stack's voxel size
    # the plane through the first nucleus's middle: its outline drawn, the rest of the plane as the stack is
    z = int(np.median(np.flatnonzero((labels == 1).any(axis=(1, 2)))))
    viewer.set_plane(z)
    assert np.array_equal(viewer.labels[z], labels[z])
    plain = display_stack(image)[z]
    edge = find_boundaries(labels[z], mode="inner")
    changed = (viewer.xy.rgb != plain).any(axis=2)
    changed[viewer.y, :] = changed[:, viewer.x] = False  # the crosshair aside
    edge[viewer.y, :] = edge[:, viewer.x] = False
    assert changed[edge].mean() > 0.9 and not changed[~find_boundaries(labels[z])].any()
    panel.outlines.setChecked(False)
    assert not viewer.xy.overlay_visible

    # the next stack, read in the background too
    panel.step(1)
    qtbot.waitUntil(lambda: panel.shown == "nuclei_01.tif", timeout=20_000)
    second = tifffile.imread(stacks.parent / "masks" / "nuclei_01.tif")
    assert np.array_equal(viewer.labels, second)
    assert digests(stacks.parent) == before


def test_a_predicted_stack_moved_since_the_prediction_is_said_in_plain_words(qtbot, tmp_path):
    from petrilab.gui.tasks.segmentation.predicted_stacks import PredictedStacks

    stacks, out = a_prediction_on_stacks(tmp_path)
    rows = [{"file": p.name, "mask_file": f"labels/{p.stem}_labels.tif", "count": "3", "problem": ""}
            for p in sorted(stacks.iterdir())]
    moved = tmp_path / "moved"
    moved.mkdir()
    (stacks / "nuclei_00.tif").rename(moved / "nuclei_00.tif")  # the user moved it after predicting
    panel = PredictedStacks()
    qtbot.addWidget(panel)
    panel.show_rows(rows, "instance", None, out)
    qtbot.waitUntil(lambda: panel.problem != "", timeout=20_000)
    assert "nuclei_00.tif is no longer in" in panel.problem and "Traceback" not in panel.problem
    assert panel.status.text() == panel.problem and panel.viewer.display is None
    panel.step(1)  # the other stack is still shown
    qtbot.waitUntil(lambda: panel.shown == "nuclei_01.tif", timeout=20_000)
    assert panel.problem == "" and panel.viewer.display is not None
    (out / "labels" / "nuclei_01_labels.tif").unlink()  # the results folder tidied by hand
    panel.show_stack(1)
    qtbot.waitUntil(lambda: panel.problem != "", timeout=20_000)
    assert "predicted objects of nuclei_01.tif" in panel.problem and "Predict again" in panel.problem


def test_the_evaluate_table_counts_voxels_for_a_run_on_stacks(qtbot, tmp_path):
    from petrilab import settings as settings_io
    from petrilab.gui.pages.evaluate_per_item import PerItemPanel
    from petrilab.gui.tasks.segmentation.stack_pairs import trained_on_stacks

    metrics = {"per_class": {"nucleus": {"iou": 0.8, "dice": 0.9, "precision": 0.9, "recall": 0.85,
                                          "support": 1000}}}
    panel = PerItemPanel()
    qtbot.addWidget(panel)
    def headers():
        return [panel.table.horizontalHeaderItem(i).text() for i in range(panel.table.columnCount())]

    panel.show_metrics(metrics)
    assert headers()[-1] == "Pixels"
    _, subtitle = panel.show_metrics(metrics, voxels=True)
    assert headers()[-1] == "Voxels" and "voxels" in subtitle and "stacks" in subtitle
    assert "true voxels" in panel.explained.text() and "pixels" not in panel.explained.text()

    run, flat = tmp_path / "run", tmp_path / "flat"
    for folder, dimensions in ((run, "3d"), (flat, "2d")):
        settings = settings_io.Settings()
        settings.data.dimensions = dimensions
        folder.mkdir()
        settings_io.save(settings, folder / "settings.toml")
    assert trained_on_stacks(run) and not trained_on_stacks(flat)
    assert not trained_on_stacks(tmp_path / "nowhere") and not trained_on_stacks(None)


def test_the_stack_block_control_writes_the_setting_and_says_the_memory_it_needs(qtbot, tmp_path):
    from petrilab.gui.tasks.segmentation.stack_patch_control import (StackPatchSizeControl, as_trained,
                                                                     memory_words, stack_facts, stacks_bytes)
    from petrilab.settings import Settings
    from petrilab.tasks.segmentation.masks import discover_segmentation
    from petrilab.tasks.segmentation.stack_check import check_stack_segmentation

    control = StackPatchSizeControl()
    qtbot.addWidget(control.widget)
    written = []
    control.changed.connect(lambda key, value: written.append((key, value)))
    control.show_value([])
    assert control.from_data.isChecked() and not written  # showing a value writes nothing
    control.set_resolved([8, 48, 48])
    assert control.value() == [8, 48, 48]
    control.from_data.setChecked(False)
    control.spins[0].setValue(12)
    assert written == [("data.stack_patch_size", [8, 48, 48]), ("data.stack_patch_size", [12, 48, 48])]
    control.from_data.setChecked(True)
    assert written[-1] == ("data.stack_patch_size", [])

    gb = 1024 ** 3
    fits = {"block": [8, 48, 48], "batch": 4, "needed": gb // 2, "available": 6 * gb, "where": "RAM"}
    text, too_much = memory_words(fits, data=gb // 4)
    assert not too_much and text.startswith("Training needs about 768 MB") and "6.0 GB is free" in text
    assert "a batch of 4 blocks of 8 × 48 × 48 voxels: 512 MB; the stacks: 256 MB" in text
    control.show_memory(fits, gb // 4)
    assert control.memory.isVisibleTo(control.widget) and not control.too_much
    text, too_much = memory_words({**fits, "needed": 7 * gb})
    assert too_much and "more than the 6.0 GB this computer has free" in text and "smaller blocks" in text
    control.show_memory({**fits, "needed": 7 * gb})
    assert control.too_much and control.memory.text().startswith("⚠")
    control.show_memory(None)
    assert not control.memory.isVisibleTo(control.widget)

    # the facts come from the data check: the block "from the data" and the stacks' own bytes
    data = example_stacks(tmp_path / "stacks", n=3, size=(10, 48, 40))
    report = check_stack_segmentation(discover_segmentation("instance", data))
    checked = type("Checked", (), {"report": report, "input_shape": lambda self, s: [64, 64, 1]})()
    settings = Settings()
    settings.model.filters = [8, 16]
    facts = stack_facts(settings, checked)
    assert facts["resolved"] == [8, 40, 40] and facts["block"] == [8, 40, 40]  # planes 4× apart: no z pooling
    assert facts["data"] == stacks_bytes({"10 × 48 × 40": 3}, 1) == 3 * 10 * 48 * 40 * 8
    # the helper describes the network training will build: with the stacks' voxel size when none is set
    described = as_trained(settings, facts)
    assert described.data.voxel_size == pytest.approx(list(VOXEL)) and settings.data.voxel_size == []
    settings.data.voxel_size = [2.0, 0.5, 0.5]
    assert as_trained(settings, stack_facts(settings, checked)) is settings  # the user's own wins
    settings.data.voxel_size = []
    settings.data.stack_patch_size = [6, 30, 30]
    assert stack_facts(settings, checked)["block"] == [6, 28, 28]  # on the network's grid, as training rounds
    report.dimensions = "2d"
    assert stack_facts(settings, checked) is None
