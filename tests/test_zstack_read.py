"""Reading z-stacks (data/stacks.py): TIFF, OME-TIFF and ImageJ hyperstacks, with their voxel sizes."""

import hashlib

import numpy as np
import pytest
import tifffile

from petrilab.data import images
from petrilab.data.stacks import anisotropy_words, folder_dimensions, read_stack, stack_planes
from petrilab.errors import UserError
from petrilab.tasks import TASKS, accepts_stacks


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def volume(shape, dtype=np.uint8, seed=0):
    return np.random.default_rng(seed).integers(0, 200, shape).astype(dtype)


def test_imagej_zyx_with_voxel_size(tmp_path):
    data = volume((6, 20, 30))
    path = tmp_path / "nuclei.tif"
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.25, 1 / 0.25),
                     metadata={"spacing": 1.0, "unit": "micron", "axes": "ZYX"})
    stack = read_stack(path)
    assert stack.pixels.shape == (6, 20, 30, 1)
    np.testing.assert_array_equal(stack.pixels[..., 0], data)
    assert stack.voxel == pytest.approx((1.0, 0.25, 0.25))
    assert "planes are 4× farther apart than pixels" in anisotropy_words(stack.voxel)


def test_ome_zcyx_channels_last_and_nanometres(tmp_path):
    data = volume((5, 2, 16, 24), np.uint16)
    path = tmp_path / "cells.ome.tif"
    tifffile.imwrite(path, data, metadata={"axes": "ZCYX", "PhysicalSizeX": 200, "PhysicalSizeXUnit": "nm",
                                           "PhysicalSizeY": 200, "PhysicalSizeYUnit": "nm", "PhysicalSizeZ": 0.5})
    stack = read_stack(path)
    assert stack.pixels.shape == (5, 16, 24, 2) and stack.pixels.dtype == np.uint16
    np.testing.assert_array_equal(stack.pixels[:, :, :, 1], data[:, 1])
    assert stack.voxel == pytest.approx((0.5, 0.2, 0.2))
    assert "2.5× farther apart" in anisotropy_words(stack.voxel)


def test_imagej_hyperstack_single_time_point_and_time_series_refused(tmp_path):
    one = tmp_path / "one.tif"
    tifffile.imwrite(one, volume((1, 4, 3, 12, 14)), imagej=True, metadata={"axes": "TZCYX"})
    assert read_stack(one).pixels.shape == (4, 12, 14, 3)
    series = tmp_path / "movie.tif"
    tifffile.imwrite(series, volume((3, 4, 1, 12, 14)), imagej=True, metadata={"axes": "TZCYX"})
    before = sha(series)
    with pytest.raises(UserError) as refused:
        read_stack(series)
    assert "'movie.tif'" in refused.value.message and "time series (3 time points)" in refused.value.message
    assert refused.value.fix and sha(series) == before


def test_plain_tiff_pages_are_planes_without_voxel_size(tmp_path):
    path = tmp_path / "pages.tif"
    tifffile.imwrite(path, volume((9, 10, 11)))
    stack = read_stack(path)
    assert stack.pixels.shape == (9, 10, 11, 1) and stack.voxel is None
    assert stack_planes(path) == 9
    assert "do not say" in anisotropy_words(None)


def test_a_2d_image_is_not_a_stack_and_the_2d_reader_still_refuses_stacks(tmp_path):
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(flat, volume((10, 11)))
    with pytest.raises(UserError, match="'flat.tif' is a single 2-D image"):
        read_stack(flat)
    assert stack_planes(flat) == 1
    deep = tmp_path / "deep.tif"
    tifffile.imwrite(deep, volume((6, 10, 11)), imagej=True, metadata={"axes": "ZYX"})
    with pytest.raises(UserError, match="'deep.tif' is a z-stack"):
        images.read_image(deep)


def test_damaged_stack_named_not_a_traceback(tmp_path):
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, volume((6, 32, 32)))
    path.write_bytes(path.read_bytes()[:200])
    before = sha(path)
    with pytest.raises(UserError) as refused:
        read_stack(path)
    assert "'cut.tif'" in refused.value.message and refused.value.fix
    assert sha(path) == before


def test_folder_mixing_2d_and_stacks_is_refused_naming_files(tmp_path):
    tifffile.imwrite(tmp_path / "a_stack.tif", volume((4, 8, 8)), imagej=True, metadata={"axes": "ZYX"})
    tifffile.imwrite(tmp_path / "b_flat.tif", volume((8, 8)))
    paths = sorted(tmp_path.iterdir())
    before = [sha(p) for p in paths]
    with pytest.raises(UserError) as refused:
        folder_dimensions(paths)
    assert "'a_stack.tif'" in refused.value.message and "'b_flat.tif'" in refused.value.message
    assert [sha(p) for p in paths] == before
    assert folder_dimensions(paths[:1]) == "3d" and folder_dimensions(paths[1:]) == "2d"


def test_a_stray_stack_among_2d_images_is_left_to_the_2d_check(tmp_path):
    """As before stacks were read: the 2-D check refuses the stack alone, by name, and trains on the rest."""
    tifffile.imwrite(tmp_path / "stray.tif", volume((4, 8, 8)), imagej=True, metadata={"axes": "ZYX"})
    for i in range(3):
        tifffile.imwrite(tmp_path / f"flat{i}.tif", volume((8, 8)))
    assert folder_dimensions(sorted(tmp_path.iterdir())) == "2d"


def test_only_mask_tasks_accept_stacks():
    for key, task in TASKS.items():
        assert accepts_stacks(key) == task.stacks == task.has_masks  # restoration answers per pixel, in 2-D only
    assert not accepts_stacks("") and any(t.stacks for t in TASKS.values())
