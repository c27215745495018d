"""Settings: defaults, TOML round trip, overrides, and plain errors that name the key."""

import pytest

from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.settings import Settings


def test_round_trip_keeps_every_value(tmp_path):
    s = settings_io.defaults_for("classification")
    s.name = "rbc quality"
    s.data.folder = str(tmp_path)
    s.model.filters = [8, 16]
    s.training.learning_rate = 3e-4
    path = settings_io.save(s, tmp_path / "settings.toml")
    assert settings_io.load(path) == s


def test_contract_keys_keep_their_names():
    text = settings_io.dumps(Settings())
    for section in ("[task]", "[data]", "[split]", "[model]", "[augmentation]", "[training]"):
        assert section in text
    for key in ("epochs", "batch_size", "learning_rate", "architecture"):
        assert f"\n{key} = " in text


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[training]\nepochz = 3\n")
    with pytest.raises(UserError) as err:
        settings_io.load(path)
    assert "training.epochz" in err.value.message
    assert "epochs" in err.value.fix


def test_wrong_type_is_named(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[training]\nepochs = "many"\n')
    with pytest.raises(UserError, match="training.epochs.*whole number"):
        settings_io.load(path)


def test_out_of_range_and_bad_choice(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[model]\ndropout = 1.5\n")
    with pytest.raises(UserError, match="model.dropout"):
        settings_io.load(path)
    path.write_text('[training]\noptimizer = "adamw"\n')
    with pytest.raises(UserError, match="(?s)training.optimizer.*sgd, momentum, adam, rmsprop"):
        settings_io.load(path)


def test_newer_format_is_refused(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('format = 99\npetrilab_version = "9.0"\n')
    with pytest.raises(UserError, match="newer PetriLab"):
        settings_io.load(path)


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[training\nepochs = 3")
    with pytest.raises(UserError) as err:
        settings_io.load(path)
    assert err.value.file == str(path)


def test_relative_data_folder_is_relative_to_the_file(tmp_path):
    (tmp_path / "images").mkdir()
    path = tmp_path / "s.toml"
    path.write_text('[data]\nfolder = "images"\n')
    assert settings_io.load(path).data.folder == str((tmp_path / "images").resolve())


@pytest.mark.parametrize("text, key, value", [
    ("training.epochs=5", "training.epochs", 5),
    ("training.learning_rate=1e-4", "training.learning_rate", 1e-4),
    ("model.filters=[8, 16]", "model.filters", [8, 16]),
    ("model.architecture=vgg", "model.architecture", "vgg"),
    ("augmentation.flip_vertical=false", "augmentation.flip_vertical", False),
    ("name=sweep 3", "name", "sweep 3"),
])
def test_overrides(text, key, value):
    s = Settings()
    settings_io.apply_override(s, *settings_io.parse_override(text))
    assert settings_io.get_value(s, key) == value


def test_override_errors_are_plain():
    s = Settings()
    with pytest.raises(UserError, match="Unknown setting 'training.epoch'"):
        settings_io.apply_override(s, "training.epoch", 3)
    with pytest.raises(UserError, match="section.key=value"):
        settings_io.parse_override("training.epochs")
    with pytest.raises(UserError, match="whole number"):
        settings_io.apply_override(s, *settings_io.parse_override("training.epochs=3.5"))
