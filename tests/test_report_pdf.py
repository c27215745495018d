"""`petrilab report RUN --pdf`: report.pdf says what report.html says, for every task.

The PDF is read back with pypdf: its pages, its words and numbers (settings, split, curves'
titles, verdict, test scores, confusion matrix, versions, seeds) and its pictures."""

from __future__ import annotations

import csv
import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from petrilab import runs  # noqa: E402
from petrilab import settings as settings_io  # noqa: E402
from petrilab.cli import main  # noqa: E402
from petrilab.errors import UserError  # noqa: E402

pytest.importorskip("fpdf")
pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF back (pip install pypdf: the 'test' extra)")


def pdf_text(path) -> tuple[int, str, int]:
    """(pages, text of every page, pictures) of a PDF."""
    reader = pypdf.PdfReader(str(path))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split()), sum(len(page.images) for page in reader.pages)


@pytest.mark.slow
def test_classification_pdf_holds_the_report(finished_run, tmp_path, capsys):
    run = finished_run("classification").run  # training seed 7, the split's 42

    assert main(["report", str(run), "--pdf"]) == 0
    assert "report.pdf" in capsys.readouterr().out
    pages, text, _ = pdf_text(run / "report.pdf")
    assert pages >= 2
    evaluation = json.loads((run / runs.EVALUATION).read_text())
    diagnosis = json.loads((run / runs.DIAGNOSIS).read_text())
    import keras

    for words in ("Image classification", "Dataset", "Split", "Training curves", "Loss", "Accuracy",
                  f"Diagnosis: {diagnosis['title']}", "Evidence:", "Confusion matrix", "Settings", "Software",
                  f"keras {keras.__version__}", "Seeds (split / training) 42 / 7", 'kind = "classification"',
                  f"accuracy {evaluation['metrics']['accuracy']:.3f}", "elongated", "fragmented", "round"):
        assert words in text, words
    # the split table: per class, train / validation / test counts as in split.csv
    with open(run / runs.SPLIT, newline="", encoding="utf-8-sig") as f:
        split = list(csv.DictReader(f))
    total = [sum(1 for r in split if r["subset"] == subset) for subset in ("train", "validation", "test")]
    assert f"total {total[0]} {total[1]} {total[2]}" in text
    # the confusion matrix's first row, as numbers
    first = evaluation["confusion_matrix"][0]
    assert f"{evaluation['classes'][0]} " + " ".join(map(str, first)) in text

    # -o: somewhere else; without --pdf, -o is refused
    assert main(["report", str(run), "--pdf", "-o", str(tmp_path / "for-the-notebook.pdf")]) == 0
    assert pdf_text(tmp_path / "for-the-notebook.pdf")[0] == pages
    assert main(["report", str(run), "-o", str(tmp_path / "x.pdf")]) == 2  # a user mistake
    assert "--pdf" in capsys.readouterr().err


def _run_folder(tmp_path, name, task, evaluation, history=True):
    run = tmp_path / name
    run.mkdir()
    settings_io.save(settings_io.defaults_for(task), run / runs.SETTINGS)
    runs.atomic_write_json(run / runs.EVALUATION, {"task": task, "source": "test split", "warnings": [],
                                                   **evaluation})
    if history:
        (run / runs.HISTORY).write_text("epoch,loss,val_loss,iou,val_iou,mae,val_mae\n"
                                        "0,0.9,1.0,0.2,0.25,0.8,0.9\n1,0.5,0.6,0.5,0.45,0.5,0.6\n")
    return run


@pytest.mark.slow
def test_every_task_writes_its_scores_into_the_pdf(tmp_path):
    from petrilab.export.pdf import write_pdf

    labels = {"nucleus": {"threshold": 0.4, "precision": 0.9, "recall": 0.8, "f1": 0.85, "auc": 0.95, "support": 7},
              "spots": {"threshold": 0.6, "precision": 0.5, "recall": 0.4, "f1": 0.44, "auc": 0.7, "support": 3}}
    run = _run_folder(tmp_path, "ml", "multilabel", {
        "n_images": 10, "classes": list(labels),
        "metrics": {"exact_match": 0.5, "hamming_loss": 0.2, "macro_f1": 0.645, "macro_auc": 0.825,
                    "per_label": labels}})
    _, text, _ = pdf_text(write_pdf(run))
    for words in ("Multi-label classification", "exact match 0.500", "macro AUC 0.825", "nucleus 0.400 0.900 0.800",
                  "F1 per label", "AUC per label"):
        assert words in text, words

    run = _run_folder(tmp_path, "reg", "regression", {
        "n_images": 3, "metrics": {"per_target": {"area": {"mae": 1.25, "rmse": 1.5, "r2": 0.75,
                                                           "baseline_mae": 4.0, "baseline_rmse": 5.0}}}})
    (run / "test_predictions.csv").write_text("file,true_area,predicted_area\na.png,1,1.5\nb.png,2,2.5\nc.png,3,2\n")
    _, text, _ = pdf_text(write_pdf(run))
    for words in ("Regression from images", "area 1.2500 1.5000 0.750 4.0000 5.0000", "area: predicted vs true",
                  "Baseline: always answering"):
        assert words in text, words

    for task in ("semantic", "instance"):
        metrics = {"iou": 0.7, "dice": 0.82, "pixel_accuracy": 0.95,
                   "per_class": {"cells": {"iou": 0.7, "dice": 0.82, "precision": 0.9, "recall": 0.75}}}
        if task == "instance":
            metrics.update(object_f1=0.66, average_precision=0.61)
        run = _run_folder(tmp_path, task, task, {"n_images": 1, "classes": ["background", "cells"],
                                                 "metrics": metrics, "threshold": 0.45})
        _, text, _ = pdf_text(write_pdf(run))
        for words in ("IoU (foreground) 0.700", "Dice (foreground) 0.820", "cells 0.700 0.820 0.900 0.750",
                      "Foreground threshold: 0.450", "Test set (1 image, test split)", "IoU"):
            assert words in text, (task, words)
        if task == "instance":
            assert "object F1 (IoU ≥ 0.5) 0.660" in text


