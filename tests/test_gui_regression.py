"""Regression and multi-label in the window: task cards, the data page's values, curves, plots and predictions."""

from __future__ import annotations

from pathlib import Path

import csv
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from petrilab import runs  # noqa: E402
from petrilab import settings as settings_io  # noqa: E402
from petrilab.demo import make_multilabel_demo, make_regression_demo  # noqa: E402
from petrilab.gui.context import AppContext  # noqa: E402
from petrilab.tasks.classification.multilabel_metrics import multilabel_metrics  # noqa: E402

from helpers import main_window  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


@pytest.fixture
def window(qtbot, tmp_path):
    with main_window(tmp_path, model_helper=False) as w:
        yield w


def check(qtbot, window, task: str, folder) -> object:
    window.pages["task"].choose(task)
    window.go_to("data", force=True)
    page = window.pages["data"]
    page.set_folder(folder)
    qtbot.waitUntil(lambda: page.checked is not None or page.error is not None, timeout=10_000)
    return page


def rewrite_table(folder, name, edit):
    path = folder / name
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    edit(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


# ---------------------------------------------------------------- task and data pages


def test_both_tasks_are_selectable_and_bring_their_defaults(window):
    page = window.pages["task"]
    assert page.cards["regression"].isEnabled() and page.cards["multilabel"].isEnabled()
    page.cards["regression"].click()
    s = window.context.settings
    assert s.task.kind == "regression" and page.problem() is None
    # flips and turns stay on: what they do to each value is asked (data.target_kinds), or a probe decides
    assert s.augmentation.geometric == "auto" and s.data.target_kinds == {} and s.training.loss == "mse"
    page.cards["multilabel"].click()
    assert s.task.kind == "multilabel" and s.augmentation.flip_horizontal and s.training.loss == "auto"


def test_data_page_shows_a_histogram_per_target_and_chooses_columns(qtbot, window, tmp_path):
    folder = make_regression_demo(tmp_path / "beads", n_images=40, size=16, seed=1)
    page = check(qtbot, window, "regression", folder)
    assert page.error is None and page.problem() is None
    panel = page.values_panel
    assert panel.isVisible() and page.chart.isHidden()
    assert page.summary_title.text() == "Values per image"
    assert "40 with 2 values (x, y)" in page.summary_fields["Images"].text()
    shown = [h for h in panel.histograms.histograms if not h.isHidden()]
    assert [h.name for h in shown] == ["x", "y"]
    report = page.checked.report
    assert list(shown[0].bars.opts["height"]) == report.targets["x"]["counts"]
    assert shown[0].mean_line.value() == pytest.approx(report.targets["x"]["mean"])
    # leaving 'y' out writes data.target_columns and checks again with x alone
    panel.checkboxes["y"].setChecked(False)
    assert window.context.settings.data.target_columns == ["x"]
    qtbot.waitUntil(lambda: page.checked is not None and page.checked.report.columns == ["x"], timeout=10_000)
    assert [h.name for h in panel.histograms.histograms if not h.isHidden()] == ["x"]
    assert panel.checkboxes["y"].isChecked() is False
    panel.checkboxes["x"].setChecked(False)  # the last one stays: something must be learnt
    assert panel.checkboxes["x"].isChecked() and window.context.settings.data.target_columns == ["x"]


def test_data_page_names_the_line_of_a_bad_value(qtbot, window, tmp_path):
    folder = make_regression_demo(tmp_path / "beads", n_images=30, size=16, seed=1)
    rewrite_table(folder, "targets.csv", lambda rows: rows[4].__setitem__(2, "n/a"))
    page = check(qtbot, window, "regression", folder)
    assert "column 'y' holds text instead of a number on line 5 ('n/a')" in page.problem()
    texts = " ".join(row.findChildren(type(page.status))[-1].text() for row in page.findings_card.rows)
    assert "line 5" in texts and "What to do" in texts


def test_data_page_shows_label_frequencies(qtbot, window, tmp_path):
    folder = make_multilabel_demo(tmp_path / "cells", n_images=50, size=16, seed=1)
    page = check(qtbot, window, "multilabel", folder)
    assert page.problem() is None
    frequencies = page.values_panel.frequencies
    assert frequencies.isVisible() and page.values_panel.histograms.isHidden()
    report = page.checked.report
    assert frequencies.chart.names == ["nucleus", "spots", "membrane"]
    assert frequencies.chart.counts == [report.labels[n]["positives"] for n in ("nucleus", "spots", "membrane")]
    assert "Labels per image" in frequencies.per_image.text()
    assert "3 labels (nucleus, spots, membrane)" in page.status.text()


def test_the_model_page_counts_one_output_per_value(qtbot, window, tmp_path):
    folder = make_regression_demo(tmp_path / "beads", n_images=30, size=16, seed=1)
    check(qtbot, window, "regression", folder)
    sent = []
    window.pages["model"].describer.request = sent.append
    window.pages["model"].request_description()
    assert sent and sent[-1]["n_classes"] == 2


# ---------------------------------------------------------------- a real run: curves, plots, predictions


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory):
    """A real (tiny) regression training by the engine, and new images predicted with it."""
    from petrilab.prediction.predict_folder import predict_folder
    from petrilab.training.trainer import train

    root = tmp_path_factory.mktemp("regression-run")
    data = make_regression_demo(root / "beads", n_images=60, size=16, seed=2)
    settings = settings_io.defaults_for("regression")
    settings.data.folder = str(data)
    settings.data.image_size = [16, 16]
    settings.model.filters = [8]
    settings.model.head_units = [16]
    settings.training.epochs = 3
    settings.training.learning_rate, settings.augmentation.geometric = 0.001, "no"  # helpers.FIXED_CHOICES
    settings.training.batch_size = 16
    run = train(settings, runs_dir=root / "runs", echo=False)
    predict_folder(run, data / "images", root / "predictions")
    return run, root / "predictions" / "predictions.csv"


