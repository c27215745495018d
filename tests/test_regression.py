"""Regression from images: the table checks, the standardised targets, a real training, evaluation and prediction."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.cli import main as cli_main
from petrilab.data.split import make_split
from petrilab.demo import make_regression_demo
from petrilab.errors import UserError
from petrilab.events import read_all
from petrilab.tasks.regression.metrics import r2, regression_metrics
from petrilab.tasks.tables.check import check_table
from petrilab.tasks.tables.dataset import QUARTER_NAMES, discover_table, parse_number


@pytest.fixture
def beads(tmp_path):
    """40 bead images of 16 × 16 pixels with their x, y in targets.csv."""
    return make_regression_demo(tmp_path / "beads", n_images=40, size=16, seed=3)


def rewrite_table(folder, edit, name="targets.csv"):
    """Apply `edit(rows)` to the table's rows (header first) and write it back."""
    path = folder / name
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    edit(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def errors_of(folder) -> list:
    report = check_table(discover_table("regression", folder))
    return [f for f in report.findings if f.level == "error"]


# ---------------------------------------------------------------- reading and checking the table


def test_good_table_gives_values_statistics_and_quarters(beads):
    dataset = discover_table("regression", beads)
    assert dataset.columns == ["x", "y"] and len(dataset.samples) == 40
    assert dataset.classes == [f"x: {q}" for q in QUARTER_NAMES]
    # the quarters follow the first target: every x of a lower quarter is below every x of a higher one
    by_group = {g: [s.values[0] for s in dataset.samples if s.label == g] for g in range(4)}
    assert [len(v) for v in by_group.values()] == [10, 10, 10, 10]
    assert max(by_group[0]) < min(by_group[1]) and max(by_group[2]) < min(by_group[3])
    report = check_table(dataset)
    assert report.ok, report.findings
    x = dataset.values()[:, 0]
    assert report.targets["x"]["mean"] == pytest.approx(x.mean())
    assert report.targets["x"]["min"] == pytest.approx(x.min())
    assert sum(report.targets["x"]["counts"]) == 40 and len(report.targets["x"]["edges"]) == 21
    assert "x: " in report.to_text() and "ready to train" in report.to_text()
    # the split keeps values from every quarter in the validation and test sets
    split = make_split(dataset, settings_io.defaults_for("regression").split)
    assert {s.label for s in split.subset("validation")} == {0, 1, 2, 3}
    assert {s.label for s in split.subset("test")} == {0, 1, 2, 3}


def test_an_image_without_a_row_and_a_row_without_an_image_are_named(beads):
    (beads / "images" / "bead_041.png").write_bytes((beads / "images" / "bead_001.png").read_bytes())
    rewrite_table(beads, lambda rows: rows.append(["bead_999.png", "3.0", "4.0"]))
    errors = errors_of(beads)
    messages = " ".join(f.message for f in errors)
    assert "1 image(s) in 'images' have no line in targets.csv: 'bead_041.png'" in messages
    assert "names images that are not in the 'images' folder: line 42 ('bead_999.png')" in messages
    assert all(f.file.endswith("targets.csv") and f.fix for f in errors)


def test_text_in_a_numeric_column_names_the_file_the_line_and_the_text(beads):
    rewrite_table(beads, lambda rows: rows[5].__setitem__(2, "about 12"))
    (error,) = errors_of(beads)
    assert error.message == "In targets.csv, column 'y' holds text instead of a number on line 6 ('about 12')."
    assert error.file == str(beads / "targets.csv")
    # the row is left out of the samples, the others are kept
    assert len(discover_table("regression", beads).samples) == 39


def test_nan_infinity_and_empty_cells_are_refused_with_their_lines(beads):
    def edit(rows):
        rows[2][1] = "NaN"
        rows[3][1] = "inf"
        rows[4][2] = ""

    rewrite_table(beads, edit)
    messages = [f.message for f in errors_of(beads)]
    assert "In targets.csv, column 'x' holds a value that is not a finite number on lines 3 ('NaN') and 4 ('inf')." \
        in messages
    assert "In targets.csv, column 'y' is empty on line 5." in messages


def test_a_duplicate_row_is_refused(beads):
    rewrite_table(beads, lambda rows: rows.append(list(rows[1])))
    (error,) = errors_of(beads)
    assert "listed more than once" in error.message and "also on line 2" in error.message


def test_many_bad_lines_are_counted_not_all_listed(beads):
    rewrite_table(beads, lambda rows: [row.__setitem__(1, "?") for row in rows[1:21]])
    (error,) = errors_of(beads)
    assert "(20 lines in all)" in error.message


def test_columns_are_chosen_notes_ignored_and_unknown_columns_refused(beads):
    def edit(rows):
        rows[0].append("notes")
        for row in rows[1:]:
            row.append("blurry" if len(row) % 2 else "")

    rewrite_table(beads, edit)
    dataset = discover_table("regression", beads)
    assert dataset.columns == ["x", "y"] and dataset.ignored == ["notes"]
    assert any("'notes'" in f.message and f.level == "info" for f in check_table(dataset).findings)
    assert discover_table("regression", beads, ["y"]).columns == ["y"]
    with pytest.raises(UserError, match="has no column 'z'") as caught:
        discover_table("regression", beads, ["z"])
    assert "'x', 'y', 'notes'" in caught.value.fix


def test_a_column_with_one_value_everywhere_cannot_be_learnt(beads):
    rewrite_table(beads, lambda rows: [row.__setitem__(2, "7") for row in rows[1:]])
    (error,) = errors_of(beads)
    assert "'y' has the same value (7) for every image" in error.message


def test_layout_mistakes_are_explained(tmp_path, beads):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="has no 'images' sub-folder"):
        discover_table("regression", tmp_path / "empty")
    (beads / "targets.csv").rename(beads / "labels.csv")
    with pytest.raises(UserError, match="no targets.csv. It has a labels.csv, which is the layout of multi-label"):
        discover_table("regression", beads)
    (beads / "labels.csv").write_text("name,x\nbead_001.png,3\n", encoding="utf-8")
    (beads / "labels.csv").rename(beads / "targets.csv")
    with pytest.raises(UserError, match="has no 'filename' column"):
        discover_table("regression", beads)


