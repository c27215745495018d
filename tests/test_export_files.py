"""Files for analysis: CSV tables Excel and LibreOffice open cleanly, label TIFFs with the input's scale."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
import tifffile

from petrilab import runs
from petrilab.export.tiff import PixelSize, read_pixel_size, write_labels


def test_tables_use_points_and_utf8_and_a_bom_only_for_excel(tmp_path):
    rows = [["cellule µ-01.tif", 0.25, 1e-7], ["noyau_é.tif", 12.5, 3]]
    plain = runs.atomic_write_csv(tmp_path / "a.csv", ["file", "area_µm2", "p"], rows)
    data = plain.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and "µ".encode() in data and b"0.25" in data and b"0,25" not in data
    assert b"\r\n" not in data
    excel = runs.atomic_write_csv(tmp_path / "b.csv", ["file", "area_µm2", "p"], rows, excel=True)
    assert excel.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in excel.read_bytes()
    with open(excel, newline="", encoding="utf-8-sig") as f:
        back = list(csv.reader(f))
    assert back[0] == ["file", "area_µm2", "p"] and back[1] == ["cellule µ-01.tif", "0.25", "1e-07"]


def test_options_are_parsed_as_options_and_never_set_the_environment():
    from petrilab.cli import build_parser

    before = dict(os.environ)
    args = build_parser().parse_args(["predict", "RUN", "IN", "OUT", "--excel", "--probabilities"])
    assert args.excel and args.probabilities
    args = build_parser().parse_args(["predict", "RUN", "IN", "OUT"])
    assert not args.excel and not args.probabilities
    assert build_parser().parse_args(["evaluate", "RUN", "--excel"]).excel
    assert dict(os.environ) == before  # nothing travels through the environment


@pytest.mark.parametrize("how", ["imagej", "ome", "resolution_cm"])
def test_pixel_size_is_read_from_the_input_and_written_to_the_labels(tmp_path, how):
    image = np.zeros((20, 30), np.uint16)
    src = tmp_path / f"in_{how}.tif"
    if how == "imagej":
        tifffile.imwrite(src, image, imagej=True, resolution=(1 / 0.25, 1 / 0.5), metadata={"unit": "micron"})
        expected = (0.5, 0.25)
    elif how == "ome":
        tifffile.imwrite(src, image, ome=True, metadata={"axes": "YX", "PhysicalSizeX": 0.13, "PhysicalSizeY": 0.13,
                                                         "PhysicalSizeXUnit": "µm", "PhysicalSizeYUnit": "µm"})
        expected = (0.13, 0.13)
    else:
        tifffile.imwrite(src, image, resolution=(10_000 / 2.0, 10_000 / 2.0), resolutionunit="CENTIMETER")
        expected = (2.0, 2.0)
    size = read_pixel_size(src)
    assert size is not None and (size.y, size.x) == pytest.approx(expected)

    labels = np.zeros((20, 30), np.int64)
    labels[2:6, 3:9], labels[10:15, 20:28] = 1, 300
    out = write_labels(tmp_path / "labels.tif", labels, size)
    with tifffile.TiffFile(out) as tif:  # what Fiji and napari read
        assert tif.is_imagej and tif.imagej_metadata["unit"] == "micron"
        back = tif.asarray()
        x_res = tif.pages[0].tags["XResolution"].value
    assert back.dtype == np.uint16 and np.array_equal(back, labels)
    assert x_res[1] / x_res[0] == pytest.approx(expected[1], rel=1e-5)
    assert read_pixel_size(out) == pytest.approx(size)  # round trip


def test_uncalibrated_inputs_give_labels_without_scale(tmp_path):
    src = tmp_path / "plain.tif"
    tifffile.imwrite(src, np.zeros((8, 8), np.uint8))
    assert read_pixel_size(src) is None and read_pixel_size(tmp_path / "x.png") is None
    out = write_labels(tmp_path / "l.tif", np.ones((8, 8), np.int32), None)
    assert tifffile.imread(out).dtype == np.uint8
    many = np.arange(70_000, dtype=np.int64).reshape(100, 700)  # more objects than 16 bits hold
    assert np.array_equal(tifffile.imread(write_labels(tmp_path / "m.tif", many)), many)
