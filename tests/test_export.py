"""Sharing a run: the bioimage.io package (validated offline, test output reproduced from its weights),
importing it back, and the command line around them, on tests/finished_runs.py's cached runs."""

from __future__ import annotations

import csv
import zipfile

import numpy as np
import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.cli import main

import finished_runs

pytest.importorskip("bioimageio.spec")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def classification_run(tmp_path_factory):
    """(run, data): a copy of tests/finished_runs.py's classification run (24 cells, 32 × 32, two blocks, 2 epochs)."""
    finished = finished_runs.copy_of("classification", tmp_path_factory.mktemp("cls") / "run")
    return finished.run, finished.data


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory):
    """(run, data): a copy of tests/finished_runs.py's regression run (40 beads, 32 × 32, a position each)."""
    finished = finished_runs.copy_of("regression", tmp_path_factory.mktemp("reg") / "run")
    return finished.run, finished.data


def unpack(zip_path, folder):
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(folder)
    return folder


def test_package_is_valid_and_its_test_output_comes_back_from_its_weights(classification_run, tmp_path):
    from bioimageio.spec import InvalidDescr, load_description

    from petrilab.export.bioimageio import PackageInfo, export_bioimageio, load_exported_weights
    from petrilab.export.bioimageio_tensors import normalise_like_spec, preprocessing_steps
    from petrilab.prediction.trained_model import TrainedModel

    run, _ = classification_run
    info = PackageInfo(description="Sorts cells by shape.", authors=["Ada Biologist"], license="MIT",
                       cite=["Biologist A. Cell shapes. 2026|10.1234/example.5678"])
    zip_path = export_bioimageio(run, tmp_path / "model.zip", info)

    descr = load_description(str(zip_path), perform_io_checks=True)  # offline: the package has no remote files
    assert not isinstance(descr, InvalidDescr), descr.validation_summary
    assert descr.validation_summary.status in ("valid-format", "passed")
    assert [a.name for a in descr.authors] == ["Ada Biologist"] and str(descr.license) == "MIT"
    assert str(descr.cite[0].doi) == "10.1234/example.5678"
    assert descr.weights.keras_hdf5 is not None and descr.weights.tensorflow_saved_model_bundle is not None
    out_axis = descr.outputs[0].axes[-1]
    assert [str(n) for n in out_axis.channel_names] == ["p_elongated", "p_fragmented", "p_round"]
    steps = {p.id: p for p in descr.inputs[0].preprocessing}  # the spec adds a final ensure_dtype itself
    assert steps["scale_linear"].kwargs.gain == pytest.approx(1 / 255)  # 8-bit PNG, scaled by its bit depth

    folder = unpack(zip_path, tmp_path / "unpacked")
    raw, expected = np.load(folder / "test_input.npy"), np.load(folder / "test_output.npy")
    assert raw.shape == (1, 32, 32, 1) and expected.shape == (1, 3)
    assert np.allclose(expected.sum(), 1.0, atol=1e-4)
    # a consumer: load the exported weights, apply the declared preprocessing, run
    trained = TrainedModel(run)
    again = load_exported_weights(folder / "weights.h5").predict(
        normalise_like_spec(raw, preprocessing_steps(trained.prep, np.dtype("uint8"))), verbose=0)
    assert np.allclose(again, expected, atol=1e-5)
    # and the declared preprocessing is PetriLab's own: the run's model on PetriLab's preprocessing agrees
    ours = trained.raw_predict(trained.prep(raw[0].astype(np.uint8))[None])  # the PNG is 8-bit, at the model's size
    assert np.allclose(ours, expected, atol=1e-5)
    # the TensorFlow SavedModel gives the same answer
    import keras

    with zipfile.ZipFile(folder / "tf_saved_model.zip") as z:
        z.extractall(tmp_path / "saved")
    layer = keras.layers.TFSMLayer(str(tmp_path / "saved"), call_endpoint="serve")
    saved_out = layer(normalise_like_spec(raw, preprocessing_steps(trained.prep, np.dtype("uint8"))))
    saved_out = next(iter(saved_out.values())) if isinstance(saved_out, dict) else saved_out
    assert np.allclose(np.asarray(saved_out), expected, atol=1e-5)
    assert (folder / "cover.png").stat().st_size > 1000
    rdf = (folder / "rdf.yaml").read_text(encoding="utf-8")
    assert str(classification_run[1]) not in rdf  # no folder of this computer in the shared package


def test_the_declared_preprocessing_matches_petrilabs_for_every_normalisation():
    from petrilab.data.preprocess import Preprocessing
    from petrilab.export.bioimageio_tensors import normalise_like_spec, preprocessing_steps

    rng = np.random.default_rng(0)
    image16 = rng.integers(0, 4000, size=(20, 20, 2)).astype(np.uint16)
    imagef = rng.normal(5, 2, size=(20, 20, 2)).astype(np.float32)
    for norm in ("scale", "mean_std", "percentile"):
        for image in (image16, imagef):
            prep = Preprocessing((20, 20), 2, norm, 2.0, 98.0)
            ours = prep(image)
            declared = normalise_like_spec(image.astype(np.float32)[None], preprocessing_steps(prep, image.dtype))[0]
            assert np.allclose(ours, declared, atol=1e-4), (norm, image.dtype)


