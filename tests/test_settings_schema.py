"""One settings schema: each field declares what it is, validation reads it, and a run's learnt values are kept
apart from what the user asked; settings files written before (PetriLab 0.1.0, format 1) still open."""

import json
import tomllib

import pytest
import tomli_w

from petrilab import help as help_texts
from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.settings import DECLARED, LEARNT_KEYS, Settings
from petrilab.settings_schema import set_value

# What PetriLab 0.1.0 (settings format 1) wrote for an experiment: its sections as they were then (no
# [postprocess], a learning rate as a number, no augmentation.geometric), written by hand as that version did.
EXPERIMENT_0_1_0 = """format = 1
petrilab_version = "0.1.0"
name = "rbc"

[task]
kind = "classification"

[data]
folder = "images"
test_folder = ""
classes = []
image_size = [50, 50]
channels = 0
normalisation = "scale"
percentile_low = 1.0
percentile_high = 99.8
class_weights = false
load = "auto"

[split]
validation_fraction = 0.2
test_fraction = 0.15
seed = 42
stratify = true

[model]
architecture = "convnet"
activation = "relu"
dense_layers = [32, 16]
filters = [16, 32, 64]
head_units = [64]
dropout = 0.0
batch_norm = false
l1 = 0.0
l2 = 0.0
backbone = "mobilenetv2"
weights = "imagenet"
fine_tune_layers = 0

[augmentation]
flip_horizontal = true
flip_vertical = true
rotate_90 = true
rotation = 0.0
brightness = 0.0
contrast = 0.0
noise = 0.0
zoom = 0.0

[training]
epochs = 30
batch_size = 32
learning_rate = 0.001
optimizer = "adam"
loss = "auto"
early_stopping = false
patience = 10
device = "auto"
mixed_precision = "auto"
seed = 42
"""

# A regression run's settings.toml as format 1 wrote it (until [learnt]): what the run learnt sits in the
# sections, and training.decided_automatically names what it chose for "auto".
REGRESSION_RUN_FORMAT_1 = """format = 1
petrilab_version = "0.1.0"
name = "beads"

[task]
kind = "regression"

[data]
folder = "/lab/beads"
channels = 1
target_columns = ["x", "y"]
target_mean = [31.5, 30.25]
target_std = [12.0, 11.5]
target_kinds = { x = "position_x", y = "position_y" }

[augmentation]
geometric = "yes"

[training]
learning_rate = 0.0021
batch_size = 16
loss = "mse"
decided_automatically = ["training.learning_rate", "augmentation.geometric"]

[postprocess]
threshold = 0.5
"""


# ---------------------------------------------------------------- the schema


def test_every_field_declares_a_label_and_help_and_help_reads_them():
    assert "name" in DECLARED and "training.learning_rate" in DECLARED
    for key, declared in DECLARED.items():
        assert declared.label and declared.help, key
        assert help_texts.label(key) == declared.label and help_texts.explanation(key) == declared.help
    assert help_texts.label("not.a.setting") == "not.a.setting"


@pytest.mark.parametrize("key", sorted(k for k, d in DECLARED.items() if d.maximum is not None
                                       and not isinstance(settings_io.get_value(Settings(), k), list)))
def test_a_value_above_its_declared_range_is_refused_naming_the_key(key):
    s = Settings()
    set_value(s, key, DECLARED[key].maximum + 1)
    with pytest.raises(UserError) as err:
        settings_io.validate(s)
    assert key in err.value.message and str(DECLARED[key].maximum) in err.value.fix


@pytest.mark.parametrize("key", sorted(k for k, d in DECLARED.items() if d.choices
                                       and not isinstance(settings_io.get_value(Settings(), k), dict)))
def test_a_value_outside_its_declared_choices_is_refused_naming_the_key(key):
    s = Settings()
    set_value(s, key, "nonsense")
    with pytest.raises(UserError) as err:
        settings_io.validate(s)
    assert key in err.value.message
    assert all(str(choice) in err.value.fix for choice in DECLARED[key].choices)