@pytest.mark.slow
def test_train_page_curves_plot_the_mean_absolute_error(qtbot, regression_run):
    from petrilab.gui.widgets.curves import TrainingCurves
    from petrilab.run_state import read_run

    run, _ = regression_run
    state = read_run(run)
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.show_run(state)
    assert state.main_metric == "mae"
    assert "Mean absolute error" in curves.metric.plotItem.titleLabel.text
    xs, ys = curves.metric.curves["validation"].getData()
    assert list(xs) == [1, 2, 3] and all(np.isfinite(ys))


@pytest.mark.slow  # the module's trained run
def test_regression_plots_show_predicted_against_true(qtbot, regression_run):
    from petrilab.gui.pages.evaluate_page import read_json, read_rows
    from petrilab.gui.tasks.tables.value_results import ValueResults

    run, _ = regression_run
    evaluation = read_json(run / runs.EVALUATION)
    rows = read_rows(run / "test_predictions.csv")
    view = ValueResults()
    qtbot.addWidget(view)
    assert view.show_evaluation(evaluation, rows)
    plots = view.regression.plots
    assert view.currentWidget() is view.regression and plots.point_count() == len(rows) == evaluation["n_images"]
    true_x = sorted(float(r["true_x"]) for r in rows)
    assert sorted(plots.points.data["x"]) == pytest.approx(true_x)
    residual = {float(r["true_x"]): float(r["predicted_x"]) - float(r["true_x"]) for r in rows}
    for x, y in zip(plots.residuals.data["x"], plots.residuals.data["y"]):
        assert y == pytest.approx(residual[x])
    mean_x = evaluation["metrics"]["per_target"]["x"]["training_mean"]
    assert list(plots.baseline.getData()[1]) == pytest.approx([mean_x, mean_x])  # the baseline: a flat line
    view.regression.choose("y")
    assert sorted(plots.points.data["x"]) == pytest.approx(sorted(float(r["true_y"]) for r in rows))
    assert not view.show_evaluation({"task": "classification"}, [])


def test_label_scores_chart(qtbot):
    from petrilab.gui.tasks.tables.value_results import ValueResults

    truth = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    probs = np.array([[0.9, 0.2], [0.8, 0.4], [0.3, 0.1], [0.6, 0.7]])
    result = multilabel_metrics(truth, probs, ["nucleus", "spots"], [0.5, 0.5])
    evaluation = {"task": "multilabel", "targets": ["nucleus", "spots"], **result}
    view = ValueResults()
    qtbot.addWidget(view)
    assert view.show_evaluation(evaluation, []) and view.currentWidget() is view.labels
    assert view.labels.heights("recall") == pytest.approx([1.0, 0.5])
    assert view.labels.heights("precision") == pytest.approx([2 / 3, 1.0])


