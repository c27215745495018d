"""Microscope formats (CZI, ND2, LIF) through the optional `formats` extra.

For every format: the plain message when a reader is missing, the plain message for a damaged
file with the reader installed, and the axis handling every reader's array goes through (planes,
channels, stacks refused). CZI on real files: pylibCZIrw (Zeiss' own libCZI) writes them here,
with channels, colour, z-planes and a pixel size. LIF: no package writes it, so the test writes
Leica's container layout itself (header XML + memory block) and reads it through readlif. ND2: no
writer and no sample file on the registry (the nd2 package's tests download theirs), so the ND2
reader is tested only for its refusals and its axes."""

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


# ---------------------------------------------------------------- real CZI files, written by Zeiss' own libCZI

def _write_czi(path, planes, scale_x=0.0, scale_y=0.0):
    """A real CZI (pylibCZIrw, Zeiss' libCZI): `planes` maps {"C": c, "Z": z, ...} tuples to (H, W, 1|3) arrays."""
    czi = pytest.importorskip("pylibCZIrw.czi", reason="pylibCZIrw (Zeiss' libCZI for Python) writes the CZI "
                                                       "files; pip install pylibCZIrw")
    with czi.create_czi(str(path)) as writer:
        for plane, data in planes:
            writer.write(data, plane=dict(plane))
        writer.write_metadata(document_name=path.stem, scale_x=scale_x, scale_y=scale_y)
    return path


def test_a_real_czi_gives_its_channels_bit_depth_and_pixel_size(tmp_path):
    pytest.importorskip("czifile")
    from petrilab.export.tiff import PixelSize, read_pixel_size

    dapi = (np.arange(40 * 50, dtype=np.uint16).reshape(40, 50) * 13) % 4096
    gfp = np.flipud(dapi)[:, ::-1].copy()
    # CZI keeps the scale in metres per pixel: 0.25 µm across, 0.5 µm down
    path = _write_czi(tmp_path / "cells.czi", [({"C": 0}, dapi[..., None]), ({"C": 1}, gfp[..., None])],
                      scale_x=0.25e-6, scale_y=0.5e-6)
    image = read_image(path)
    assert image.shape == (40, 50, 2) and image.dtype == np.uint16
    np.testing.assert_array_equal(image[..., 0], dapi)
    np.testing.assert_array_equal(image[..., 1], gfp)
    size = read_pixel_size(path)
    assert size == PixelSize(y=pytest.approx(0.5), x=pytest.approx(0.25))

    # no scale recorded: no calibration, and nothing fails
    plain = _write_czi(tmp_path / "plain.czi", [({"C": 0}, dapi[..., None])])
    assert read_image(plain).shape == (40, 50, 1) and read_pixel_size(plain) is None


def test_a_real_rgb_czi_comes_back_in_rgb_order(tmp_path):
    pytest.importorskip("czifile")
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 10  # a brown stain: much red, little blue
    path = _write_czi(tmp_path / "he.czi", [({}, rgb[..., ::-1].copy())])  # CZI stores colour pixels as B, G, R
    image = read_image(path)
    assert image.shape == (20, 30, 3) and tuple(image[5, 5]) == (200, 100, 10)


def test_a_real_czi_z_stack_is_refused_in_plain_words(tmp_path):
    pytest.importorskip("czifile")
    planes = [({"Z": z}, np.full((16, 16, 1), z, np.uint8)) for z in range(3)]
    path = _write_czi(tmp_path / "stack.czi", planes)
    with pytest.raises(UserError, match="z-stack \\(3 planes\\)") as caught:
        read_image(path)
    assert "Z Project" in caught.value.fix and caught.value.file == str(path)


def test_a_real_czi_with_several_scenes_gives_its_first(tmp_path):
    pytest.importorskip("czifile")
    czi = pytest.importorskip("pylibCZIrw.czi")
    path = tmp_path / "slide.czi"
    with czi.create_czi(str(path)) as writer:  # two regions of a slide scan, side by side on the slide
        writer.write(np.full((8, 8, 1), 1, np.uint8), scene=0)
        writer.write(np.full((8, 8, 1), 2, np.uint8), scene=1, location=(100, 0))
        writer.write_metadata()
    image = read_image(path)
    assert image.shape == (8, 8, 1) and image.min() == image.max() == 1