def test_excel_semicolons_and_decimal_commas_are_read(beads):
    path = beads / "targets.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line.replace(",", ";").replace(".", ",").replace(",png", ".png")
                              for line in lines) + "\n", encoding="utf-8-sig")
    dataset = discover_table("regression", beads)
    assert len(dataset.samples) == 40 and check_table(dataset).ok
    assert parse_number("12,5", ";") == 12.5 and parse_number("12,5", ",") is None


# ---------------------------------------------------------------- metrics


def test_metrics_against_hand_computed_values():
    y_true = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    y_pred = np.array([[1.5, 10.0], [2.0, 22.0], [2.5, 30.0], [4.0, 38.0]])
    result = regression_metrics(y_true, y_pred, ["a", "b"], training_mean=[2.5, 25.0])
    a, b = result["metrics"]["per_target"]["a"], result["metrics"]["per_target"]["b"]
    assert a["mae"] == pytest.approx(0.25) and b["mae"] == pytest.approx(1.0)
    assert a["rmse"] == pytest.approx(np.sqrt(0.125))
    assert a["r2"] == pytest.approx(1 - 0.5 / 5.0)
    assert a["baseline_mae"] == pytest.approx(1.0) and b["baseline_mae"] == pytest.approx(10.0)
    assert a["baseline_r2"] == pytest.approx(0.0)
    assert result["metrics"]["mae"] == pytest.approx(0.625)
    assert r2(np.ones(5), np.zeros(5)) != r2(np.ones(5), np.zeros(5))  # undefined (nan) when all truths are equal
    worse = regression_metrics(y_true, np.full_like(y_true, 100.0), ["a", "b"], [2.5, 25.0])
    assert any("no better than always answering the training mean" in w for w in worse["warnings"])


# ---------------------------------------------------------------- a real training


def train_settings(folder, **changes):
    settings = settings_io.defaults_for("regression")
    settings.data.folder = str(folder)
    settings.data.image_size = [16, 16]
    settings.model.filters = [8, 16]
    settings.model.head_units = [16]
    settings.training.epochs = 4
    settings.training.batch_size = 8
    settings.training.learning_rate = 0.003
    # no flip probe (test_auto_geometry.py has its own tests): what it would decide for x, y costs seconds a run
    settings.augmentation.geometric = "no"
    for key, value in changes.items():
        settings_io.apply_override(settings, key, value)
    return settings