@pytest.mark.slow  # the module's trained run
def test_predict_page_shows_the_values_csv(qtbot, regression_run):
    from petrilab.gui.pages.predict_page import PredictPage

    run, predictions = regression_run
    page = PredictPage(AppContext(settings_io.defaults_for("regression")))
    qtbot.addWidget(page)
    page.show_results(predictions)
    headers = [page.table.horizontalHeaderItem(i).text() for i in range(page.table.columnCount())]
    assert headers == ["file", "x", "y"]
    assert page.table.rowCount() == 60
    assert page.summary.text().startswith("60 images · predicted x ")
    # each image with its values under it
    assert page.gallery.count() == 60
    first = page.gallery.item(0).text()
    assert first.startswith(Path(page.rows[0]["file"]).name) and "x = " in first and ", y = " in first


def test_prediction_summary_for_labels():
    from petrilab.gui.tasks.tables.value_results import prediction_summary

    columns = ["file", "labels", "p_a", "a", "p_b", "b", "problem"]
    rows = [{"file": "1.png", "a": "1", "b": "0"}, {"file": "2.png", "a": "1", "b": "1"}]
    assert prediction_summary(rows, columns) == "2 images · images given each label: a 2, b 1"
    assert prediction_summary(rows, ["file", "predicted_class", "p_a"]) is None


@pytest.mark.slow  # the module's trained run
def test_evaluate_page_shows_the_regression_plots_beside_the_baseline(qtbot, regression_run):
    from petrilab.gui.pages.evaluate_page import EvaluatePage

    run, _ = regression_run
    context = AppContext(settings_io.defaults_for("regression"), runs_dir=run.parent)
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    context.set_run(run)
    page.enter()
    assert not page.value_plots_box.isHidden() and page.value_plots_title.text() == "Predicted against true"
    assert page.value_plots.regression.plots.point_count() == page.evaluation["n_images"]
    headers = [page.per_class.horizontalHeaderItem(i).text() for i in range(page.per_class.columnCount())]
    assert {"MAE", "RMSE", "R²", "Baseline MAE", "Baseline RMSE"} <= set(headers)
    assert page.confusion_box.isHidden() and page.gallery_box.isHidden()


def test_evaluate_page_shows_label_scores_and_wrongly_labelled_images(qtbot, tmp_path):
    from petrilab.gui.pages.evaluate_page import EvaluatePage

    run = tmp_path / "runs" / "cells"
    run.mkdir(parents=True)
    settings_io.save(settings_io.defaults_for("multilabel"), run / runs.SETTINGS)
    (run / runs.BEST_MODEL).write_bytes(b"")
    labels = ["nucleus", "spots"]
    truth = np.array([[1, 0], [1, 1], [0, 0]])
    probs = np.array([[0.9, 0.2], [0.8, 0.4], [0.3, 0.1]])
    result = multilabel_metrics(truth, probs, labels, [0.5, 0.5])
    runs.atomic_write_json(run / runs.EVALUATION, {"task": "multilabel", "source": "test split", "n_images": 3,
                                                   "classes": labels, "targets": labels, **result})
    runs.atomic_write_csv(run / "test_predictions.csv",
                          ["file", "correct", "true_labels", "predicted_labels"],
                          [["a.png", 1, "nucleus", "nucleus"], ["b.png", 0, "nucleus; spots", "nucleus"],
                           ["c.png", 1, "", ""]])
    context = AppContext(settings_io.defaults_for("multilabel"), runs_dir=run.parent)
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    context.set_run(run)
    page.enter()
    assert page.value_plots.currentWidget() is page.value_plots.labels
    assert page.value_plots_title.text() == "Scores per label"
    assert page.per_class_title.text() == "Per label" and page.per_class.rowCount() == 2
    assert page.gallery.count() == 1 and page.gallery.item(0).text() == "→ nucleus\ntrue: nucleus; spots"


def test_split_page_counts_groups_of_values(qtbot, window, tmp_path):
    folder = make_regression_demo(tmp_path / "beads", n_images=40, size=16, seed=1)
    check(qtbot, window, "regression", folder)
    window.go_to("split", force=True)
    page = window.pages["split"]
    assert page.table.horizontalHeaderItem(0).text() == "Group"
    names = [page.table.item(r, 0).text() for r in range(page.table.rowCount())]
    assert names == ["x: lowest quarter", "x: second quarter", "x: third quarter", "x: highest quarter", "All images"]
    assert page.problem() is None