def test_without_a_unicode_font_the_pdf_falls_back_to_plain_letters(tmp_path, monkeypatch):
    from petrilab.export import pdf

    monkeypatch.setattr(pdf, "FONT_FILES", [])
    run = _run_folder(tmp_path, "inst", "instance", {
        "n_images": 2, "classes": ["background", "cells"],
        "metrics": {"iou": 0.7, "dice": 0.82, "object_f1": 0.5, "per_class": {}}})
    pages, text, _ = pdf_text(pdf.write_pdf(run, tmp_path / "plain.pdf"))
    assert pages >= 1 and "object F1 (IoU >= 0.5) 0.500" in text and "Instance segmentation" in text


@pytest.mark.slow
def test_segmentation_pdf_shows_example_images(finished_run):
    run = finished_run("semantic").run
    assert main(["report", str(run), "--pdf"]) == 0
    _, text, pictures = pdf_text(run / "report.pdf")
    assert "Examples from the test images" in text and "Outlines: true, predicted, both." in text
    n_test = sum(1 for line in (run / runs.SPLIT).read_text().splitlines() if ",test," in line)
    assert pictures == min(n_test, 3) > 0


def test_report_of_a_folder_that_is_no_run_is_refused(tmp_path, capsys):
    from petrilab.export.commands import cmd_report

    class Args:
        run_dir, pdf, output, events = str(tmp_path), True, None, None

    with pytest.raises(UserError, match="not a PetriLab run folder"):
        cmd_report(Args)


@pytest.mark.slow
@pytest.mark.gui
def test_save_as_pdf_writes_it_through_the_engine_and_says_why_not(qtbot, tmp_path):
    from petrilab.gui.export_dialog import ShareButtons

    run = _run_folder(tmp_path, "ml", "multilabel", {
        "n_images": 4, "classes": ["nucleus"],
        "metrics": {"exact_match": 0.75, "hamming_loss": 0.25, "macro_f1": 0.5, "macro_auc": 0.625,
                    "per_label": {"nucleus": {"threshold": 0.5, "precision": 1.0, "recall": 0.5, "f1": 0.667,
                                              "auc": 0.625, "support": 2}}}})
    share = ShareButtons()
    qtbot.addWidget(share)
    share.set_run(run)
    assert not share.pdf_action.isEnabled()  # no report yet
    (run / runs.REPORT).write_text("<html></html>", encoding="utf-8")
    share.set_run(run)
    assert share.pdf_action.isEnabled() and share.pdf_action.text() == "Save as PDF…"
    assert share.pdf_action in share.report_button.menu().actions()  # under Open report's arrow
    target = tmp_path / "notebook" / "cells.pdf"
    target.parent.mkdir()
    assert share.pdf_arguments(str(target)) == ["report", str(run), "--pdf", "-o", str(target)]
    with qtbot.waitSignal(share.pdf_saved, timeout=180_000) as saved:
        assert share.save_pdf(str(target)) is not None
        assert not share.pdf_action.isEnabled()  # one at a time
    assert saved.args == [str(target)] and "exact match 0.750" in pdf_text(target)[1]
    assert share.pdf_action.isEnabled() and share.report_button.text() == "PDF saved ✓"

    stray = tmp_path / "not-a-run"
    stray.mkdir()
    (stray / runs.REPORT).write_text("<html></html>", encoding="utf-8")
    share.set_run(stray)
    with qtbot.waitSignal(share.pdf_failed, timeout=180_000) as failed:
        share.save_pdf(str(tmp_path / "x.pdf"))
    assert "not a PetriLab run folder" in failed.args[0] and not (tmp_path / "x.pdf").exists()
