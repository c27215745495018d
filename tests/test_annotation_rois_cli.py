"""`petrilab export-rois` and `petrilab import-rois`: a label image's objects out to ImageJ or QuPath outlines
and back, through the command line; bad input said plainly, inputs never changed."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from petrilab.cli import EXIT_USER_ERROR, main

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "instance"
MASK = DEMO / "masks" / "nuclei_001.tif"
IMAGE = DEMO / "images" / "nuclei_001.png"

pytest.importorskip("roifile")  # the `formats` extra


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["nuclei.zip", "nuclei.geojson"])
def test_objects_go_out_and_come_back_as_the_same_label_image(tmp_path, capsys, name):
    before = {p: _sha(p) for p in (MASK, IMAGE)}
    labels = tifffile.imread(MASK)
    n = len(np.unique(labels)) - 1
    out = tmp_path / name
    assert main(["export-rois", str(MASK), str(out)]) == 0
    assert f"{n} objects written to {out}" in capsys.readouterr().out
    if name.endswith(".zip"):
        with zipfile.ZipFile(out) as zf:
            assert len(zf.namelist()) >= n and all(e.endswith(".roi") for e in zf.namelist())
    sha = _sha(out)
    back = tmp_path / "back.tif"
    assert main(["import-rois", str(out), str(IMAGE), str(back)]) == 0
    assert f"{n} objects drawn into {back}" in capsys.readouterr().out
    np.testing.assert_array_equal(tifffile.imread(back), labels)
    assert _sha(out) == sha and {p: _sha(p) for p in before} == before

    assert main(["import-rois", str(out), str(IMAGE), str(back)]) == EXIT_USER_ERROR  # not replaced unasked
    assert "exists already" in capsys.readouterr().err
    assert main(["import-rois", str(out), str(IMAGE), str(back), "--overwrite"]) == 0


def test_bad_input_is_refused_in_plain_words(tmp_path, capsys):
    broken = tmp_path / "cells.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["import-rois", str(broken), str(IMAGE), str(tmp_path / "out.tif")]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "cells.zip" in err and "What to do" in err and "Traceback" not in err
    assert not (tmp_path / "out.tif").exists()

    assert main(["export-rois", str(MASK), str(tmp_path / "nuclei.csv")]) == EXIT_USER_ERROR
    assert "nuclei.csv" in capsys.readouterr().err

    photo = tmp_path / "photo.tif"
    tifffile.imwrite(photo, np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8))
    assert main(["export-rois", str(photo), str(tmp_path / "x.zip")]) == EXIT_USER_ERROR  # a colour image
    assert "not a label image" in capsys.readouterr().err

    copy = tmp_path / "mask.tif"
    copy.write_bytes(MASK.read_bytes())
    sha = _sha(copy)
    assert main(["import-rois", str(tmp_path / "missing.geojson"), str(IMAGE), str(copy), "--overwrite"]) \
        == EXIT_USER_ERROR
    assert main(["export-rois", str(copy), str(copy)]) == EXIT_USER_ERROR  # never over its input
    assert "never writes over its inputs" in capsys.readouterr().err and _sha(copy) == sha
