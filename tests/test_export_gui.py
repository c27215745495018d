"""The window's sharing buttons: Open report, and the bioimage.io export dialog (its arguments, its messages)."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from petrilab import runs  # noqa: E402
from petrilab import settings as settings_io  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture
def run_folder(tmp_path):
    run = tmp_path / "2026-01-01_120000_cells"
    settings = settings_io.defaults_for("classification")
    settings.name = "cell shapes"
    settings_io.save(settings, run / runs.SETTINGS)
    return run


def test_buttons_follow_what_the_run_has(qtbot, run_folder):
    from petrilab.gui.export_dialog import ShareButtons

    share = ShareButtons()
    qtbot.addWidget(share)
    assert not share.report_button.isEnabled() and not share.export_button.isEnabled()
    share.set_run(run_folder)
    assert not share.report_button.isEnabled() and not share.export_button.isEnabled()
    (run_folder / runs.REPORT).write_text("<html></html>", encoding="utf-8")
    (run_folder / runs.BEST_MODEL).write_bytes(b"model")
    share.set_run(run_folder)
    assert share.report_button.isEnabled() and share.export_button.isEnabled()
    assert share.report_url().toLocalFile() == str(run_folder / runs.REPORT)


def test_dialog_turns_its_fields_into_the_export_command(qtbot, run_folder, tmp_path):
    from petrilab.gui.export_dialog import ExportDialog

    dialog = ExportDialog(run_folder)
    qtbot.addWidget(dialog)
    assert dialog.name.text() == "cell shapes"
    dialog.description.setPlainText("Sorts cells by shape.")
    dialog.authors.setText("Ada Lovelace, Rosalind Franklin ,")
    dialog.licence.setCurrentText("CC0-1.0")
    dialog.citation.setText("Our paper 2026|10.1234/x")
    dialog.output.setText(str(tmp_path / "m.zip"))
    args = dialog.arguments()
    assert args[:6] == ["export", str(run_folder), "--format", "bioimageio", "-o", str(tmp_path / "m.zip")]
    pairs = list(zip(args[6::2], args[7::2]))
    assert ("--license", "CC0-1.0") in pairs and ("--description", "Sorts cells by shape.") in pairs
    assert [v for k, v in pairs if k == "--author"] == ["Ada Lovelace", "Rosalind Franklin"]
    assert ("--cite", "Our paper 2026|10.1234/x") in pairs and ("--name", "cell shapes") in pairs


def test_a_refused_export_shows_the_engines_plain_message(qtbot, run_folder, tmp_path):
    from petrilab.gui.export_dialog import ExportDialog

    # a stand-in engine that refuses the way the real one does (plain message, exit 2)
    script = ("import sys; print('PetriLab: The run has no trained model to export.\\n"
              "  What to do: Choose a run that finished at least one epoch.'); sys.exit(2)")
    dialog = ExportDialog(run_folder, command=[sys.executable, "-c", script])
    qtbot.addWidget(dialog)
    dialog.output.setText(str(tmp_path / "m.zip"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled(), timeout=15_000)
    assert "no trained model" in dialog.status.text() and "Choose a run" in dialog.status.text()
    assert "Traceback" not in dialog.status.text()


@pytest.mark.slow
def test_a_refused_export_is_explained_from_its_error_event_not_the_terminal(qtbot, run_folder, tmp_path):
    from petrilab.command_events import read_command
    from petrilab.gui.export_dialog import EXPORT_LOG, ExportDialog
    from petrilab.gui.process import events_beside

    dialog = ExportDialog(run_folder)  # the real `petrilab export`: this run has no model.keras
    qtbot.addWidget(dialog)
    dialog.output.setText(str(tmp_path / "m.zip"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled(), timeout=120_000)
    events = events_beside(run_folder / EXPORT_LOG)
    done = read_command(events)
    assert (done.command, done.status) == ("export", "failed") and "model.keras" in done.error["message"]
    (run_folder / EXPORT_LOG).write_text("", encoding="utf-8")  # the terminal text is not what the dialog reads
    dialog._finished(2, None)
    assert "no trained model" in dialog.status.text() and "Choose a run" in dialog.status.text()
    assert not (tmp_path / "m.zip").exists()


def test_evaluate_page_offers_the_report_and_the_export(qtbot, run_folder):
    from petrilab.gui.context import AppContext
    from petrilab.gui.pages.evaluate_page import EvaluatePage

    page = EvaluatePage(AppContext())
    qtbot.addWidget(page)
    assert page.share.report_button.text() == "Open report"
    assert page.share.export_button.text() == "Export for bioimage.io…"
