"""model.start_from: fine-tuning from a trained run, a .keras file or an imported bioimage.io package.

Real tiny trainings on the demo classification images: a model trained first, then trained again
on a smaller set of new images, starts from a lower validation loss than the same network from
scratch. The refusals (missing file, channels, image size, task kind) are plain sentences."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.demo import DEMO_CLASSES, make_classification_demo
from petrilab.errors import UserError
from petrilab.events import read_all

pytestmark = pytest.mark.slow


def _settings(data, epochs):
    s = settings_io.defaults_for("classification")
    s.data.folder, s.data.image_size = str(data), [32, 32]
    s.model.filters, s.model.head_units = [8, 16], [16]
    s.training.epochs, s.training.batch_size = epochs, 8
    # fixed choices (the automatic ones are tested elsewhere): the same training on every run here
    s.training.learning_rate, s.training.early_stopping, s.augmentation.geometric = 0.001, False, "yes"
    return s


def _train(settings, run_dir):
    from petrilab.training.trainer import train

    return train(settings, run_dir=run_dir, echo=False)


def _started(run_dir):
    return next(e for e in read_all(run_dir / runs.EVENTS) if e["event"] == "started")


def _first_val_loss(run_dir):
    return runs.read_history(run_dir / runs.HISTORY)[0]["val_loss"]


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("source")
    data = make_classification_demo(root / "data", n_per_class=24, size=32, seed=1)
    s = _settings(data, epochs=15)
    s.model.filters, s.training.learning_rate = [8, 16, 16], 0.003
    return _train(s, root / "run")


@pytest.fixture(scope="module")
def new_images(tmp_path_factory):
    """Other images of the same kinds (another seed), fewer of them: what a lab fine-tunes on."""
    root = tmp_path_factory.mktemp("new")
    return make_classification_demo(root / "data", n_per_class=10, size=32, seed=7)


@pytest.fixture(scope="module")
def scratch(new_images, tmp_path_factory):
    """The same network trained from scratch on the new images: what every fine-tuning here must beat
    (one training, shared: the tests that compare with it would each train the very same run)."""
    return _train(_settings(new_images, epochs=1), tmp_path_factory.mktemp("scratch") / "run")


def test_fine_tuning_a_run_starts_lower_than_from_scratch(source_run, new_images, scratch, tmp_path):
    assert runs.read_history(source_run / runs.HISTORY)[-1]["val_accuracy"] > 0.6  # the source learnt something
    s = _settings(new_images, epochs=1)
    s.model.filters = [4]  # ignored: the network comes from the source run
    s.model.start_from = str(source_run)
    tuned = _train(s, tmp_path / "tuned")

    assert _first_val_loss(tuned) < _first_val_loss(scratch) - 0.1, (_first_val_loss(tuned), _first_val_loss(scratch))
    started = _started(tuned)
    assert started["start_from"] == str(source_run) and started["start_from_head"] == "kept"
    from petrilab.data.split import fingerprint

    assert started["start_from_sha256"] == fingerprint(source_run / runs.BEST_MODEL)
    recorded = settings_io.load(tuned / runs.SETTINGS)
    assert recorded.model.filters == [8, 16, 16] and recorded.model.start_from == str(source_run)
    assert started["parameters"] == _started(source_run)["parameters"]
    # the fine-tuned run is a complete run: evaluated, with a report
    assert (tuned / runs.EVALUATION).exists()
    assert "Started from (fine-tuning)" in (tuned / runs.REPORT).read_text(encoding="utf-8")


def test_fine_tuning_from_an_imported_bioimageio_package(source_run, new_images, scratch, tmp_path):
    pytest.importorskip("bioimageio.spec")
    from petrilab.export.bioimageio import PackageInfo, export_bioimageio
    from petrilab.export.importing import import_model

    package = export_bioimageio(source_run, tmp_path / "shapes.zip", PackageInfo(description="Cell shapes."))
    imported = import_model(package, tmp_path / "imported")
    s = _settings(new_images, epochs=1)
    s.model.start_from = str(imported)
    tuned = _train(s, tmp_path / "tuned")
    assert _started(tuned)["start_from_head"] == "kept"
    assert _first_val_loss(tuned) < _first_val_loss(scratch) - 0.1, (_first_val_loss(tuned), _first_val_loss(scratch))

    # or straight from the zip: imported on the fly, its own SHA-256 recorded
    s.model.start_from = str(package)
    from_zip = _train(s, tmp_path / "zip")
    from petrilab.data.split import fingerprint

    assert _started(from_zip)["start_from_head"] == "kept"
    assert _started(from_zip)["start_from_sha256"] == fingerprint(package)
    assert _first_val_loss(from_zip) < _first_val_loss(scratch) - 0.1


def test_other_classes_get_a_new_head_on_the_learnt_body(source_run, tmp_path):
    import keras

    from petrilab.models.start_from import build_from, locate
    from petrilab.tasks import output_head

    # a .keras file alone (no run folder around it): the names are unknown, the shapes decide
    bare = tmp_path / "shapes.keras"
    shutil.copy(source_run / runs.BEST_MODEL, bare)
    s = _settings(tmp_path, epochs=1)
    s.data.classes = ["healthy", "infected"]
    model, record = build_from(locate(bare), s, (32, 32, 1), output_head("classification", 2))
    assert record["start_from_head"] == "replaced" and model.output_shape == (None, 1)
    source = keras.saving.load_model(source_run / runs.BEST_MODEL, compile=False)
    for name in ("block1_conv", "block2_conv", "hidden1"):  # the body keeps what it learnt
        for a, b in zip(model.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)

    # the same three classes from the run folder: the head is kept
    s.data.classes = list(DEMO_CLASSES)
    model, record = build_from(locate(source_run), s, (32, 32, 1), output_head("classification", 3))
    assert record["start_from_head"] == "kept" and model.output_shape == (None, 3)
    # three classes with other names: the old head would answer the wrong question
    s.data.classes = ["a", "b", "c"]
    _, record = build_from(locate(source_run), s, (32, 32, 1), output_head("classification", 3))
    assert record["start_from_head"] == "replaced"


def test_incompatible_sources_are_refused_in_plain_words(source_run, tmp_path):
    from petrilab.models.start_from import build_from, locate
    from petrilab.tasks import output_head

    s = _settings(tmp_path, epochs=1)
    s.data.classes = list(DEMO_CLASSES)
    head = output_head("classification", 3)
    with pytest.raises(UserError, match="does not exist") as caught:
        locate(tmp_path / "nowhere.keras")
    assert caught.value.file == str(tmp_path / "nowhere.keras") and "from scratch" in caught.value.fix
    empty = tmp_path / "empty_run"
    empty.mkdir()
    with pytest.raises(UserError, match="holds no trained model"):
        locate(empty)
    with pytest.raises(UserError, match="have 3 channels") as caught:
        build_from(locate(source_run), s, (32, 32, 3), head)
    assert "1 channel" in caught.value.message and "data.channels' to 1" in caught.value.fix
    with pytest.raises(UserError, match="trained on 32 × 32 images") as caught:
        build_from(locate(source_run), s, (48, 48, 1), head)
    assert "[32, 32]" in caught.value.fix
    s.task.kind = "semantic"
    with pytest.raises(UserError, match="needs an answer per pixel"):
        build_from(locate(source_run), s, (32, 32, 1), output_head("semantic", 2))


def test_a_missing_source_stops_the_training_before_the_data_with_its_name(tiny_classification_dir, tmp_path):
    s = _settings(tiny_classification_dir, epochs=1)
    s.model.start_from = str(tmp_path / "old_run")
    with pytest.raises(UserError, match="does not exist"):
        _train(s, tmp_path / "run")
    error = next(e for e in read_all(tmp_path / "run" / runs.EVENTS) if e["event"] == "error")
    assert error["file"] == str(tmp_path / "old_run")


def test_a_relative_start_from_is_relative_to_the_settings_file(tmp_path):
    s = settings_io.defaults_for("classification")
    s.model.start_from = "runs/first"
    settings_io.save(s, tmp_path / "settings.toml")
    assert settings_io.load(tmp_path / "settings.toml").model.start_from == str((tmp_path / "runs/first").resolve())


def test_a_keras_model_made_elsewhere_gets_the_head_it_needs(tmp_path):
    """A .keras file PetriLab did not train: softmax inside its last Dense layer, no names."""
    import keras

    from petrilab.models.start_from import build_from, locate
    from petrilab.tasks import output_head

    inputs = keras.Input((24, 24, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="features")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="classes")(x)
    path = tmp_path / "elsewhere.keras"
    keras.Model(inputs, outputs).save(path)

    s = settings_io.defaults_for("classification")
    s.data.classes = ["a", "b", "c"]
    model, record = build_from(locate(path), s, (24, 24, 3), output_head("classification", 3))
    assert record["start_from_head"] == "kept"  # three softmax outputs: the same question as far as it says
    s.task.kind = "regression"
    s.data.classes = ["area"]
    model, record = build_from(locate(path), s, (24, 24, 3), output_head("regression", 1))
    assert record["start_from_head"] == "replaced" and model.output_shape == (None, 1)
    assert model.layers[-1].get_config()["activation"] == "linear"
    np.testing.assert_array_equal(model.get_layer("features").get_weights()[0],
                                  keras.saving.load_model(path).get_layer("features").get_weights()[0])
    # not a model at all
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="is not a trained model"):
        locate(tmp_path / "notes.txt")
