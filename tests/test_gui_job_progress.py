"""The Evaluate and Predict pages show how far their job is from its events ("Predicting: image 12 of 40…"),
with the real `petrilab evaluate` and `predict` on a real tiny run (offscreen, pytest-qt)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from petrilab import runs  # noqa: E402
from petrilab import settings as settings_io  # noqa: E402
from petrilab.events import read_all  # noqa: E402
from petrilab.gui.context import AppContext  # noqa: E402

import finished_runs  # noqa: E402

pytestmark = pytest.mark.slow  # a real (tiny) trained run; the jobs start the engine as child processes


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(run folder, data folder): a copy of the finished classification run of tests/finished_runs.py (trained
    by the command line's main in a test process; the jobs under test are real child processes)."""
    finished = finished_runs.copy_of("classification", tmp_path_factory.mktemp("progress") / "run")
    return finished.run, finished.data


def _progress_events(path: Path) -> list[tuple[int, int]]:
    return [(e["done"], e["total"]) for e in read_all(path) if e["event"] == "progress"]


def test_the_predict_page_counts_the_images_from_the_predictions_events(qtbot, trained, tmp_path):
    from petrilab.gui.pages.predict_page import PredictPage

    run, data = trained
    images = sorted(p for p in data.iterdir() if p.is_dir())[0]
    n = len([p for p in images.iterdir() if p.is_file()])
    context = AppContext(settings_io.load(run / runs.SETTINGS), runs_dir=run.parent)
    context.set_run(run)
    page = PredictPage(context)
    qtbot.addWidget(page)
    page.input_edit.setText(str(images))
    page.output_edit.setText(str(tmp_path / "out"))
    seen: list[tuple[int, int, str]] = []
    page.job_progress.changed.connect(lambda done, total: seen.append((done, total, page.job_progress.words())))
    with qtbot.waitSignal(page.engine.finished, timeout=300_000) as ended:
        assert page.predict()
    assert ended.args[0] == 0, page.engine.log_tail()
    assert _progress_events(page.engine.events_path)[-1] == (n, n)
    assert seen and seen[-1] == (n, n, f"Predicting: all {n} images done, writing the results…")
    assert all(total == n for _, total, _ in seen)
    assert page.status.text().startswith("Results saved to")  # the results replace the progress
    # how a job half-way reads, from the same state the events fill
    page.job_progress.state.apply({"event": "progress", "done": 11, "total": 40})
    assert page.job_progress.words() == "Predicting: image 12 of 40…"
    page._show_progress(11, 40)  # nothing is running: the results stay shown
    assert page.status.text().startswith("Results saved to")


def test_the_evaluate_page_counts_the_test_images_from_the_evaluations_events(qtbot, trained):
    from petrilab.gui.pages.evaluate_page import EvaluatePage

    run, _data = trained
    n_test = next(e for e in read_all(run / runs.EVENTS) if e["event"] == "started")["n_test"]
    context = AppContext(settings_io.load(run / runs.SETTINGS), runs_dir=run.parent)
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    context.set_run(run)
    page.enter()
    notes: list[str] = []
    page.job_progress.changed.connect(lambda *_: notes.append(page.job_progress.words()))
    with qtbot.waitSignal(page.engine.finished, timeout=300_000) as ended:
        page.evaluate()
        assert page.message.kind == "note"
    assert ended.args[0] == 0, page.engine.log_tail()
    assert _progress_events(page.engine.events_path)[-1] == (n_test, n_test)
    assert notes and notes[-1] == f"Evaluating: all {n_test} images done, writing the results…"
    assert page.message.kind != "note"  # the evaluation is shown, the progress note gone
