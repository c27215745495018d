"""The annotation window, driven like a user: mouse strokes and keys on the real widgets (offscreen).

Masks are checked pixel by pixel against what the strokes must cover, and the originals' SHA-256 after.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi

pytestmark = pytest.mark.gui

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from petrilab.annotation.folder import MANIFEST, SAVED, AnnotationFolder  # noqa: E402
from petrilab.annotation.proposal import propose  # noqa: E402
from petrilab.data.images import read_image  # noqa: E402
from petrilab.gui.annotation.class_sorter import ClassSorter  # noqa: E402
from petrilab.gui.annotation.segmentation_editor import SegmentationEditor  # noqa: E402
from petrilab.gui.annotation.start_dialog import StartAnnotationDialog  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def swept(shape, points, radius):
    """Pixels whose centre lies within `radius` of the polyline through `points` (x, y), by brute force:
    the exact distance from every pixel centre to each segment."""
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    cy, cx = rows + 0.5, cols + 0.5
    hit = np.zeros(shape, bool)
    for (px, py), (qx, qy) in zip(points[:-1], points[1:]):
        dx, dy = qx - px, qy - py
        t = np.zeros(shape) if dx == dy == 0 else np.clip(((cx - px) * dx + (cy - py) * dy) / (dx * dx + dy * dy), 0, 1)
        hit |= (cx - px - t * dx) ** 2 + (cy - py - t * dy) ** 2 <= radius ** 2
    return hit


@pytest.fixture
def blank_images(tmp_path) -> Path:
    """Two flat 16-bit images (the proposal finds nothing on them, so strokes alone make the mask)."""
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ["one", "two"]:
        tifffile.imwrite(folder / f"{name}.tif", np.full((120, 160), 300, np.uint16))
    return folder


def open_editor(qtbot, folder: AnnotationFolder) -> SegmentationEditor:
    editor = SegmentationEditor(folder)
    qtbot.addWidget(editor)
    editor.resize(1100, 700)
    editor.show()
    editor.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is editor)
    qtbot.waitUntil(lambda: not editor.proposer.busy)
    editor.canvas.one_to_one()
    editor.canvas.setFocus()
    return editor


def stroke(canvas, points: list[tuple[int, int]]) -> list[tuple[float, float]]:
    """Press, move through, release the left button at viewport points; returns them in image pixels."""
    viewport = canvas.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[0]))
    for p in points[1:]:
        QTest.mouseMove(viewport, QPoint(*p))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[-1]))
    scene = [canvas.mapToScene(QPoint(*p)) for p in points]
    return [(s.x(), s.y()) for s in scene]


def at_pixel(canvas, x: float, y: float) -> tuple[int, int]:
    """The viewport point over image pixel coordinates (x, y)."""
    p = canvas.mapFromScene(QPointF(x, y))
    return p.x(), p.y()


def key(widget, k) -> None:
    QTest.keyClick(widget, k)


def test_a_brush_stroke_covers_exactly_the_swept_pixels_then_eraser_undo_redo(qtbot, blank_images, tmp_path):
    before = hashes(blank_images)
    folder = AnnotationFolder.create(tmp_path / "labels", blank_images, "semantic", ["background", "cell", "dirt"])
    editor = open_editor(qtbot, folder)
    canvas = editor.canvas
    assert not canvas.mask.any()
    key(canvas, Qt.Key.Key_2)  # the second class
    assert canvas.value == 2 and editor.class_box.currentText() == "2 · dirt"
    for _ in range(3):
        key(canvas, Qt.Key.Key_BracketLeft)  # 5 → 4 → 3 → 2
    assert canvas.radius == 2 and editor.size_box.value() == 2
    drawn = stroke(canvas, [at_pixel(canvas, 20, 30), at_pixel(canvas, 60, 50), at_pixel(canvas, 100, 52)])
    expected = swept(canvas.mask.shape, drawn, 2)
    assert expected.sum() > 100
    np.testing.assert_array_equal(canvas.mask == 2, expected)
    assert set(np.unique(canvas.mask)) == {0, 2}
    after_brush = canvas.mask.copy()

    key(canvas, Qt.Key.Key_E)
    assert editor.tool_buttons["eraser"].isChecked()
    erased = stroke(canvas, [at_pixel(canvas, 60, 10), at_pixel(canvas, 60, 110)])
    np.testing.assert_array_equal(canvas.mask == 2, expected & ~swept(canvas.mask.shape, erased, 2))
    after_eraser = canvas.mask.copy()

    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(canvas.mask, after_brush)
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not canvas.mask.any()
    QTest.keyClick(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(canvas.mask, after_eraser)
    overlay_alpha = canvas._overlay[..., 3] > 0
    np.testing.assert_array_equal(overlay_alpha, after_eraser > 0)  # what is shown is what is saved

    assert editor.saver.flush()
    qtbot.waitUntil(lambda: editor.save_state.text() == "All changes saved")
    entry = folder.entries[0]
    np.testing.assert_array_equal(AnnotationFolder.open(tmp_path / "labels").read_mask(entry), after_eraser)
    assert entry.status == SAVED and "✓" in editor.image_list.item(0).text()
    reopened = open_editor(qtbot, AnnotationFolder.open(tmp_path / "labels"))
    assert reopened.entry.name == "two.tif"  # where the user left off
    assert hashes(blank_images) == before


def test_fill_fills_exactly_the_inside_of_a_drawn_outline(qtbot, blank_images, tmp_path):
    folder = AnnotationFolder.create(tmp_path / "labels", blank_images, "semantic")
    editor = open_editor(qtbot, folder)
    canvas = editor.canvas
    corners = [(30, 20), (120, 20), (120, 90), (30, 90), (30, 20)]
    stroke(canvas, [at_pixel(canvas, x, y) for x, y in corners])
    outline = canvas.mask == 1
    key(canvas, Qt.Key.Key_F)
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(*at_pixel(canvas, 70, 55)))
    inside = ndi.binary_fill_holes(outline)
    np.testing.assert_array_equal(canvas.mask == 1, inside)
    assert inside.sum() > outline.sum() + 4000  # the interior, not only the outline
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(canvas.mask == 1, outline)


def test_the_lasso_fills_what_the_mouse_went_round_as_one_undo_step(qtbot, blank_images, tmp_path):
    editor = open_editor(qtbot, AnnotationFolder.create(tmp_path / "labels", blank_images, "semantic"))
    canvas = editor.canvas
    key(canvas, Qt.Key.Key_L)
    corners = [at_pixel(canvas, x, y) for x, y in [(20, 20), (100, 20), (100, 80), (20, 80)]]
    drawn = stroke(canvas, corners)
    rows, cols = np.mgrid[:120, :160]
    (left, top), (right, bottom) = drawn[0], drawn[2]
    expected = (cols + 0.5 > left) & (cols + 0.5 < right) & (rows + 0.5 > top) & (rows + 0.5 < bottom)
    np.testing.assert_array_equal(canvas.mask == 1, expected)
    assert canvas.lasso_line.path().isEmpty()  # the outline goes once filled
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not canvas.mask.any()


def test_new_object_and_delete_object(qtbot, blank_images, tmp_path):
    folder = AnnotationFolder.create(tmp_path / "labels", blank_images, "instance")
    editor = open_editor(qtbot, folder)
    canvas = editor.canvas
    assert canvas.value == 1
    first = stroke(canvas, [at_pixel(canvas, 20, 20), at_pixel(canvas, 40, 20)])
    key(canvas, Qt.Key.Key_N)
    assert canvas.value == 2 and editor.object_label.text().endswith("drawing object 2")
    second = stroke(canvas, [at_pixel(canvas, 100, 80), at_pixel(canvas, 120, 90)])
    np.testing.assert_array_equal(canvas.mask == 1, swept(canvas.mask.shape, first, 5))
    np.testing.assert_array_equal(canvas.mask == 2, swept(canvas.mask.shape, second, 5))
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(*at_pixel(canvas, 30, 20)))  # object 1 again: drawing goes on with it
    assert canvas.value == 1 and editor.object_label.text().endswith("drawing object 1")
    more = stroke(canvas, [at_pixel(canvas, 30, 50), at_pixel(canvas, 30, 60)])
    both = swept(canvas.mask.shape, first, 5) | swept(canvas.mask.shape, more, 5)
    np.testing.assert_array_equal(canvas.mask == 1, both)
    key(canvas, Qt.Key.Key_D)
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(*at_pixel(canvas, 30, 20)))  # deletes all of object 1, both parts
    assert set(np.unique(canvas.mask)) == {0, 2}
    np.testing.assert_array_equal(canvas.mask == 2, swept(canvas.mask.shape, second, 5))
    assert editor.saver.flush()
    saved = tifffile.imread(folder.mask_path(folder.entries[0]))
    assert saved.dtype == np.uint16
    np.testing.assert_array_equal(saved, canvas.mask)


def test_zoom_pan_and_brush_size_from_the_mouse(qtbot, blank_images, tmp_path):
    editor = open_editor(qtbot, AnnotationFolder.create(tmp_path / "labels", blank_images, "semantic"))
    canvas = editor.canvas

    def wheel(steps: int, modifiers=Qt.KeyboardModifier.NoModifier):
        centre = QPointF(canvas.viewport().rect().center())
        event = QWheelEvent(centre, canvas.viewport().mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120 * steps),
                            Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(canvas.viewport(), event)

    wheel(5)
    assert canvas.transform().m11() == pytest.approx(1.2 ** 5)
    wheel(1, Qt.KeyboardModifier.ControlModifier)
    assert canvas.radius == 6 and canvas.transform().m11() == pytest.approx(1.2 ** 5)  # size, not zoom
    wheel(10)
    scroll = canvas.horizontalScrollBar().value()
    viewport = canvas.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    QTest.mouseMove(viewport, QPoint(200, 300))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 300))
    assert canvas.horizontalScrollBar().value() == scroll + 100
    assert not canvas.mask.any()  # panning draws nothing

    # Space + drag pans too, even just after a button was clicked (the button does not keep the keys)
    QTest.mouseClick(editor.propose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not editor.proposer.busy)
    assert QApplication.focusWidget() is canvas
    scroll = canvas.verticalScrollBar().value()
    QTest.keyPress(canvas, Qt.Key.Key_Space)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    QTest.mouseMove(viewport, QPoint(300, 240))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 240))
    QTest.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.verticalScrollBar().value() == scroll + 60 and not canvas.mask.any()


def test_propose_gives_the_classical_proposal_and_undo_takes_it_back(qtbot, tmp_path):
    images = tmp_path / "nuclei"
    images.mkdir()
    shutil.copy(DEMO / "instance" / "images" / "nuclei_001.png", images)
    folder = AnnotationFolder.create(tmp_path / "labels", images, "instance")
    editor = open_editor(qtbot, folder)  # a new image starts from the proposal, not yet saved
    expected = propose(read_image(images / "nuclei_001.png"), objects=True)
    np.testing.assert_array_equal(editor.canvas.mask, expected)
    assert not folder.mask_path(folder.entries[0]).exists() and editor.canvas.value == expected.max() + 1
    QTest.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not editor.canvas.mask.any()
    QTest.mouseClick(editor.propose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.canvas.mask.any())
    np.testing.assert_array_equal(editor.canvas.mask, expected)
    assert editor.saver.flush()
    np.testing.assert_array_equal(folder.read_mask(folder.entries[0]), expected)  # asked for: saved


def test_propose_on_the_proposal_shown_saves_it_as_it_is(qtbot, tmp_path):
    """Propose on a new image, which already shows the same proposal unsaved: the mask does not change,
    but the user accepted it, so it is saved (the image counts as labelled)."""
    images = tmp_path / "nuclei"
    images.mkdir()
    shutil.copy(DEMO / "instance" / "images" / "nuclei_001.png", images)
    folder = AnnotationFolder.create(tmp_path / "labels", images, "instance")
    editor = open_editor(qtbot, folder)
    shown = editor.canvas.mask.copy()
    assert shown.any() and not folder.mask_path(folder.entries[0]).exists()
    QTest.mouseClick(editor.propose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not editor.proposer.busy)
    assert editor.saver.flush()
    np.testing.assert_array_equal(folder.read_mask(folder.entries[0]), shown)
    assert folder.entries[0].status == SAVED
    qtbot.waitUntil(lambda: "1 of 1" in editor.progress.text())  # the saver's signal crosses threads


def test_sorting_keys_write_the_class_folders(qtbot, tmp_path):
    images = tmp_path / "cells"
    images.mkdir()
    rng = np.random.default_rng(2)
    for k in range(5):
        tifffile.imwrite(images / f"cell_{k}.tif", rng.integers(0, 255, (32, 32), dtype=np.uint8))
    before = hashes(images)
    folder = AnnotationFolder.create(tmp_path / "sorted", images, "classification", ["healthy", "infected"])
    sorter = ClassSorter(folder)
    qtbot.addWidget(sorter)
    sorter.resize(900, 600)
    sorter.show()
    sorter.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is sorter)
    for k in [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_S, Qt.Key.Key_U, Qt.Key.Key_2]:
        QTest.keyClick(sorter, k)
    assert sorter.saver.flush()
    root = tmp_path / "sorted"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "annotation.json", "healthy/cell_0.tif", "infected/cell_1.tif", "infected/cell_4.tif"]
    manifest = json.loads((root / MANIFEST).read_text())
    assert [(e["status"], e["label"]) for e in manifest["images"]] == [
        ("sorted", "healthy"), ("sorted", "infected"), ("skipped", None), ("unsure", None), ("sorted", "infected")]
    QTest.keyClick(sorter, Qt.Key.Key_Left)
    QTest.keyClick(sorter, Qt.Key.Key_Left)  # back to cell_2, skipped: now put in a class
    assert sorter.entry.name == "cell_2.tif"
    QTest.keyClick(sorter, Qt.Key.Key_1)
    assert sorter.saver.flush()
    assert (root / "healthy" / "cell_2.tif").read_bytes() == (images / "cell_2.tif").read_bytes()
    qtbot.waitUntil(lambda: "4 of 5" in sorter.progress.text())
    assert hashes(images) == before


def test_tagging_keys_switch_labels_and_enter_saves_them(qtbot, tmp_path):
    images = tmp_path / "cells"
    images.mkdir()
    for k in range(3):
        tifffile.imwrite(images / f"cell_{k}.tif", np.full((16, 16), k, np.uint8))
    before = hashes(images)
    folder = AnnotationFolder.create(tmp_path / "tags", images, "multilabel", ["nucleus", "mito", "golgi"])
    sorter = ClassSorter(folder)
    qtbot.addWidget(sorter)
    sorter.show()
    sorter.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is sorter)
    for k in [Qt.Key.Key_1, Qt.Key.Key_3, Qt.Key.Key_3, Qt.Key.Key_2, Qt.Key.Key_Return,  # nucleus, mito
              Qt.Key.Key_Return,  # no label
              Qt.Key.Key_U]:
        QTest.keyClick(sorter, k)
    assert sorter.saver.flush()
    assert (tmp_path / "tags" / "labels.csv").read_text().splitlines() == [
        "filename,nucleus,mito,golgi", "cell_0.tif,1,1,0", "cell_1.tif,0,0,0"]
    QTest.keyClick(sorter, Qt.Key.Key_Left)
    QTest.keyClick(sorter, Qt.Key.Key_Left)  # back to cell_0: its labels are shown switched on
    assert [b.isChecked() for b in sorter.class_buttons] == [True, True, False]
    qtbot.waitUntil(lambda: "2 of 3" in sorter.progress.text())
    assert hashes(images) == before


def test_the_start_dialog_makes_the_folder_or_says_why_not(qtbot, blank_images, tmp_path):
    dialog = StartAnnotationDialog(images_folder=str(blank_images))
    qtbot.addWidget(dialog)
    assert dialog.target_edit.text() == str(tmp_path / "images annotations")  # beside, never inside
    dialog.task_buttons["semantic"].setChecked(True)
    dialog.target_edit.setText(str(blank_images / "labels"))
    QTest.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.folder is None and "inside the images folder" in dialog.message.text()
    assert str(blank_images / "labels") in dialog.message.text() and not (blank_images / "labels").exists()

    dialog.task_buttons["classification"].setChecked(True)
    dialog.target_edit.setText(str(tmp_path / "sorted"))
    QTest.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.folder is None and "two class names" in dialog.message.text()
    dialog.classes_edit.setText("live, dead")
    QTest.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.folder is not None and dialog.folder.classes == ["live", "dead"]
    assert (tmp_path / "sorted" / MANIFEST).is_file()

    again = StartAnnotationDialog()
    qtbot.addWidget(again)
    again.open_folder(str(blank_images))
    assert again.folder is None and "not a PetriLab annotation folder" in again.message.text()
    again.open_folder(str(tmp_path / "sorted"))
    assert again.folder.classes == ["live", "dead"]


def test_a_changed_original_is_refused_in_the_window_by_name(qtbot, blank_images, tmp_path):
    folder = AnnotationFolder.create(tmp_path / "labels", blank_images, "semantic")
    tifffile.imwrite(blank_images / "two.tif", np.zeros((120, 160), np.uint16))
    editor = open_editor(qtbot, folder)
    stroke(editor.canvas, [at_pixel(editor.canvas, 10, 10), at_pixel(editor.canvas, 50, 10)])  # on one.tif
    QTest.keyClick(editor.canvas, Qt.Key.Key_PageDown)
    assert "two.tif" in editor.message.text() and "changed since" in editor.message.text()
    assert not editor.canvas.isEnabled()
    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # nothing to undo or save here
    assert editor.canvas.mask.any()  # one.tif's stroke was not undone behind the message
    assert editor.saver.flush()
    assert not folder.mask_path(folder.entries[1]).exists() and folder.read_mask(folder.entries[0]).any()


KILLED_EDITOR = """
import sys
import time
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
app = QApplication([])
from petrilab.annotation.folder import AnnotationFolder
from petrilab.gui.annotation.segmentation_editor import SegmentationEditor
editor = SegmentationEditor(AnnotationFolder.open(sys.argv[1]))
editor.resize(900, 600)
editor.show()
while editor.proposer.busy:
    app.processEvents()
