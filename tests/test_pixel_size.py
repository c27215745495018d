"""One reading of a file's calibration: the stack reader and the label TIFFs' scale agree on every file."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from petrilab.data.pixel_size import to_microns
from petrilab.data.stacks import read_stack
from petrilab.export.tiff import read_pixel_size


def test_units_become_micrometres_and_nonsense_becomes_nothing():
    assert to_microns(250, "nm") == pytest.approx(0.25)
    assert to_microns("0.5", "\\u00B5m") == pytest.approx(0.5)  # ImageJ's escaped µ
    assert to_microns(0.5, "\u03bcm") == pytest.approx(0.5)  # a Greek mu for the micro sign
    assert to_microns(0.001, "mm") == pytest.approx(1.0)
    for value, unit in [(1, "pixel"), (1, None), (0, "micron"), (-2, "micron"), ("abc", "micron"), (float("nan"), "um")]:
        assert to_microns(value, unit) is None


def _stack(tmp_path, name, **kwargs):
    path = tmp_path / name
    tifffile.imwrite(path, np.zeros((3, 16, 20), np.uint8), **kwargs)
    return path


def test_an_imagej_stack_reads_the_same_plane_size_both_ways(tmp_path):
    path = _stack(tmp_path, "imagej.tif", imagej=True, resolution=(1 / 0.2, 1 / 0.4),
                  metadata={"spacing": 1.5, "unit": "micron", "axes": "ZYX"})
    voxel = read_stack(path).voxel
    size = read_pixel_size(path)
    assert voxel == pytest.approx((1.5, 0.4, 0.2))
    assert (size.y, size.x) == pytest.approx(voxel[1:])


def test_an_ome_stack_in_nanometres_reads_the_same_plane_size_both_ways(tmp_path):
    path = _stack(tmp_path, "ome.ome.tif", ome=True,
                  metadata={"axes": "ZYX", "PhysicalSizeX": 130, "PhysicalSizeY": 130, "PhysicalSizeZ": 500,
                            "PhysicalSizeXUnit": "nm", "PhysicalSizeYUnit": "nm", "PhysicalSizeZUnit": "nm"})
    voxel = read_stack(path).voxel
    size = read_pixel_size(path)
    assert voxel == pytest.approx((0.5, 0.13, 0.13))
    assert (size.y, size.x) == pytest.approx(voxel[1:])


def test_ome_without_units_is_in_micrometres(tmp_path):
    # OME's schema: PhysicalSize without a unit is a micrometre
    path = _stack(tmp_path, "plain_units.ome.tif", ome=True,
                  metadata={"axes": "ZYX", "PhysicalSizeX": 0.3, "PhysicalSizeY": 0.3, "PhysicalSizeZ": 2.0})
    assert read_stack(path).voxel == pytest.approx((2.0, 0.3, 0.3))
    assert read_pixel_size(path).x == pytest.approx(0.3)


def test_imagej_without_a_unit_is_not_calibrated_either_way(tmp_path):
    # ImageJ names no unit when it shows pixels: neither reader may invent micrometres
    path = _stack(tmp_path, "pixels.tif", imagej=True, resolution=(1 / 0.2, 1 / 0.2),
                  metadata={"spacing": 1.5, "axes": "ZYX"})
    assert read_stack(path).voxel is None
    assert read_pixel_size(path) is None
