"""Predict → Correct → Retrain in the annotation editor (issue #17, items 2, 5 and 6), on real widgets with a
real tiny trained run: the run's prediction as the proposal, the images numbered most useful first, the
"Next most useful image" key, and "Retrain with my corrections" setting model.start_from in the main window.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from petrilab import settings as settings_io  # noqa: E402
from petrilab.annotation.folder import SAVED, AnnotationFolder  # noqa: E402
from petrilab.annotation.model_proposal import ModelProposer  # noqa: E402
from petrilab.gui.annotation.segmentation_editor import SegmentationEditor  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "instance"
pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def trained(tmp_path, finished_run):
    """Six demo nuclei images, three labelled from their masks, and a run that learnt instance segmentation of the
    demo nuclei (tests/finished_runs.py's cached 'instance' run: trained once per version of the app, not here)."""
    images = tmp_path / "nuclei"
    images.mkdir()
    for p in sorted((DEMO / "images").iterdir())[:6]:
        shutil.copy(p, images)
    folder = AnnotationFolder.create(tmp_path / "labels", images, "instance")
    for entry in folder.entries[:3]:
        folder.save_mask(entry, tifffile.imread(DEMO / "masks" / f"{entry.stem}.tif"))
    run = finished_run("instance").run
    assert settings_io.load(run / "settings.toml").task.kind == "instance"
    return images, folder, run


def test_a_model_proposes_orders_the_images_and_retrains_from_the_corrections(qtbot, trained, tmp_path):
    from helpers import main_window

    images, folder, run = trained
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in images.iterdir()}
    with main_window(tmp_path) as window:
        editor = SegmentationEditor(folder)
        qtbot.addWidget(editor)
        editor.retrain_requested.connect(window.retrain_on_annotations)
        editor.resize(1100, 700)
        editor.show()
        qtbot.waitUntil(lambda: not editor.proposer.busy)
        assert not editor.next_button.isEnabled() and not editor.retrain_button.isEnabled()  # no model yet

        editor.choose_model(images)  # not a run: refused in the window, by name, with what to do
        qtbot.waitUntil(lambda: not editor.model_loader.busy, timeout=60_000)
        assert editor.model_run is None and editor.message.isVisible()
        assert "is not a PetriLab run folder" in editor.message.label.text() and str(images) in editor.message.label.text()

        editor.choose_model(run)  # predicted in a child process: the window never loads TensorFlow
        qtbot.waitUntil(lambda: editor.model_run is not None, timeout=60_000)
        todo = [e.name for e in folder.entries if e.status != SAVED]
        assert sorted(editor.useful) == sorted(todo) and "first" in editor.model_state.text()
        for row, entry in enumerate(folder.entries):  # the images to do carry their place in the order
            text = editor.image_list.item(row).text()
            if entry.status == SAVED:
                assert text.startswith("✓") and "#" not in text
            else:
                assert text.endswith(f"#{editor.useful.index(entry.name) + 1}")
        assert editor.next_button.isEnabled() and editor.retrain_button.isEnabled()

        first = editor.useful[0] if editor.entry.name != editor.useful[0] else editor.useful[1]
        QTest.keyClick(editor.canvas, Qt.Key.Key_M)  # M: the most useful image not labelled yet (not this one)
        assert editor.entry.name == first
        qtbot.waitUntil(lambda: not editor.proposer.busy, timeout=30_000)
        expected = ModelProposer(run, folder).propose(folder.read_image(editor.entry))  # the child's = the engine's
        np.testing.assert_array_equal(editor.canvas.mask, expected.astype(folder.mask_dtype))  # the model's mask
        assert editor.entry.status != SAVED  # shown, not saved: nothing was done to it yet

        # Propose again on the model's proposal: the mask does not change, but the user accepted it: saved
        QTest.mouseClick(editor.propose_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not editor.proposer.busy, timeout=30_000)
        assert editor.saver.flush()
        assert editor.entry.status == SAVED
        qtbot.waitUntil(lambda: editor.save_state.text() == "All changes saved")
        np.testing.assert_array_equal(folder.read_mask(editor.entry), expected.astype(folder.mask_dtype))

        from test_annotation_gui import at_pixel, stroke

        editor.canvas.one_to_one()  # the correction: one stroke on the model's mask, saved at once
        stroke(editor.canvas, [at_pixel(editor.canvas, 20, 20), at_pixel(editor.canvas, 40, 20)])
        assert editor.saver.flush()
        assert editor.entry.status == SAVED
        QTest.mouseClick(editor.retrain_button, Qt.MouseButton.LeftButton)
        assert window.context.settings.model.start_from == str(run)
        assert window.context.settings.data.folder == str(folder.root)
        assert window.context.settings.task.kind == "instance" and window.current_key == "data"
        editor.close()
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in images.iterdir()} == before
