"""The annotation editor's Outlines menu (gui/annotation/outline_files.py), on the real widgets: the image's
objects exported as an ImageJ ROI set, objects from QuPath GeoJSON imported as its labels (saved, one undo
step), a damaged file or a target inside the data refused in the window by name."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from test_annotation_gui import open_editor

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QFileDialog  # noqa: E402

from petrilab.annotation.folder import SAVED, AnnotationFolder  # noqa: E402
from petrilab.export.geojson import write_geojson  # noqa: E402
from petrilab.export.imagej_rois import read_rois  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "instance"
pytestmark = pytest.mark.gui
pytest.importorskip("roifile")  # the `formats` extra


def _folder(tmp_path, task="instance", classes=None):
    images = tmp_path / "nuclei"
    images.mkdir()
    shutil.copy(DEMO / "images" / "nuclei_001.png", images)
    return images, AnnotationFolder.create(tmp_path / "labels", images, task, classes)


def _answer(monkeypatch, method: str, path) -> None:
    """The file dialog answers `path`, as a user choosing it would."""
    monkeypatch.setattr(QFileDialog, method, staticmethod(lambda *a, **k: (str(path), "")))


def test_outlines_go_out_to_imagej_and_come_in_from_qupath(qtbot, tmp_path, monkeypatch):
    images, folder = _folder(tmp_path)
    original = hashlib.sha256((images / "nuclei_001.png").read_bytes()).hexdigest()
    editor = open_editor(qtbot, folder)
    proposal = editor.canvas.mask.copy()
    assert proposal.any()

    _answer(monkeypatch, "getSaveFileName", tmp_path / "out" / "nuclei_001.zip")
    (tmp_path / "out").mkdir()
    editor.export_outlines_action.trigger()
    np.testing.assert_array_equal(read_rois(tmp_path / "out" / "nuclei_001.zip", proposal.shape), proposal)
    assert "nuclei_001.zip" in editor.message.label.text()

    truth = tifffile.imread(DEMO / "masks" / "nuclei_001.tif")
    qupath = write_geojson(tmp_path / "out" / "from_qupath.geojson", truth, {int(v): "Nucleus" for v in np.unique(truth) if v})
    _answer(monkeypatch, "getOpenFileName", qupath)
    editor.import_outlines_action.trigger()
    np.testing.assert_array_equal(editor.canvas.mask, truth)
    assert editor.saver.flush()
    np.testing.assert_array_equal(folder.read_mask(folder.entries[0]), truth)  # saved, the image labelled
    assert folder.entries[0].status == SAVED and editor.canvas.value == truth.max() + 1
    assert f"{len(np.unique(truth)) - 1} objects imported" in editor.message.label.text()
    QTest.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step
    np.testing.assert_array_equal(editor.canvas.mask, proposal)

    broken = tmp_path / "out" / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 cut short")
    _answer(monkeypatch, "getOpenFileName", broken)
    editor.import_outlines_action.trigger()
    assert editor.message.isVisible() and "broken.zip" in editor.message.label.text()
    np.testing.assert_array_equal(editor.canvas.mask, proposal)  # nothing changed

    _answer(monkeypatch, "getSaveFileName", images / "objects.zip")  # into the originals' folder: refused
    editor.export_outlines_action.trigger()
    assert "never writes into your data" in editor.message.label.text() and not (images / "objects.zip").exists()
    assert hashlib.sha256((images / "nuclei_001.png").read_bytes()).hexdigest() == original
    editor.close()


def test_in_a_class_folder_imported_objects_take_the_class_in_hand(qtbot, tmp_path, monkeypatch):
    _, folder = _folder(tmp_path, "semantic", ["background", "nucleus", "debris"])
    editor = open_editor(qtbot, folder)
    editor.class_box.setCurrentIndex(1)  # debris
    square = np.zeros(editor.canvas.mask.shape, np.uint16)
    square[10:20, 30:50] = 1
    geo = write_geojson(tmp_path / "debris.geojson", square)
    _answer(monkeypatch, "getOpenFileName", geo)
    editor.import_outlines_action.trigger()
    assert editor.saver.flush()
    np.testing.assert_array_equal(folder.read_mask(folder.entries[0]), square * 2)

    _answer(monkeypatch, "getSaveFileName", tmp_path / "classes.geojson")
    editor.export_outlines_action.trigger()
    import json

    features = json.loads((tmp_path / "classes.geojson").read_text())["features"]
    assert len(features) == 1 and features[0]["properties"]["classification"] == {"name": "debris"}
    editor.close()