def test_regression_package_gives_values_in_their_units(regression_run, tmp_path):
    from bioimageio.spec import InvalidDescr, load_description

    from petrilab.export.bioimageio import export_bioimageio, load_exported_weights
    from petrilab.export.bioimageio_tensors import normalise_like_spec, preprocessing_steps
    from petrilab.prediction.trained_model import TrainedModel

    run, _ = regression_run
    zip_path = export_bioimageio(run, tmp_path / "beads.zip")
    descr = load_description(str(zip_path), perform_io_checks=True)
    assert not isinstance(descr, InvalidDescr), descr.validation_summary
    post = next(p for p in descr.outputs[0].postprocessing if p.id == "scale_linear")
    settings = settings_io.load(run / runs.SETTINGS)
    assert list(post.kwargs.gain) == pytest.approx(settings.data.target_std)
    folder = unpack(zip_path, tmp_path / "u")
    raw, expected = np.load(folder / "test_input.npy"), np.load(folder / "test_output.npy")
    trained = TrainedModel(run)
    net = load_exported_weights(folder / "weights.h5").predict(
        normalise_like_spec(raw, preprocessing_steps(trained.prep, np.dtype("uint8"))), verbose=0)
    in_units = net * np.array(settings.data.target_std) + np.array(settings.data.target_mean)
    assert np.allclose(in_units, expected, atol=1e-3)
    side = max(settings.data.image_size)
    assert 0 <= expected.min() and expected.max() <= side * 1.5  # positions in pixels, not standardised numbers


