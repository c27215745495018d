"""`petrilab evaluate` and `predict` on a real tiny run: options passed as parameters (never the environment),
one CSV writer for every table."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.cli import main
from petrilab.demo import make_classification_demo

from helpers import small_settings

BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(run folder, data folder) of a one-epoch classification run."""
    root = tmp_path_factory.mktemp("records")
    data = make_classification_demo(root / "data", n_per_class=8, size=32, seed=3)
    path = settings_io.save(small_settings(data, training__epochs=1), root / "small.toml")
    assert main(["train", str(path), "--run-dir", str(root / "run"), "--quiet"]) == 0
    return root / "run", data


def test_excel_is_an_option_of_the_command_for_every_table(trained, tmp_path):
    run, data = trained
    before = dict(os.environ)
    images = sorted(p for p in data.iterdir() if p.is_dir())[0]
    assert main(["predict", str(run), str(images), str(tmp_path / "plain")]) == 0
    assert main(["predict", str(run), str(images), str(tmp_path / "excel"), "--excel"]) == 0
    assert dict(os.environ) == before  # the option did not travel through the environment
    assert not (tmp_path / "plain" / "predictions.csv").read_bytes().startswith(BOM)
    assert (tmp_path / "excel" / "predictions.csv").read_bytes().startswith(BOM)
    assert json.loads((tmp_path / "excel" / "prediction.json").read_text(encoding="utf-8"))["excel"] is True
    # a later command in the same process without the option writes plain tables again
    assert main(["predict", str(run), str(images), str(tmp_path / "again")]) == 0
    assert not (tmp_path / "again" / "predictions.csv").read_bytes().startswith(BOM)
    assert main(["evaluate", str(run), "--excel"]) == 0
    assert (run / "test_predictions.csv").read_bytes().startswith(BOM)
    assert main(["evaluate", str(run)]) == 0
    assert not (run / "test_predictions.csv").read_bytes().startswith(BOM)
    assert not (run / runs.EVALUATION).read_bytes().startswith(BOM)