editor.canvas.one_to_one()
editor.saver.saved.connect(lambda name: print("saved", flush=True))
viewport = editor.canvas.viewport()
k = 0
while True:  # stroke k: a line across row 2 + 4k (mod 110), a stroke every 20 ms, until killed
    k += 1
    y = 2 + (4 * k) % 110
    left, right = (editor.canvas.mapFromScene(QPointF(x, y)) for x in (5, 150))
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, left)
    QTest.mouseMove(viewport, right)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, right)
    app.processEvents()
    time.sleep(0.02)
"""


@pytest.mark.slow
def test_killing_the_editor_mid_annotation_loses_nothing_saved(blank_images, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    before = hashes(blank_images)
    AnnotationFolder.create(tmp_path / "labels", blank_images, "semantic")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "app"), QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen([sys.executable, "-c", KILLED_EDITOR, str(tmp_path / "labels")],
                             stdout=subprocess.PIPE, stderr=open(tmp_path / "child.log", "w"), env=env, text=True)
    try:
        saves = 0
        while saves < 15:  # the editor saved 15 times (and goes on drawing and saving): kill it mid-way
            line = child.stdout.readline()
            assert line, "the editor stopped by itself: " + (tmp_path / "child.log").read_text()[-2000:]
            saves += line.startswith("saved")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    folder = AnnotationFolder.open(tmp_path / "labels")  # annotation.json whole
    entry = folder.entries[0]
    mask = folder.read_mask(entry)  # the mask file whole
    assert entry.status == SAVED and set(np.unique(mask)) == {0, 1}
    drawn_rows = [y for y in range(120) if mask[y, 40:120].all()]
    assert len(drawn_rows) >= 15 * 5 // 2  # at least the 15 strokes saved (5 rows each), likely more
    assert (tmp_path / "labels" / "images" / "one.tif").read_bytes() == (blank_images / "one.tif").read_bytes()
    assert hashes(blank_images) == before


def test_file_menu_opens_the_annotation_dialog_and_then_the_editor(qtbot, blank_images, tmp_path):
    from PySide6.QtCore import QTimer

    from helpers import main_window

    with main_window(tmp_path, model_helper=False) as window:
        file_menu = window.menuBar().actions()[0].menu()
        assert window.action_annotate in file_menu.actions()
        assert window.action_annotate.text() == "Annotate images…"

        def fill_in_and_start():
            dialog = QApplication.activeModalWidget()
            dialog.images_edit.setText(str(blank_images))
            dialog.task_buttons["instance"].setChecked(True)
            dialog.target_edit.setText(str(tmp_path / "labels"))
            dialog.start_button.click()

        QTimer.singleShot(0, fill_in_and_start)
        window.action_annotate.trigger()  # the dialog runs until the timer presses Start
        editors = window.annotation_windows
        assert len(editors) == 1 and isinstance(editors[0], SegmentationEditor) and editors[0].isVisible()
        assert editors[0].folder.root == (tmp_path / "labels").resolve()
        qtbot.waitUntil(lambda: not editors[0].proposer.busy)
        assert not editors[0].train_button.isEnabled()  # nothing labelled yet
        editors[0].canvas.one_to_one()
        stroke(editors[0].canvas, [at_pixel(editors[0].canvas, 20, 20), at_pixel(editors[0].canvas, 40, 20)])
        qtbot.waitUntil(editors[0].train_button.isEnabled)
        QTest.mouseClick(editors[0].train_button, Qt.MouseButton.LeftButton)  # the labels become the data
        assert window.context.settings.task.kind == "instance"
        assert window.context.settings.data.folder == str((tmp_path / "labels").resolve())
        assert window.current_key == "data"
        editors[0].close()


def test_display_keeps_colours_and_stretches_16_bit_grey():
    from petrilab.gui.annotation.canvas import colour_table, display_argb, display_levels

    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 200  # red
    out = display_argb(rgb, 0, 200)
    assert out[0, 0].tolist() == [0, 0, 255, 255]  # Qt's ARGB32 in memory: blue, green, red, alpha
    grey = np.linspace(0, 60000, 100 * 100).reshape(100, 100, 1).astype(np.uint16)
    low, high = display_levels(grey)
    shown = display_argb(grey, low, high)[..., 0]
    assert shown.min() == 0 and shown.max() == 255 and (shown == 255).mean() < 0.01  # 1st–99.8th percentiles
    table = colour_table(None)
    assert table[0].tolist() == [0, 0, 0, 0] and (table[1:, 3] == 255).all()  # background transparent
    assert len({tuple(c) for c in table[1:256]}) == 255  # neighbouring objects get different colours
