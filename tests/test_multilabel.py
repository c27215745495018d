"""Multi-label classification: labels.csv checks, metrics, thresholds tuned on validation, a real training."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.demo import MULTILABEL_DEMO_LABELS, make_multilabel_demo
from petrilab.errors import UserError
from petrilab.events import read_all
from petrilab.tasks.classification.multilabel_metrics import auc, best_threshold, multilabel_metrics
from petrilab.tasks.tables.check import check_table
from petrilab.tasks.tables.dataset import NO_LABEL, discover_table


@pytest.fixture
def cells(tmp_path):
    """60 cell images of 16 × 16 pixels, each with any of: nucleus, spots, membrane."""
    return make_multilabel_demo(tmp_path / "cells", n_images=60, size=16, seed=2)


def rewrite_table(folder, edit):
    path = folder / "labels.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    edit(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


# ---------------------------------------------------------------- the table


def test_labels_frequencies_and_rarest_label_groups(cells):
    dataset = discover_table("multilabel", cells)
    assert dataset.columns == list(MULTILABEL_DEMO_LABELS)
    assert dataset.classes == list(MULTILABEL_DEMO_LABELS) + [NO_LABEL]
    values = dataset.values()
    report = check_table(dataset)
    assert report.ok, report.findings
    for j, label in enumerate(MULTILABEL_DEMO_LABELS):
        assert report.labels[label]["positives"] == int(values[:, j].sum())
    assert sum(report.labels_per_image.values()) == 60
    assert report.labels_per_image["0"] == int((values.sum(axis=1) == 0).sum())
    # each image's group is the rarest label it carries, or the no-label group
    frequency = values.sum(axis=0)
    for sample in dataset.samples:
        present = [j for j, v in enumerate(sample.values) if v]
        expected = min(present, key=lambda j: frequency[j]) if present else len(MULTILABEL_DEMO_LABELS)
        assert sample.label == expected


def test_values_other_than_0_and_1_are_refused_with_their_lines(cells):
    def edit(rows):
        rows[3][1] = "2"
        rows[8][2] = "yes"

    rewrite_table(cells, edit)
    errors = [f for f in check_table(discover_table("multilabel", cells)).findings if f.level == "error"]
    messages = " ".join(f.message for f in errors)
    assert "column 'nucleus' holds values other than 0 and 1 on line 4 ('2')" in messages
    assert "column 'spots' holds text instead of a number on line 9 ('yes')" in messages
    assert all(f.file == str(cells / "labels.csv") for f in errors)


def test_a_label_nobody_has_and_a_missing_row_are_reported(cells):
    def edit(rows):
        for row in rows[1:]:
            row[3] = "0"
        rows.pop(5)

    rewrite_table(cells, edit)
    report = check_table(discover_table("multilabel", cells))
    assert any(f.level == "warning" and "No image has the label 'membrane'" in f.message for f in report.findings)
    assert any(f.level == "error" and "'cell_005.png'" in f.message for f in report.findings)


def test_chosen_labels_only(cells):
    dataset = discover_table("multilabel", cells, ["spots", "nucleus"])
    assert dataset.columns == ["spots", "nucleus"] and len(dataset.samples[0].values) == 2


# ---------------------------------------------------------------- metrics


def test_exact_match_hamming_loss_and_per_label_scores():
    truth = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    probs = np.array([[0.9, 0.2], [0.8, 0.4], [0.3, 0.1], [0.6, 0.7]])
    result = multilabel_metrics(truth, probs, ["a", "b"], [0.5, 0.5])
    m = result["metrics"]
    # decisions: [1,0] [1,0] [0,0] [1,1] → rows 1 and 3 fully right
    assert m["exact_match"] == pytest.approx(0.5)
    assert m["hamming_loss"] == pytest.approx(2 / 8)
    a, b = m["per_label"]["a"], m["per_label"]["b"]
    assert (a["precision"], a["recall"]) == (pytest.approx(2 / 3), 1.0)
    assert (b["precision"], b["recall"], b["f1"]) == (1.0, 0.5, pytest.approx(2 / 3))
    assert a["auc"] == 1.0 and b["auc"] == 1.0  # both labels perfectly ranked
    # with the thresholds each label needs, every decision is right
    tuned = multilabel_metrics(truth, probs, ["a", "b"], [0.7, 0.35])["metrics"]
    assert tuned["exact_match"] == 1.0 and tuned["hamming_loss"] == 0.0


def test_auc_with_ties_and_threshold_tuning():
    assert auc(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5
    assert auc(np.array([1, 1, 0, 0]), np.array([0.2, 0.9, 0.1, 0.3])) == 0.75
    assert np.isnan(auc(np.array([1, 1]), np.array([0.2, 0.3])))
    truth = np.array([1, 1, 0, 0, 0, 0], bool)
    probs = np.array([0.3, 0.25, 0.1, 0.05, 0.2, 0.02])
    threshold = best_threshold(truth, probs)
    assert 0.2 < threshold <= 0.25  # a rare, shy label needs a low threshold
    assert best_threshold(np.zeros(4, bool), np.full(4, 0.9), default=0.4) == 0.4  # no evidence: keep the default


# ---------------------------------------------------------------- a real training


def train_settings(folder, **changes):
    settings = settings_io.defaults_for("multilabel")
    settings.data.folder = str(folder)
    settings.data.image_size = [16, 16]
    settings.model.filters = [8, 16]
    settings.model.head_units = [16]
    settings.training.epochs = 6
    settings.training.batch_size = 8
    settings.training.learning_rate = 0.003
    for key, value in changes.items():
        settings_io.apply_override(settings, key, value)
    return settings


@pytest.mark.slow
def test_training_tunes_thresholds_evaluates_and_predicts(cells, tmp_path):
    from petrilab.prediction.predict_folder import predict_folder
    from petrilab.training.trainer import train

    data = make_multilabel_demo(tmp_path / "many", n_images=200, size=16, seed=4)
    run = train(train_settings(data), runs_dir=tmp_path / "runs", echo=False)
    saved = settings_io.load(run / runs.SETTINGS)
    labels = list(MULTILABEL_DEMO_LABELS)
    assert saved.data.classes == labels and saved.data.target_columns == labels
    assert len(saved.postprocess.label_thresholds) == 3
    assert all(0.05 <= t <= 0.95 for t in saved.postprocess.label_thresholds)

    events = read_all(run / runs.EVENTS)
    started = next(e for e in events if e["event"] == "started")
    assert started["main_metric"] == "auc" and started["classes"] == labels
    assert "val_auc" in [e for e in events if e["event"] == "epoch_end"][-1]["metrics"]
    tuned = next(e for e in events if e["event"] == "tuned")
    assert list(tuned["label_thresholds"]) == labels
    assert [tuned["label_thresholds"][k] for k in labels] == pytest.approx(saved.postprocess.label_thresholds)

    evaluation = json.loads((run / runs.EVALUATION).read_text())
    m = evaluation["metrics"]
    assert evaluation["task"] == "multilabel" and evaluation["targets"] == labels
    assert {"exact_match", "hamming_loss", "macro_f1", "micro_f1", "macro_auc"} <= set(m)
    print(f"multilabel: macro AUC {m['macro_auc']:.3f} against > 0.8")
    assert m["macro_auc"] > 0.8, m  # learnt from the images, far above guessing (0.5)
    assert [m["per_label"][k]["threshold"] for k in labels] == pytest.approx(saved.postprocess.label_thresholds)
    with open(run / "test_predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:7] == ["file", "correct", "true_labels", "predicted_labels", "true_nucleus", "p_nucleus",
                                 "nucleus"]
    for r in rows:
        assert r["predicted_labels"] == "; ".join(k for k in labels if r[k] == "1")
    exact = np.mean([int(r["correct"]) for r in rows])
    assert exact == pytest.approx(m["exact_match"])

    out = predict_folder(run, cells / "images", tmp_path / "out")  # images it never saw
    with open(out, newline="") as f:
        predictions = list(csv.DictReader(f))
    assert len(predictions) == 60
    assert list(predictions[0]) == ["file", "labels", "p_nucleus", "nucleus", "p_spots", "spots", "p_membrane",
                                    "membrane", "problem"]
    for p in predictions:
        for label, threshold in zip(labels, saved.postprocess.label_thresholds):
            assert int(p[label]) == int(float(p[f"p_{label}"]) >= threshold)
            assert (label in p["labels"].split("; ")) == bool(int(p[label]))


def test_fixed_threshold_when_none_were_tuned():
    from petrilab.tasks.classification.multilabel import thresholds

    settings = settings_io.defaults_for("multilabel")
    settings.data.target_columns = ["a", "b", "c"]
    settings.postprocess.threshold = 0.4
    assert thresholds(settings).tolist() == [0.4, 0.4, 0.4]
    settings.postprocess.label_thresholds = [0.2, 0.5, 0.7]
    assert thresholds(settings).tolist() == [0.2, 0.5, 0.7]


def test_bad_labels_stop_training_with_a_plain_message(cells, tmp_path):
    from petrilab.training.trainer import train

    rewrite_table(cells, lambda rows: rows[4].__setitem__(1, "0.5"))
    with pytest.raises(UserError) as caught:
        train(train_settings(cells), run_dir=tmp_path / "run", echo=False)
    assert "holds values other than 0 and 1 on line 5 ('0.5')" in caught.value.message
    assert caught.value.file == str(cells / "labels.csv")


def test_wrong_loss_is_refused():
    from petrilab.recipes import get_recipe

    settings = settings_io.defaults_for("multilabel")
    settings.training.loss = "mse"
    with pytest.raises(UserError, match="does not suit multi-label"):
        get_recipe("multilabel").head(settings)