@pytest.mark.slow
def test_training_standardises_targets_and_reports_in_their_units(tmp_path):
    from petrilab.prediction.predict_folder import predict_folder
    from petrilab.training.trainer import train

    beads = make_regression_demo(tmp_path / "many", n_images=160, size=16, seed=5)
    run = train(train_settings(beads, **{"training.epochs": 15}), runs_dir=tmp_path / "runs", echo=False)
    saved = settings_io.load(run / runs.SETTINGS)
    assert saved.data.target_columns == ["x", "y"]
    # the mean and spread come from the training images only
    from petrilab.data.split import load_split

    split, _ = load_split(run / runs.SPLIT)
    dataset = discover_table("regression", beads)
    values = {s.path: s.values for s in dataset.samples}
    train_values = np.array([values[s.path] for s in split.subset("train")])
    assert saved.data.target_mean == pytest.approx(train_values.mean(axis=0).tolist())
    assert saved.data.target_std == pytest.approx(train_values.std(axis=0).tolist())

    events = read_all(run / runs.EVENTS)
    started = next(e for e in events if e["event"] == "started")
    assert started["main_metric"] == "mae" and started["task"] == "regression"
    epoch = [e for e in events if e["event"] == "epoch_end"][-1]["metrics"]
    assert {"loss", "val_loss", "mae", "val_mae"} <= set(epoch)
    # 'mae' is in pixels: the same order as the spread of the positions, never the standardised scale
    assert 0.05 < epoch["val_mae"] < 3 * max(saved.data.target_std)

    evaluation = json.loads((run / runs.EVALUATION).read_text())
    assert evaluation["task"] == "regression" and evaluation["targets"] == ["x", "y"]
    x = evaluation["metrics"]["per_target"]["x"]
    assert {"mae", "rmse", "r2", "baseline_mae", "baseline_rmse", "baseline_r2"} <= set(x)
    # a real model, not the mean: clearly below the baseline for both coordinates
    for value in evaluation["metrics"]["per_target"].values():
        assert value["mae"] < 0.6 * value["baseline_mae"], evaluation["metrics"]
    with open(run / "test_predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["file", "true_x", "predicted_x", "error_x", "true_y", "predicted_y", "error_y"]
    assert len(rows) == evaluation["n_images"]
    predicted = np.array([float(r["predicted_x"]) for r in rows])
    assert abs(predicted.mean() - saved.data.target_mean[0]) < 3 * saved.data.target_std[0]  # in pixels, not z
    assert "Mean absolute error" in (run / runs.REPORT).read_text()

    out = predict_folder(run, beads / "images", tmp_path / "out")
    with open(out, newline="") as f:
        predictions = list(csv.DictReader(f))
    assert list(predictions[0]) == ["file", "x", "y", "problem"] and len(predictions) == 160
    assert all(6 * 16 / 32 - 3 < float(p["x"]) < 16 for p in predictions)


@pytest.mark.slow
def test_resume_loads_the_metric_in_units(beads, tmp_path):
    from petrilab.training.trainer import train

    run = train(train_settings(beads, **{"training.epochs": 1}), runs_dir=tmp_path / "runs", echo=False)
    settings = settings_io.load(run / runs.SETTINGS)
    settings.training.epochs = 2
    train(settings, resume=run, echo=False)
    history = runs.read_history(run / runs.HISTORY)
    assert len(history) == 2 and all(np.isfinite(h["val_mae"]) for h in history)


@pytest.mark.parametrize("edit, words", [
    (lambda rows: rows[5].__setitem__(2, "about 12"), "column 'y' holds text instead of a number on line 6"),
    (lambda rows: rows[2].__setitem__(1, "nan"), "column 'x' holds a value that is not a finite number on line 3"),
    (lambda rows: rows.pop(7), "have no line in targets.csv: 'bead_007.png'"),
])
def test_training_on_bad_targets_stops_with_a_plain_message(beads, tmp_path, edit, words):
    from petrilab.training.trainer import train

    rewrite_table(beads, edit)
    with pytest.raises(UserError) as caught:
        train(train_settings(beads), run_dir=tmp_path / "run", echo=False)
    assert words in caught.value.message and caught.value.file == str(beads / "targets.csv")
    error = next(e for e in read_all(tmp_path / "run" / runs.EVENTS) if e["event"] == "error")
    assert words in error["message"] and error["file"].endswith("targets.csv") and error["fix"]
    assert not (tmp_path / "run" / runs.BEST_MODEL).exists()


def test_command_line_check_and_init(beads, tmp_path, capsys):
    assert cli_main(["check", str(beads), "--task", "regression"]) == 0
    assert "x: " in capsys.readouterr().out
    settings_path = tmp_path / "settings.toml"
    assert cli_main(["init", "--task", "regression", "--data", str(beads), "-o", str(settings_path)]) == 0
    settings = settings_io.load(settings_path)
    assert settings.task.kind == "regression" and settings.training.loss == "mse"
    # flips and turns are on, with what they do to x and y left to the window's question or the probe
    assert settings.augmentation.geometric == "auto" and settings.data.target_kinds == {}
    rewrite_table(beads, lambda rows: rows[3].__setitem__(1, "x?"))
    assert cli_main(["check", str(beads), "--task", "regression"]) == 2
    assert "line 4 ('x?')" in capsys.readouterr().out


def test_geometric_augmentation_on_positions_is_warned_about():
    from petrilab.tasks import task_warnings

    settings = settings_io.defaults_for("regression")
    assert task_warnings(settings) == []
    settings.data.target_kinds = {"x": "position_x", "y": "position_y"}
    assert task_warnings(settings) == []  # flips and turns move the positions with the image
    settings.augmentation.rotation = 20.0
    (warning,) = task_warnings(settings)
    assert "Rotations are not used" in warning and "'x'" in warning
    settings.augmentation.geometric = "no"
    assert task_warnings(settings) == []
    assert task_warnings(settings_io.defaults_for("classification")) == []


def test_wrong_loss_for_regression_is_refused():
    from petrilab.recipes import get_recipe

    settings = settings_io.defaults_for("regression")
    settings.data.target_columns = ["x"]
    settings.training.loss = "categorical_crossentropy"
    with pytest.raises(UserError, match="regression learns numbers with mse, mae or huber"):
        get_recipe("regression").head(settings)


def test_metric_in_units_matches_numpy():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from petrilab.tasks.regression.keras_metrics import MeanAbsoluteErrorInUnits

    metric = MeanAbsoluteErrorInUnits([2.0, 10.0])
    y_true = np.array([[0.0, 0.0], [1.0, -1.0]], np.float32)
    y_pred = np.array([[0.5, 0.1], [1.0, -1.5]], np.float32)
    metric.update_state(y_true, y_pred)
    expected = np.mean(np.abs(y_true - y_pred) * [2.0, 10.0], axis=1).mean()
    assert float(metric.result()) == pytest.approx(expected)
    again = MeanAbsoluteErrorInUnits.from_config(metric.get_config())
    assert again.scales == [2.0, 10.0] and again.name == "mae"


def test_the_bundled_bead_demo_is_ready_to_train():
    from petrilab.resources import demo_data

    dataset = discover_table("regression", demo_data("regression"))
    report = check_table(dataset)
    assert report.ok and report.n_images == 1000 and dataset.columns == ["x", "y"]
    assert report.proposals["data.image_size"] == [32, 32]
    # sub-pixel positions, at least 6 pixels from every edge
    values = dataset.values()
    assert values.min() >= 6 and values.max() <= 25 and np.any(values % 1 != 0)


def test_a_test_folder_with_other_columns_is_refused_in_table_words(beads, tmp_path):
    other = make_regression_demo(tmp_path / "other", n_images=12, size=16, seed=9)
    rewrite_table(other, lambda rows: rows[0].__setitem__(2, "z"))
    with pytest.raises(UserError) as caught:
        make_split(discover_table("regression", beads), settings_io.defaults_for("regression").split,
                   test_dataset=discover_table("regression", other))
    assert caught.value.message == "The test folder's table has the columns x, z; the training folder's has x, y."
    assert caught.value.file == str(other / "targets.csv")
