"""ImageJ ROI sets (export/imagej_rois.py): objects exported from a label image as a .zip of .roi outlines
and imported back as masks of the image's size."""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest
from skimage.draw import disk

from petrilab.errors import UserError
from petrilab.export.imagej_rois import read_rois, write_rois

pytest.importorskip("roifile")  # the `formats` extra


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hand_built() -> np.ndarray:
    labels = np.zeros((60, 80), np.uint16)
    labels[disk((15, 15), 9, shape=labels.shape)] = 3
    labels[disk((40, 50), 12, shape=labels.shape)] = 8
    labels[5:20, 40:70] = 12  # a rectangle
    labels[45:58, 5:10] = labels[53:58, 5:25] = 20  # an L
    labels[0:6, 74:80] = 21  # at the image's corner
    labels[30:34, 2:6] = labels[30:34, 20:24] = 30  # one object in two parts
    return labels


def test_a_label_image_goes_out_as_a_roi_set_and_comes_back_with_the_same_objects(tmp_path):
    labels = _hand_built()
    path = write_rois(tmp_path / "cells.zip", labels)
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
    assert names[0] == "label-0003.roi" and len(names) == 7  # six objects, one of them in two parts
    sha = _sha(path)
    back = read_rois(path, labels.shape)
    assert _sha(path) == sha
    assert back.shape == labels.shape and back.dtype == np.uint16
    objects = [v for v in np.unique(labels) if v]
    assert [v for v in np.unique(back) if v] == objects
    for value in objects:
        a, b = labels == value, back == value
        assert (a & b).sum() / (a | b).sum() >= 0.9, value


def test_rois_drawn_in_imagej_become_objects_and_lines_are_skipped(tmp_path):
    from roifile import ROI_TYPE, ImagejRoi, roiwrite

    rect = ImagejRoi(roitype=ROI_TYPE.RECT, top=2, left=3, bottom=6, right=9, name="0004-0006")
    oval = ImagejRoi(roitype=ROI_TYPE.OVAL, top=10, left=10, bottom=20, right=20, name="0015-0015")
    line = ImagejRoi(roitype=ROI_TYPE.LINE, x1=0, y1=0, x2=20, y2=20, name="a line")
    roiwrite(tmp_path / "drawn.zip", [rect, oval, line])
    back = read_rois(tmp_path / "drawn.zip", (24, 24))
    assert (back == 1).sum() == 4 * 6 and back[2:6, 3:9].min() == 1  # ImageJ's rectangle: rows 2-5, columns 3-8
    disc = back == 2
    assert 60 < disc.sum() < 100 and disc[15, 15] and not disc[10, 10]  # a circle of diameter 10: about 79 pixels
    assert set(np.unique(back)) == {0, 1, 2}


def test_one_roi_file_is_read_and_written(tmp_path):
    labels = np.zeros((10, 10), np.uint16)
    labels[2:5, 3:8] = 1
    path = write_rois(tmp_path / "one.roi", labels)
    np.testing.assert_array_equal(read_rois(path, labels.shape), labels)
    with pytest.raises(UserError, match="one outline"):
        write_rois(tmp_path / "two.roi", _hand_built())


def test_a_damaged_roi_set_or_roi_file_is_refused_by_name(tmp_path):
    good = write_rois(tmp_path / "good.zip", _hand_built())
    broken = tmp_path / "broken.zip"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    sha = _sha(broken)
    with pytest.raises(UserError, match="broken.zip") as refused:
        read_rois(broken, (60, 80))
    assert refused.value.file == str(broken) and "ROI Manager" in refused.value.fix
    assert _sha(broken) == sha
    not_roi = tmp_path / "cell.roi"
    not_roi.write_bytes(b"Iout" + b"\x00" * 10)
    with pytest.raises(UserError, match="cell.roi"):
        read_rois(not_roi, (10, 10))
    inside = tmp_path / "inside.zip"
    with zipfile.ZipFile(inside, "w") as zf:
        zf.writestr("cell.roi", b"this is no ROI at all, just some text that is long enough to be read")
    with pytest.raises(UserError, match="inside.zip"):
        read_rois(inside, (10, 10))
    with pytest.raises(UserError, match="missing.zip"):
        read_rois(tmp_path / "missing.zip", (10, 10))
