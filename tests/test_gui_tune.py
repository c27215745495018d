""""Find better settings" in the window: it drives the real `petrilab tune`, shows the trials as they end and
the best, opens the best settings, and the Runs page compares the trials (offscreen, pytest-qt)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402

from petrilab import settings as settings_io  # noqa: E402
from petrilab.gui.context import AppContext  # noqa: E402

from helpers import small_settings  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def own_qsettings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


@pytest.mark.slow
def test_find_better_settings_runs_the_real_search_and_the_runs_page_compares_its_trials(
        qtbot, tiny_classification_dir, tmp_path):
    from petrilab.gui.pages.runs_page import RunsPage
    from petrilab.gui.pages.train_page import TrainPage

    settings = small_settings(tiny_classification_dir, training__epochs=2, training__batch_size=4)
    context = AppContext(settings=settings, runs_dir=tmp_path / "runs")
    page = TrainPage(context)
    qtbot.addWidget(page)
    assert page.tune_button.text() == "Find better settings…"
    dialog = page.open_tune_dialog()
    dialog.budget.setValue(2)
    dialog.trials.setValue(2)
    folder = dialog.start()
    assert folder is not None and folder.parent == tmp_path / "runs" and folder.name.endswith("_small_tune")
    assert not dialog.start_button.isEnabled() and dialog.stop_button.isEnabled()
    # the first trial appears while it trains (tuning.json is written when it starts)
    qtbot.waitUntil(lambda: dialog.table.rowCount() >= 1, timeout=120_000)
    assert dialog.table.item(0, 1).text() == "(your settings)"
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=300_000)
    dialog.refresh()
    assert dialog.table.rowCount() == 2
    assert dialog.table.horizontalHeaderItem(2).text() == "Validation accuracy"
    states = [dialog.table.item(r, 6).text() for r in range(2)]
    assert states[0] == "complete" and all(s in ("complete", "stopped early (poor)", "stopped") for s in states)
    assert dialog.best.text().startswith("Best so far:")
    assert "Search finished" in dialog.status.text()
    assert dialog.open_best_button.isEnabled()
    with qtbot.waitSignal(context.open_experiment, timeout=2_000) as opened:
        dialog.open_best_button.click()
    assert settings_io.load(opened.args[0]).data.folder == settings.data.folder

    runs_page = RunsPage(context)
    qtbot.addWidget(runs_page)
    context.runs_submitted.connect(runs_page.show_submitted)  # as the main window's Runs page does
    with qtbot.waitSignal(context.go_to_page, timeout=2_000):
        dialog.compare_button.click()
    trials = sorted(p for p in folder.iterdir() if p.name.startswith("trial_"))
    assert set(runs_page.selected_runs()) == set(trials)
    assert runs_page.comparison.isVisible() or not runs_page.isVisible()
    labels = {runs_page.followed[p].label() for p in trials}
    assert "trial 0: your settings" in labels
    runs_page.select_runs(trials[:1])
    runs_page.compare_sweep()  # "Compare its sweep" selects every trial of the tuning
    assert set(runs_page.selected_runs()) == set(trials)
    assert runs_page.comparison.rowCount() == 2


def test_the_dialog_refuses_a_runs_folder_inside_the_data(qtbot, tiny_classification_dir, tmp_path):
    from petrilab.gui.tune_dialog import TuneDialog

    from test_tune import tree_digest

    settings = small_settings(tiny_classification_dir)
    before = tree_digest(Path(tiny_classification_dir))
    context = AppContext(settings=settings, runs_dir=Path(tiny_classification_dir) / "runs")
    dialog = TuneDialog(context)
    qtbot.addWidget(dialog)
    assert dialog.start() is None
    assert "never writes into your data" in dialog.message.text()
    assert not (Path(tiny_classification_dir) / "runs").exists()
    assert tree_digest(Path(tiny_classification_dir)) == before


@pytest.mark.slow
def test_a_refused_search_is_explained_from_its_error_event_not_the_terminal(qtbot, tiny_classification_dir,
                                                                             tmp_path):
    import subprocess
    import sys

    from petrilab.command_events import read_command
    from petrilab.gui.process import events_beside
    from petrilab.gui.tune_dialog import LOG, START, TuneDialog

    folder = tmp_path / "runs" / "tuning"
    settings_io.save(small_settings(tiny_classification_dir), folder / START)
    events = events_beside(folder / LOG)
    # the command the dialog runs, refused by the engine itself (a budget of no time at all)
    done = subprocess.run([sys.executable, "-m", "petrilab", "tune", str(folder / START), "--study-dir", str(folder),
                           "--budget", "0", "--events", str(events)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "more than 0 minutes" in done.stderr
    assert read_command(events).status == "failed"
    (folder / LOG).write_text("", encoding="utf-8")  # the terminal text is not what the dialog reads
    dialog = TuneDialog(AppContext(settings=small_settings(tiny_classification_dir), runs_dir=tmp_path / "runs"))
    qtbot.addWidget(dialog)
    dialog.folder = folder
    dialog._finished(2, None)
    assert dialog.message.kind == "error" and "more than 0 minutes" in dialog.message.text()
    assert "For example --budget 30." in dialog.message.text()