def _predictions(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_imported_package_and_keras_file_predict_like_the_run(classification_run, tmp_path):
    from petrilab.export.bioimageio import export_bioimageio
    from petrilab.export.importing import import_model
    from petrilab.prediction.predict_folder import predict_folder

    run, data = classification_run
    images = next(p for p in data.iterdir() if p.is_dir())
    zip_path = export_bioimageio(run, tmp_path / "model.zip")
    imported = import_model(zip_path, tmp_path / "imported")
    assert settings_io.load(imported / runs.SETTINGS).data.classes == settings_io.load(run / runs.SETTINGS).data.classes
    original = _predictions(predict_folder(run, images, tmp_path / "out_run"))
    again = _predictions(predict_folder(imported, images, tmp_path / "out_imported"))
    assert [r["predicted_class"] for r in again] == [r["predicted_class"] for r in original]
    for a, b in zip(again, original):
        assert float(a["p_round"]) == pytest.approx(float(b["p_round"]), abs=1e-5)

    bare = import_model(run / runs.BEST_MODEL, tmp_path / "bare")
    guessed = settings_io.load(bare / runs.SETTINGS)
    assert guessed.data.image_size == [32, 32] and guessed.data.classes == ["class_0", "class_1", "class_2"]
    rows = _predictions(predict_folder(bare, images, tmp_path / "out_bare"))
    assert [float(r["p_class_2"]) for r in rows] == pytest.approx([float(r["p_round"]) for r in original], abs=1e-5)


def test_command_line_export_import_and_plain_refusals(classification_run, tmp_path, capsys):
    run, data = classification_run
    out = tmp_path / "cli.zip"
    assert main(["export", str(run), "--format", "bioimageio", "-o", str(out), "--author", "A. B.",
                 "--license", "CC0-1.0", "--cite", "Our paper 2026|https://example.org/paper",
                 "--description", "Cell shapes"]) == 0
    assert out.is_file() and "validated" in capsys.readouterr().out
    assert main(["import", str(out), "-o", str(tmp_path / "imp")]) == 0
    # a name the model zoo refuses (too short; commas, accents) is made acceptable, not a "bug of the export"
    for name, written in (("r1", "r1 model"), ("Noyaux, é-coli", "Noyaux e-coli")):
        package = tmp_path / f"{len(name)}.zip"
        assert main(["export", str(run), "-o", str(package), "--name", name]) == 0
        assert f"as '{written}'" in capsys.readouterr().out
        with zipfile.ZipFile(package) as z:
            assert f"name: {written}" in z.read("rdf.yaml").decode("utf-8")
    # refusals: not a run, a non-empty target, a file that is not a model
    assert main(["export", str(data), "-o", str(tmp_path / "x.zip")]) == 2
    assert "no trained model" in capsys.readouterr().err
    assert main(["import", str(out), "-o", str(tmp_path / "imp")]) == 2
    assert "not empty" in capsys.readouterr().err
    not_model = tmp_path / "notes.zip"
    with zipfile.ZipFile(not_model, "w") as z:
        z.writestr("hello.txt", "hi")
    assert main(["import", str(not_model), "-o", str(tmp_path / "imp2")]) == 2
    assert "no rdf.yaml" in capsys.readouterr().err


# ---------------------------------------------------------------- report


def test_reports_hold_what_a_methods_section_needs(classification_run, regression_run, tmp_path, capsys):
    import re

    run, _ = classification_run
    assert main(["report", str(run)]) == 0
    page = (run / runs.REPORT).read_text(encoding="utf-8")
    for words in ("Image classification", "Dataset", "Split", "Training curves", "Diagnosis", "Evidence",
                  "Confusion matrix", "class='confusion'", "Settings", "Software", "keras", "Seeds (split / training)",
                  "42 / 7", "Data fingerprint"):
        assert words in page, words
    assert page.count("<svg") == 2  # loss and accuracy
    settings = settings_io.load(run / runs.SETTINGS)
    assert f"seed = {settings.training.seed}" in page

    run, _ = regression_run
    assert main(["report", str(run)]) == 0
    page = (run / runs.REPORT).read_text(encoding="utf-8")
    assert "Regression from images" in page and "baseline MAE" in page
    assert "x: predicted vs true" in page and "y: predicted vs true" in page
    n_test = len([r for r in _predictions(run / "test_predictions.csv")])
    scatter = page[page.index("x: predicted vs true"):page.index("y: predicted vs true")]
    assert len(re.findall("<circle", scatter)) == n_test  # one point per test image


def test_multilabel_and_segmentation_reports_show_their_scores(tmp_path):
    import json

    from petrilab.export.report import write_report

    labels = {"nucleus": {"threshold": 0.4, "precision": 0.9, "recall": 0.8, "f1": 0.85, "auc": 0.95, "support": 7},
              "spots": {"threshold": 0.6, "precision": 0.5, "recall": 0.4, "f1": 0.44, "auc": 0.7, "support": 3}}
    run = tmp_path / "ml"
    run.mkdir()
    runs.atomic_write_json(run / runs.EVALUATION, {
        "task": "multilabel", "source": "test split", "n_images": 10, "classes": list(labels),
        "metrics": {"exact_match": 0.5, "hamming_loss": 0.2, "macro_f1": 0.645, "macro_auc": 0.825,
                    "per_label": labels}, "warnings": []})
    page = write_report(run).read_text(encoding="utf-8")
    assert "F1 per label" in page and "AUC per label" in page and ">0.85<" in page and "nucleus" in page

    run = tmp_path / "seg"
    run.mkdir()
    runs.atomic_write_json(run / runs.EVALUATION, {
        "task": "semantic", "source": "test split", "n_images": 1, "classes": ["background", "cells"],
        "metrics": {"iou": 0.7, "dice": 0.82, "pixel_accuracy": 0.95,
                    "per_class": {"cells": {"iou": 0.7, "dice": 0.82, "precision": 0.9, "recall": 0.75}}},
        "warnings": [], "threshold": 0.45})
    page = write_report(run).read_text(encoding="utf-8")
    assert "IoU (foreground)" in page and "0.700" in page and "Test set (1 image," in page
    assert json.loads(json.dumps(page))  # a plain string, written without the model (no examples to draw)


def test_segmentation_package_takes_any_size_and_reproduces_its_map(tmp_path):
    from bioimageio.spec import InvalidDescr, load_description

    from petrilab.export.bioimageio import export_bioimageio, load_exported_weights
    from petrilab.export.bioimageio_tensors import normalise_like_spec

    run = finished_runs.copy_of("semantic", tmp_path / "run").run  # a tiny U-Net: two blocks of filters
    zip_path = export_bioimageio(run, tmp_path / "seg.zip")
    descr = load_description(str(zip_path), perform_io_checks=True)
    assert not isinstance(descr, InvalidDescr), descr.validation_summary
    y_axis = descr.inputs[0].axes[1]
    assert y_axis.size.step == 4 and y_axis.size.min == 16  # two poolings: any multiple of 4
    folder = unpack(zip_path, tmp_path / "u")
    raw, expected = np.load(folder / "test_input.npy"), np.load(folder / "test_output.npy")
    assert expected.shape[:3] == raw.shape[:3]  # one probability map per pixel
    steps = [{"id": p.id, "kwargs": p.kwargs.model_dump()} for p in descr.inputs[0].preprocessing
             if p.id != "ensure_dtype"]
    net = load_exported_weights(folder / "weights.h5")
    assert np.allclose(net.predict(normalise_like_spec(raw, steps), verbose=0), expected, atol=1e-5)
    bigger = np.pad(raw, ((0, 0), (0, 8), (0, 4), (0, 0)), mode="reflect")
    assert net.predict(normalise_like_spec(bigger, steps), verbose=0).shape[1:3] == (raw.shape[1] + 8, raw.shape[2] + 4)