def test_a_list_entry_outside_the_declared_range_names_the_key(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[model]\nfilters = [16, 0]\n")
    with pytest.raises(UserError, match="model.filters.*between 1 and 8192"):
        settings_io.load(path)
    path.write_text("[data]\nimage_size = [4, 64]\n")
    with pytest.raises(UserError, match="data.image_size.*between 8 and 4096") as err:
        settings_io.load(path)
    assert err.value.file == str(path)


# ---------------------------------------------------------------- learnt values


def _learnt_run_settings() -> Settings:
    """A run's settings after training: the user asked for automatic channels, patches and rate."""
    asked = settings_io.defaults_for("semantic")
    asked.data.folder = "/lab/nuclei"
    ran = asked.copy()
    ran.data.channels, ran.data.patch_size, ran.data.classes = 1, [128, 128], ["background", "nucleus"]
    ran.training.learning_rate, ran.postprocess.threshold = 0.0021, 0.4
    ran.training.decided_automatically.append("training.learning_rate")
    settings_io.note_learnt(ran, asked)
    return ran


def test_learnt_values_go_under_learnt_and_the_sections_keep_the_users_choice(tmp_path):
    ran = _learnt_run_settings()
    assert set(ran.asked) == {"data.channels", "data.patch_size", "data.classes", "training.learning_rate",
                              "postprocess.threshold", "training.decided_automatically"}
    path = settings_io.save(ran, tmp_path / runs.SETTINGS)
    written = tomllib.loads(path.read_text(encoding="utf-8"))
    assert written["format"] == 2
    assert (written["data"]["channels"], written["data"]["patch_size"], written["data"]["classes"]) == (0, [], [])
    assert written["training"]["learning_rate"] == "auto" and written["postprocess"]["threshold"] == 0.5
    assert written["learnt"]["data"] == {"channels": 1, "patch_size": [128, 128],
                                         "classes": ["background", "nucleus"]}
    assert written["learnt"]["training"]["learning_rate"] == 0.0021
    again = settings_io.load(path)  # what ran: evaluate, predict and resume read the learnt values
    assert again == ran and again.data.patch_size == [128, 128] and again.training.learning_rate == 0.0021
    chosen = settings_io.users_choices(again)  # what the user asked: a new training learns them again
    assert (chosen.data.channels, chosen.data.patch_size, chosen.training.learning_rate) == (0, [], "auto")
    assert chosen.postprocess.threshold == 0.5 and chosen.training.decided_automatically == []
    assert chosen.asked == {} and "[learnt" not in settings_io.dumps(chosen)


def test_a_value_learnt_equal_to_the_users_is_not_learnt():
    asked = settings_io.defaults_for("classification")
    ran = asked.copy()
    ran.data.channels = 3
    settings_io.note_learnt(ran, asked)
    ran.data.channels = 0
    settings_io.note_learnt(ran, asked)
    assert ran.asked == {}


def test_a_learnt_key_that_is_not_learnable_is_refused_plainly(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('format = 2\n[learnt.model]\narchitecture = "vgg"\n')
    with pytest.raises(UserError, match="model.architecture.*not something PetriLab learns") as err:
        settings_io.load(path)
    assert err.value.file == str(path) and "[model]" in err.value.fix
    assert "model.architecture" not in LEARNT_KEYS and "data.target_mean" in LEARNT_KEYS


# ---------------------------------------------------------------- files written before


def test_an_experiment_written_by_0_1_0_opens_with_its_values(tmp_path):
    (tmp_path / "images").mkdir()
    path = tmp_path / "rbc.toml"
    path.write_text(EXPERIMENT_0_1_0, encoding="utf-8")
    s = settings_io.load(path)
    assert s.name == "rbc" and s.data.folder == str((tmp_path / "images").resolve())
    assert (s.data.image_size, s.training.epochs, s.training.learning_rate) == ([50, 50], 30, 0.001)
    assert s.training.early_stopping is False and s.model.filters == [16, 32, 64]
    assert s.augmentation.geometric == "auto" and s.postprocess == Settings().postprocess  # keys added since
    assert s.asked == {}  # an experiment: nothing in it was learnt
    saved = tomllib.loads(settings_io.dumps(s))
    assert saved["format"] == 2 and "learnt" not in saved
    assert settings_io.from_dict(saved) == s


def test_a_run_written_in_format_1_gives_the_same_values_and_knows_what_was_learnt(tmp_path):
    path = tmp_path / runs.SETTINGS
    path.write_text(REGRESSION_RUN_FORMAT_1, encoding="utf-8")
    s = settings_io.load(path)
    # the same values in effect as before: evaluate and predict turn outputs back with the same mean and spread
    assert (s.data.target_mean, s.data.target_std) == ([31.5, 30.25], [12.0, 11.5])
    assert (s.training.learning_rate, s.augmentation.geometric, s.training.batch_size) == (0.0021, "yes", 16)
    assert s.data.target_kinds == {"x": "position_x", "y": "position_y"}
    # what only a run can have filled in is marked learnt: training again from it learns those again
    chosen = settings_io.users_choices(s)
    assert (chosen.data.target_mean, chosen.data.target_std) == ([], [])
    assert (chosen.training.learning_rate, chosen.augmentation.geometric) == ("auto", "auto")
    assert chosen.training.decided_automatically == [] and chosen.training.batch_size == 16
    rewritten = settings_io.save(s, tmp_path / "again.toml")  # a resumed old run writes the new layout
    assert settings_io.load(rewritten) == s


# ---------------------------------------------------------------- a real run


@pytest.mark.slow  # trains a real (tiny) model
def test_a_run_keeps_what_it_learnt_apart_and_training_again_learns_it_again(tiny_classification_dir, tmp_path):
    from helpers import small_settings

    from petrilab.prediction.trained_model import TrainedModel
    from petrilab.training.trainer import train

    asked = small_settings(tiny_classification_dir, training__epochs=1)
    assert (asked.data.channels, asked.data.classes) == (0, [])
    run = train(asked, runs_dir=tmp_path / "runs", echo=False)
    written = tomllib.loads((run / runs.SETTINGS).read_text(encoding="utf-8"))
    assert (written["data"]["channels"], written["data"]["classes"]) == (0, [])  # what the user asked
    assert written["learnt"]["data"] == {"channels": 1, "classes": ["elongated", "fragmented", "round"]}
    assert TrainedModel(run).classes == ["elongated", "fragmented", "round"]  # what ran is what predicts

    again = train(settings_io.load(run / runs.SETTINGS), runs_dir=tmp_path / "runs", echo=False)
    rewritten = tomllib.loads((again / runs.SETTINGS).read_text(encoding="utf-8"))
    assert (rewritten["data"]["channels"], rewritten["data"]["classes"]) == (0, [])  # not frozen as a choice
    assert rewritten["learnt"]["data"] == written["learnt"]["data"]

    # the same run folder as format 1 wrote it (until [learnt]): its evaluation gives the same numbers
    from petrilab.cli import main

    metrics = json.loads((run / runs.EVALUATION).read_text(encoding="utf-8"))["metrics"]
    old = {**written, "format": 1}
    for section, values in old.pop("learnt").items():
        old[section] = {**old[section], **values}
    (run / runs.SETTINGS).write_text(tomli_w.dumps(old), encoding="utf-8")
    assert main(["evaluate", str(run)]) == 0
    assert json.loads((run / runs.EVALUATION).read_text(encoding="utf-8"))["metrics"] == metrics


def test_a_value_the_user_sets_on_a_learnt_key_is_the_users_choice():
    ran = _learnt_run_settings()  # e.g. `petrilab train RUN/settings.toml --resume RUN --set training.learning_rate=…`
    settings_io.apply_override(ran, "training.learning_rate", 0.0005)
    assert "training.learning_rate" not in ran.asked
    assert settings_io.users_choices(ran).training.learning_rate == 0.0005
    assert settings_io.users_choices(ran).data.patch_size == []


def test_a_learnt_section_that_is_not_a_table_is_refused_plainly(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('format = 2\nlearnt = 3\n')
    with pytest.raises(UserError, match=r"'learnt' must hold sections, like \[learnt.data\]") as err:
        settings_io.load(path)
    assert err.value.file == str(path)

