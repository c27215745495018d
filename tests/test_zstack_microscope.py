"""Z-stacks from CZI, ND2 and LIF (data/microscope_stacks.py).

No CZI, ND2 or LIF file can be written offline, so the readers' own calls are not run here; what is tested
is the turning of the arrays they return, with the axis letters they use, into (Z, Y, X, C), and that a
damaged file is refused naming it."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from petrilab.data.microscope_stacks import to_zyxc
from petrilab.data.stacks import read_stack
from petrilab.errors import UserError

PATH = Path("sample.czi")


def test_czi_axes_with_scenes_and_colour_samples():
    array = np.random.default_rng(0).integers(0, 99, (2, 1, 3, 5, 8, 9, 1)).astype(np.uint16)  # P T C Z Y X 0
    out = to_zyxc(array, "PTCZYX0", PATH)
    assert out.shape == (5, 8, 9, 3)
    np.testing.assert_array_equal(out[:, :, :, 2], array[0, 0, 2, :, :, :, 0])


def test_nd2_axes_zcyx():
    array = np.arange(4 * 2 * 6 * 7).reshape(4, 2, 6, 7)
    out = to_zyxc(array, "ZCYX", PATH)
    assert out.shape == (4, 6, 7, 2) and out[3, 5, 6, 1] == array[3, 1, 5, 6]


def test_time_series_and_single_plane_refused_naming_the_file():
    with pytest.raises(UserError, match="'sample.czi' is a time series"):
        to_zyxc(np.zeros((3, 4, 8, 8)), "TZYX", PATH)
    with pytest.raises(UserError, match="'sample.czi' is a single 2-D image"):
        to_zyxc(np.zeros((1, 8, 8)), "ZYX", PATH)


@pytest.mark.parametrize("suffix", [".czi", ".nd2", ".lif"])
def test_damaged_microscope_file_refused_and_unchanged(tmp_path, suffix):
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(b"not a microscope file" * 20)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(UserError) as refused:
        read_stack(path)
    assert f"'broken{suffix}'" in refused.value.message and refused.value.fix
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
