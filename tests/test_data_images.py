"""Reading images of every format we promise, refusing what we cannot read, and preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from petrilab.data.images import image_info, is_image_file, read_image
from petrilab.data.preprocess import Preprocessing, convert_channels
from petrilab.errors import UserError
from petrilab.settings import DataSettings

RNG = np.random.default_rng(0)
H, W = 24, 32  # not square, so a swapped height and width shows


def ramp(dtype, channels=None):
    """A deterministic test pattern in the full range of `dtype`."""
    shape = (H, W) if channels is None else (H, W, channels)
    values = RNG.random(shape)
    if np.issubdtype(dtype, np.integer):
        return (values * np.iinfo(dtype).max).astype(dtype)
    return (values * 1000 - 100).astype(dtype)


def save_png(path, array):
    Image.fromarray(array).save(path)
    return path


def assert_info_matches(path, array):
    info = image_info(path)
    assert (info.height, info.width, info.channels) == array.shape
    assert info.dtype == array.dtype.name


# ---------------------------------------------------------------- TIFF


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_grey_tiff_of_each_bit_depth_reads_exact_values(tmp_path, dtype):
    data = ramp(dtype)
    path = tmp_path / f"grey_{np.dtype(dtype).name}.tif"
    tifffile.imwrite(path, data)
    image = read_image(path)
    assert image.shape == (H, W, 1)
    assert image.dtype == dtype
    np.testing.assert_array_equal(image[:, :, 0], data)
    assert_info_matches(path, image)


def test_two_channel_imagej_tiff_keeps_channels_in_order(tmp_path):
    data = np.stack([ramp(np.uint16), ramp(np.uint16)])  # (C, H, W) as Fiji saves it
    path = tmp_path / "two channels.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "CYX"})
    image = read_image(path)
    assert image.shape == (H, W, 2)
    np.testing.assert_array_equal(image[:, :, 0], data[0])
    np.testing.assert_array_equal(image[:, :, 1], data[1])
    assert_info_matches(path, image)


def test_four_channel_tiff(tmp_path):
    data = ramp(np.uint16, channels=4)
    path = tmp_path / "four.tiff"
    tifffile.imwrite(path, data, photometric="minisblack", planarconfig="contig")
    image = read_image(path)
    assert image.shape == (H, W, 4)
    np.testing.assert_array_equal(image, data)
    assert_info_matches(path, image)


def test_channel_first_tiff_becomes_channel_last(tmp_path):
    data = np.stack([ramp(np.uint8) for _ in range(3)])  # (3, H, W), no metadata about axes
    path = tmp_path / "chw.tif"
    tifffile.imwrite(path, data, photometric="minisblack")
    image = read_image(path)
    assert image.shape == (H, W, 3)
    np.testing.assert_array_equal(image, np.moveaxis(data, 0, -1))
    assert_info_matches(path, image)


def test_ome_tiff_with_channels(tmp_path):
    data = np.stack([ramp(np.uint16) for _ in range(3)])
    path = tmp_path / "cells.ome.tif"
    tifffile.imwrite(path, data, metadata={"axes": "CYX"})
    image = read_image(path)
    assert image.shape == (H, W, 3)
    np.testing.assert_array_equal(image[:, :, 2], data[2])
    assert_info_matches(path, image)


def test_rgb_tiff(tmp_path):
    data = ramp(np.uint8, channels=3)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, data, photometric="rgb")
    image = read_image(path)
    np.testing.assert_array_equal(image, data)
    assert_info_matches(path, image)


@pytest.mark.parametrize("axes, words", [("ZYX", "z-stack"), ("TYX", "time series")])
def test_z_stack_and_time_series_are_refused_by_name(tmp_path, axes, words):
    path = tmp_path / f"stack {axes}.tif"
    tifffile.imwrite(path, np.zeros((3, H, W), np.uint16), imagej=True, metadata={"axes": axes})
    for reader in (read_image, image_info):
        with pytest.raises(UserError) as caught:
            reader(path)
        assert words in caught.value.message
        assert path.name in caught.value.message
        assert caught.value.file == str(path)
        assert caught.value.fix


def test_ome_z_stack_is_refused(tmp_path):
    path = tmp_path / "nuclei.ome.tif"
    tifffile.imwrite(path, np.zeros((5, H, W), np.uint16), metadata={"axes": "ZYX"})
    with pytest.raises(UserError, match="z-stack.*5 planes"):
        read_image(path)


def test_long_stack_without_axis_names_is_refused(tmp_path):
    path = tmp_path / "pages.tif"
    tifffile.imwrite(path, np.zeros((12, H, W), np.uint8), photometric="minisblack")
    with pytest.raises(UserError, match="pages.tif.*12 planes"):
        read_image(path)


def test_too_many_channels_is_refused(tmp_path):
    path = tmp_path / "five.ome.tif"
    tifffile.imwrite(path, np.zeros((5, H, W), np.uint16), metadata={"axes": "CYX"})
    with pytest.raises(UserError, match="five.ome.tif' has 5 channels"):
        image_info(path)


def test_truncated_tiff_is_named_by_reader_and_header_check(tmp_path):
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, ramp(np.uint8, channels=3), photometric="rgb")
    cut = tmp_path / "cut short.tif"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for reader in (read_image, image_info):
        with pytest.raises(UserError) as caught:
            reader(cut)
        assert "'cut short.tif' cannot be read" in caught.value.message
        assert caught.value.file == str(cut)
        assert "Fiji" in caught.value.fix


def test_compressed_truncated_tiff(tmp_path):
    good = tmp_path / "zip.tif"
    tifffile.imwrite(good, RNG.integers(0, 255, (128, 128), dtype=np.uint8), compression="zlib")
    cut = tmp_path / "zip-cut.tif"
    cut.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(UserError, match="zip-cut.tif"):
        read_image(cut)


# ---------------------------------------------------------------- PNG, JPEG, BMP


def test_png_grey_rgb_rgba_and_16_bit(tmp_path):
    grey = save_png(tmp_path / "grey.png", ramp(np.uint8))
    rgb = save_png(tmp_path / "rgb.png", ramp(np.uint8, channels=3))
    rgba = save_png(tmp_path / "rgba.png", ramp(np.uint8, channels=4))
    deep = save_png(tmp_path / "deep.png", ramp(np.uint16))
    assert read_image(grey).shape == (H, W, 1)
    np.testing.assert_array_equal(read_image(rgb), np.asarray(Image.open(rgb)))
    assert read_image(rgba).shape == (H, W, 4)
    assert image_info(rgba).alpha is True
    assert image_info(rgb).alpha is False
    assert read_image(deep).dtype == np.uint16
    np.testing.assert_array_equal(read_image(deep)[:, :, 0], np.asarray(Image.open(deep)))
    for path in (grey, rgb, rgba, deep):
        assert_info_matches(path, read_image(path))


def test_jpeg_and_bmp(tmp_path):
    jpg = tmp_path / "photo.JPG"
    Image.fromarray(np.full((H, W, 3), 120, np.uint8)).save(jpg, format="JPEG", quality=95)
    bmp = tmp_path / "scan.bmp"
    data = ramp(np.uint8)
    Image.fromarray(data).save(bmp)
    image = read_image(jpg)
    assert image.shape == (H, W, 3) and image.dtype == np.uint8
    assert abs(float(image.mean()) - 120) < 2  # lossy, but close
    np.testing.assert_array_equal(read_image(bmp)[:, :, 0], data)
    assert_info_matches(jpg, image)
    assert_info_matches(bmp, read_image(bmp))


def test_names_with_spaces_and_accents(tmp_path):
    folder = tmp_path / "données brutes"
    folder.mkdir()
    data = ramp(np.uint16)
    path = folder / "cellule été n°1 µm.tif"
    tifffile.imwrite(path, data)
    np.testing.assert_array_equal(read_image(path)[:, :, 0], data)
    png = save_png(folder / "细胞 2.png", ramp(np.uint8))
    assert read_image(png).shape == (H, W, 1)


def test_png_saved_with_a_tif_name_is_still_read(tmp_path):
    path = tmp_path / "actually a png.tif"
    Image.fromarray(ramp(np.uint8)).save(path, format="PNG")
    assert read_image(path).shape == (H, W, 1)
    assert image_info(path).height == H


@pytest.mark.parametrize("name, content", [
    ("notes.png", b"this is a text file with an image name"),
    ("empty.tif", b""),
    ("garbage.jpg", bytes(range(256)) * 4),
])
def test_not_an_image_is_refused_by_name(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    for reader in (read_image, image_info):
        with pytest.raises(UserError) as caught:
            reader(path)
        assert name in caught.value.message
        assert caught.value.fix


def test_truncated_png_is_found_from_the_header_check(tmp_path):
    good = save_png(tmp_path / "whole.png", ramp(np.uint8, channels=3))
    cut = tmp_path / "half.png"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(UserError, match="'half.png' cannot be read"):
        image_info(cut)
    with pytest.raises(UserError, match="'half.png' cannot be read"):
        read_image(cut)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="'gone.tif' does not exist"):
        read_image(tmp_path / "gone.tif")


def test_is_image_file():
    assert is_image_file("a/b/cell.TIF")
    assert is_image_file("cell.jpeg")
    assert not is_image_file("notes.txt")
    assert not is_image_file("labels.csv")
    assert not is_image_file("._cell.tif")  # macOS resource-fork copy


# ---------------------------------------------------------------- preprocessing


def prep(size=(H, W), channels=1, normalisation="scale", low=1.0, high=99.0):
    return Preprocessing(image_size=size, channels=channels, normalisation=normalisation,
                         percentile_low=low, percentile_high=high)


def test_scale_divides_by_the_bit_depth():
    eight = np.array([[0, 51], [255, 255]], np.uint8)[:, :, None]
    sixteen = np.array([[0, 6553], [65535, 65535]], np.uint16)[:, :, None]
    out8 = prep(size=(2, 2))(eight)
    out16 = prep(size=(2, 2))(sixteen)
    assert out8.dtype == np.float32 and out8.shape == (2, 2, 1)
    np.testing.assert_allclose(out8[:, :, 0], [[0, 0.2], [1, 1]], atol=1e-6)
    np.testing.assert_allclose(out16[:, :, 0], [[0, 0.1], [1, 1]], atol=1e-4)


def test_scale_stretches_float_images_to_0_1():
    image = np.array([[-5.0, 0.0], [5.0, 15.0]], np.float32)[:, :, None]
    np.testing.assert_allclose(prep(size=(2, 2))(image)[:, :, 0], [[0, 0.25], [0.5, 1]], atol=1e-6)


def test_mean_std():
    out = prep(normalisation="mean_std")(ramp(np.uint16, channels=1))
    assert abs(float(out.mean())) < 1e-4
    assert abs(float(out.std()) - 1) < 1e-3


def test_percentile_maps_low_and_high_to_0_and_1_without_clipping():
    image = np.arange(1000, dtype=np.uint16).reshape(20, 50, 1)
    out = prep(size=(20, 50), normalisation="percentile", low=10, high=90)(image)
    assert abs(np.percentile(out, 10)) < 1e-5
    assert abs(np.percentile(out, 90) - 1) < 1e-5
    assert out.min() < 0 and out.max() > 1  # the tails are kept, not cut


def test_channel_conversions():
    grey = np.full((4, 4, 1), 100, np.uint8)
    as_rgb = prep(size=(4, 4), channels=3)(grey)
    assert as_rgb.shape == (4, 4, 3)
    np.testing.assert_allclose(as_rgb, 100 / 255, atol=1e-6)

    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    np.testing.assert_allclose(prep(size=(4, 4), channels=1)(red), 0.2125, atol=1e-4)

    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 1] = 255
    rgba[..., 3] = 255
    out = prep(size=(4, 4), channels=3)(rgba)
    np.testing.assert_allclose(out[0, 0], [0, 1, 0], atol=1e-6)

    two = np.stack([np.ones((4, 4)), np.full((4, 4), 3.0)], axis=-1).astype(np.float32)
    assert convert_channels(two, 2) is two
    np.testing.assert_allclose(convert_channels(two, 3)[0, 0], [1, 3, 0])
    np.testing.assert_allclose(convert_channels(two, 1)[0, 0], [2])


def test_resize_and_anti_aliasing():
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)[:, :, None]
    small = prep(size=(16, 16))(checker)
    assert small.shape == (16, 16, 1)
    # a fine checkerboard shrunk with smoothing becomes even grey, not a new pattern
    assert abs(float(small.mean()) - 0.5) < 0.05 and float(small.std()) < 0.05
    large = prep(size=(48, 40))(ramp(np.uint8))
    assert large.shape == (48, 40, 1)


def test_from_settings():
    settings = DataSettings(image_size=[40, 56], normalisation="percentile", percentile_low=2, percentile_high=98)
    p = Preprocessing.from_settings(settings, channels=3)
    assert p.image_size == (40, 56) and p.channels == 3 and p.output_shape == (40, 56, 3)
    assert (p.normalisation, p.percentile_low, p.percentile_high) == ("percentile", 2.0, 98.0)
    assert p(ramp(np.uint8)).shape == (40, 56, 3)
