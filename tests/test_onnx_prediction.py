"""Prediction with ONNX Runtime beside Keras (prediction/engine.py, prediction/onnx_engine.py): a finished
run of each family (tests/finished_runs.py); the same outputs within the tolerance whichever engine runs, the
same files from `petrilab predict`, and Keras, saying why, when ONNX Runtime cannot be used."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile
from PIL import Image

import finished_runs
from petrilab import runs
from petrilab.cli import main
from petrilab.errors import UserError
from petrilab.events import read_all
from petrilab.prediction.engine import TOLERANCE
from petrilab.prediction.trained_model import TrainedModel

pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed (pip install -e '.[fast]')")
pytest.importorskip("tf2onnx", reason="the ONNX converter is not installed (pip install -e '.[fast]')")
pytestmark = pytest.mark.slow


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def families(tmp_path_factory) -> dict[str, SimpleNamespace]:
    """One trained run per family (classification, regression, semantic segmentation), copies of
    tests/finished_runs.py's cached runs (nothing here needs its own training), and images to predict: for
    segmentation one wide image that takes several tiles."""
    root = tmp_path_factory.mktemp("onnx")
    found = {}

    cells = finished_runs.copy_of("classification", root / "cls-run")
    found["classification"] = SimpleNamespace(run=cells.run, images=sorted(p for p in cells.data.iterdir()
                                                                           if p.is_dir())[0])
    beads = finished_runs.copy_of("regression", root / "reg-run")
    found["regression"] = SimpleNamespace(run=beads.run, images=beads.data / "images")

    nuclei = finished_runs.copy_of("semantic", root / "seg-run")  # 64-pixel patches, two poolings
    wide = root / "wide"  # 96 × 1200: wider than the largest tile, so it is predicted in overlapping tiles
    wide.mkdir()
    pieces = [np.array(Image.open(p)) for p in sorted((nuclei.data / "images").iterdir())[:4]]
    picture = np.tile(np.concatenate(pieces, axis=1), (2, 5) + (1,) * (pieces[0].ndim - 2))[:96, :1200]
    Image.fromarray(picture).save(wide / "wide.png")
    Image.fromarray(pieces[0]).save(wide / "small.png")
    found["segmentation"] = SimpleNamespace(run=nuclei.run, images=wide)
    return found


def outputs(family: str, trained: TrainedModel, images: Path) -> np.ndarray:
    """The network's raw outputs for a family's images, as predict computes them."""
    paths = sorted(p for p in images.iterdir() if p.suffix == ".png")
    if family != "segmentation":
        return trained.predict_files(paths)[1]
    from petrilab.data.images import read_image

    return np.concatenate([trained.recipe.probabilities(trained, read_image(p)).ravel() for p in paths])


@pytest.mark.parametrize("family", ["classification", "regression", "segmentation"])
def test_onnx_runtime_gives_keras_outputs_within_the_tolerance(families, family):
    case = families[family]
    keras_out = outputs(family, TrainedModel(case.run, engine="keras"), case.images)
    onnx_model = TrainedModel(case.run, engine="onnx")
    onnx_out = outputs(family, onnx_model, case.images)
    assert onnx_model.network.decision["value"] == "onnx", onnx_model.network.decision
    assert onnx_out.shape == keras_out.shape and keras_out.size > 0
    np.testing.assert_allclose(onnx_out, keras_out, **TOLERANCE)
    assert (case.run / runs.ONNX_MODEL).is_file()
    if family == "segmentation":
        from petrilab.prediction.tiling import tile_plan
        from petrilab.tasks.segmentation.recipe import largest_tile

        tile = largest_tile(64, 4)
        assert len(tile_plan((96, 1200), (tile, tile), 64, 4)[3]) > 1  # the wide image took several tiles


def read_table(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def same_within_tolerance(a: str, b: str) -> bool:
    try:
        return bool(np.isclose(float(a), float(b), rtol=TOLERANCE["rtol"], atol=2 * TOLERANCE["atol"]))
    except ValueError:
        return a == b


@pytest.mark.parametrize("family", ["classification", "regression", "segmentation"])
def test_predict_writes_the_same_files_whichever_engine_runs(families, family, tmp_path):
    case = families[family]
    before, environment = hashes(case.images), dict(os.environ)
    for engine in ("keras", "onnx", "auto"):
        extra = ["--probabilities"] if family == "segmentation" else []
        assert main(["predict", str(case.run), str(case.images), str(tmp_path / engine), "--engine", engine,
                     *extra]) == 0
    assert hashes(case.images) == before  # the images are untouched
    assert dict(os.environ) == environment  # the converter's settings did not leak into the process
    keras_dir = tmp_path / "keras"
    for engine in ("onnx", "auto"):
        other = tmp_path / engine
        assert sorted(hashes(other)) == sorted(hashes(keras_dir))  # the same files
        for table in ("predictions.csv", "objects.csv"):
            if (keras_dir / table).exists():
                rows, again = read_table(keras_dir / table), read_table(other / table)
                assert [list(r) for r in rows] == [list(r) for r in again] and len(rows) == len(again) > 0
                for row, row_again in zip(rows, again):
                    assert all(same_within_tolerance(row[k], row_again[k]) for k in row), (row, row_again)
        for name in (keras_dir / "masks").glob("*.tif") if family == "segmentation" else ():
            assert np.array_equal(tifffile.imread(name), tifffile.imread(other / "masks" / name.name))
            probs = name.parent.parent / "probabilities" / name.name.replace("_mask", "_probabilities")
            np.testing.assert_allclose(tifffile.imread(other / "probabilities" / probs.name),
                                       tifffile.imread(probs), **TOLERANCE)
        record = json.loads((other / "prediction.json").read_text(encoding="utf-8"))["engine"]
        assert record["asked"] == engine and record["value"] in ("onnx", "keras") and record["message"]
        decided = [e for e in read_all(other / "prediction_events.jsonl") if e["event"] == "decided"]
        assert [e["value"] for e in decided] == [record["value"]] and decided[0]["key"] == "prediction.engine"
    assert json.loads((tmp_path / "onnx" / "prediction.json").read_text())["engine"]["value"] == "onnx"


def test_without_onnx_runtime_keras_predicts_and_says_why(families, tmp_path, monkeypatch, capsys):
    case = families["classification"]
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError, as uninstalled
    capsys.readouterr()
    assert main(["predict", str(case.run), str(case.images), str(tmp_path / "auto")]) == 0
    record = json.loads((tmp_path / "auto" / "prediction.json").read_text())["engine"]
    assert record["value"] == "keras" and "ONNX Runtime is not installed" in record["message"]
    assert "ONNX Runtime" not in capsys.readouterr().err  # the usual case: no note on the terminal
    assert main(["predict", str(case.run), str(case.images), str(tmp_path / "onnx"), "--engine", "onnx"]) != 0
    assert "ONNX Runtime is not installed" in capsys.readouterr().err
    assert not (tmp_path / "onnx" / "predictions.csv").exists()


def test_a_conversion_that_cannot_run_falls_back_to_keras(families, tmp_path, monkeypatch):
    case = families["regression"]
    (case.run / runs.ONNX_MODEL).unlink(missing_ok=True)  # nothing converted yet
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # the converter is missing
    trained = TrainedModel(case.run, engine="auto")
    got = outputs("regression", trained, case.images)
    assert trained.network.decision["value"] == "keras"
    assert "converter to ONNX (tf2onnx) is not installed" in trained.network.decision["message"]
    np.testing.assert_array_equal(got, outputs("regression", TrainedModel(case.run, engine="keras"), case.images))
    assert not (case.run / runs.ONNX_MODEL).exists()
    with pytest.raises(UserError, match="cannot run this prediction: the converter"):
        outputs("regression", TrainedModel(case.run, engine="onnx"), case.images)


def test_an_onnx_file_that_disagrees_with_keras_is_not_used(families):
    import onnx
    from onnx import numpy_helper

    case = families["classification"]
    TrainedModel(case.run, engine="onnx").raw_predict(np.zeros((1, 32, 32, 1), np.float32))  # converted
    proto = onnx.load(str(case.run / runs.ONNX_MODEL))
    weights = max(proto.graph.initializer, key=lambda t: np.prod(t.dims))
    weights.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weights) * 1.5, weights.name))
    onnx.save(proto, str(case.run / runs.ONNX_MODEL))  # still tagged with this model.keras's SHA-256
    trained = TrainedModel(case.run, engine="auto")
    got = outputs("classification", trained, case.images)
    assert trained.network.decision["value"] == "keras" and "differ" in trained.network.decision["message"]
    np.testing.assert_array_equal(got, outputs("classification", TrainedModel(case.run, engine="keras"),
                                               case.images))
    with pytest.raises(UserError, match="outputs differ from Keras"):
        outputs("classification", TrainedModel(case.run, engine="onnx"), case.images)
    (case.run / runs.ONNX_MODEL).unlink()  # the next tests convert afresh


def test_the_onnx_file_is_converted_once_and_again_when_the_model_changes(families):
    import keras

    case = families["classification"]
    (case.run / runs.ONNX_MODEL).write_bytes(b"not an ONNX file")  # damaged: converted again
    first = TrainedModel(case.run, engine="onnx")
    first.raw_predict(np.zeros((2, 32, 32, 1), np.float32))
    assert first.network.decision["details"]["onnx_file"] == "converted"
    second = TrainedModel(case.run, engine="onnx")
    second.raw_predict(np.zeros((2, 32, 32, 1), np.float32))
    assert second.network.decision["details"]["onnx_file"] == "reused"
    model = keras.saving.load_model(case.run / runs.BEST_MODEL, compile=False)
    model.layers[-1].set_weights([w * 0.5 for w in model.layers[-1].get_weights()])
    model.save(case.run / runs.BEST_MODEL)  # a later training replaced the model: its ONNX file is stale
    third = TrainedModel(case.run, engine="onnx")
    got = third.raw_predict(np.random.default_rng(0).random((3, 32, 32, 1), dtype=np.float32))
    assert third.network.decision["details"]["onnx_file"] == "converted"
    np.testing.assert_allclose(got, TrainedModel(case.run, engine="keras").raw_predict(
        np.random.default_rng(0).random((3, 32, 32, 1), dtype=np.float32)), **TOLERANCE)
    assert not [p.name for p in case.run.iterdir() if p.name.startswith(".")]  # no temporary file left