def test_a_folder_of_real_czi_files_is_read_by_the_dataset_check(tmp_path):
    pytest.importorskip("czifile")
    from petrilab.data.check import check_dataset
    from petrilab.data.discovery import discover

    rng = np.random.default_rng(0)
    for name in ("round", "elongated"):
        for i in range(3):
            _write_czi(tmp_path / "data" / name / f"{name}_{i}.czi",
                       [({"C": 0}, rng.integers(0, 4096, (24, 24, 1)).astype(np.uint16))], 0.3e-6, 0.3e-6)
    dataset = discover("classification", tmp_path / "data")
    report = check_dataset(dataset)
    assert report.n_images == 6 and report.counts == {"elongated": 3, "round": 3} and not report.unreadable
    facts = report.to_dict()
    assert facts["dtypes"] == {"uint16": 6} and {str(k): v for k, v in facts["channels"].items()} == {"1": 6}


# ---------------------------------------------------------------- LIF files made here

def _write_lif(path, planes: np.ndarray, pixel_size_um: float = 0.0):
    """A LIF file as Leica's container lays it out (the layout Bio-Formats and readlif read): an XML header
    block, then one memory block with the image's planes. `planes`: (Z, C, H, W) uint8 or uint16.

    Made by this test, not by a Leica microscope: it checks PetriLab's glue around readlif (channels,
    bit depth, z-stacks, pixel size), not readlif's handling of every LAS X variant."""
    import struct

    n_z, n_c, height, width = planes.shape
    size = planes.dtype.itemsize

    def dimension(dim_id, n, bytes_inc, step_um=0.0):
        length = (n - 1) * step_um * 1e-6 if step_um else 0
        return (f'<DimensionDescription DimID="{dim_id}" NumberOfElements="{n}" Origin="0" Length="{length}" '
                f'Unit="m" BitInc="0" BytesInc="{bytes_inc}"/>')

    channels = "".join(f'<ChannelDescription DataType="0" ChannelTag="0" Resolution="{8 * size}" '
                       f'NameOfMeasuredQuantity="" Min="0" Max="{2 ** (8 * size) - 1}" Unit="" LUTName="Gray" '
                       f'IsLUTInverted="0" BytesInc="{c * height * width * size}" BitInc="0"/>' for c in range(n_c))
    dims = dimension(1, width, size, pixel_size_um) + dimension(2, height, width * size, pixel_size_um)
    if n_z > 1:
        dims += dimension(3, n_z, n_c * height * width * size, 1.0)
    data = planes.astype(planes.dtype.newbyteorder("<")).tobytes()
    xml = (f'<LMSDataContainerHeader Version="2"><Element Name="{path.stem}" Visibility="1">'
           f'<Data><Experiment/></Data><Memory Size="0" MemoryBlockID="MemBlock_0"/><Children>'
           f'<Element Name="cells 1" Visibility="1"><Data><Image><ImageDescription><Channels>{channels}</Channels>'
           f'<Dimensions>{dims}</Dimensions></ImageDescription></Image></Data>'
           f'<Memory Size="{len(data)}" MemoryBlockID="MemBlock_1"/><Children/></Element>'
           f'</Children></Element></LMSDataContainerHeader>')
    header = xml.encode("utf-16-le")
    name = "MemBlock_1".encode("utf-16-le")
    with open(path, "wb") as f:
        f.write(struct.pack("<ii", 0x70, 1 + 4 + len(header)) + b"\x2a" + struct.pack("<i", len(xml)) + header)
        f.write(struct.pack("<ii", 0x70, 0) + b"\x2a" + struct.pack("<i", len(data)) + b"\x2a"
                + struct.pack("<i", len(name) // 2) + name + data)
    return path


def test_a_lif_gives_its_channels_bit_depth_and_pixel_size(tmp_path):
    pytest.importorskip("readlif")
    from petrilab.export.tiff import read_pixel_size

    planes = (np.arange(2 * 30 * 40, dtype=np.uint16).reshape(1, 2, 30, 40) * 11) % 4096
    path = _write_lif(tmp_path / "cells.lif", planes, pixel_size_um=0.2)
    image = read_image(path)
    assert image.shape == (30, 40, 2) and image.dtype == np.uint16
    np.testing.assert_array_equal(image[..., 0], planes[0, 0])
    np.testing.assert_array_equal(image[..., 1], planes[0, 1])
    size = read_pixel_size(path)
    assert size.x == pytest.approx(0.2) and size.y == pytest.approx(0.2)

    grey = _write_lif(tmp_path / "grey.lif", np.full((1, 1, 8, 8), 7, np.uint8))
    assert read_image(grey).shape == (8, 8, 1) and read_image(grey).dtype == np.uint8
    assert read_pixel_size(grey) is None  # no length recorded: no calibration


def test_a_lif_z_stack_is_refused_in_plain_words(tmp_path):
    pytest.importorskip("readlif")
    path = _write_lif(tmp_path / "stack.lif", np.zeros((4, 1, 8, 8), np.uint8))
    with pytest.raises(UserError, match="z-stack \\(4 planes\\)"):
        read_image(path)
