"""Microscope formats (CZI, ND2, LIF) through the optional `formats` extra.

No package here can write these formats, so what is tested: the plain message when a reader is
missing, the plain message for a damaged file with the reader installed, and the axis handling
every reader's array goes through (planes, channels, stacks refused)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from petrilab.data.images import IMAGE_SUFFIXES, is_image_file, read_image
from petrilab.data.microscope import READERS, to_hwc
from petrilab.errors import UserError


@pytest.mark.parametrize("suffix", [".czi", ".nd2", ".lif"])
def test_microscope_files_are_images_and_a_missing_reader_names_the_extra(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"cells{suffix}"
    path.write_bytes(b"not really a microscope file")
    assert suffix in IMAGE_SUFFIXES and is_image_file(path)
    module = READERS[suffix][0]
    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed: import fails
    with pytest.raises(UserError) as caught:
        read_image(path)
    assert "not installed" in caught.value.message and "petrilab[formats]" in caught.value.fix
    assert caught.value.file == str(path)


@pytest.mark.parametrize("suffix", [".czi", ".nd2", ".lif"])
def test_a_damaged_file_is_refused_in_plain_words(tmp_path, suffix):
    pytest.importorskip(READERS[suffix][0])
    path = tmp_path / f"cells{suffix}"
    path.write_bytes(b"\x00" * 64 + b"cut short")
    with pytest.raises(UserError) as caught:
        read_image(path)
    assert "cannot be read" in caught.value.message and READERS[suffix][1] in caught.value.message
    assert "Fiji" in caught.value.fix


def test_axes_give_height_width_channels_and_stacks_are_refused(tmp_path):
    # CZI's usual layout: B C Z Y X 0 (0: samples of an RGB pixel)
    array = np.arange(2 * 8 * 9, dtype=np.uint16).reshape(1, 2, 1, 8, 9, 1)
    out = to_hwc(array, "BCZYX0", tmp_path / "a.czi")
    assert out.shape == (8, 9, 2) and out[3, 4, 1] == array[0, 1, 0, 3, 4, 0] and out.dtype == np.uint16
    # ND2's layout: C Y X, channels first
    out = to_hwc(np.zeros((3, 5, 6), np.uint8), "CYX", tmp_path / "b.nd2")
    assert out.shape == (5, 6, 3)
    # several positions: the first
    out = to_hwc(np.stack([np.zeros((4, 4)), np.ones((4, 4))]), "PYX", tmp_path / "c.nd2")
    assert out.shape == (4, 4, 1) and out.max() == 0
    with pytest.raises(UserError, match="z-stack \\(5 planes\\)"):
        to_hwc(np.zeros((5, 4, 4)), "ZYX", tmp_path / "d.czi")
    with pytest.raises(UserError, match="time series"):
        to_hwc(np.zeros((3, 1, 4, 4)), "TCYX", tmp_path / "e.nd2")
