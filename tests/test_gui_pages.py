"""The main window and the first four wizard pages (Task, Data, Split, Model), driven as a user would."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QEvent, QSettings  # noqa: E402
from PySide6.QtGui import QFocusEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from petrilab import settings as settings_io  # noqa: E402
from petrilab.gui import steps  # noqa: E402
from petrilab.gui.context import AppContext  # noqa: E402
from petrilab.gui.widgets.setting_controls import (_AutoFloat, _Bool, _Choice, _Float, _ImageSize, _Int,  # noqa: E402
                                                  _IntList)
from petrilab.gui.widgets.setting_controls import _ModelPath, form_label  # noqa: E402
from petrilab.gui.workers import display_uint8  # noqa: E402
from petrilab.settings import DECLARED  # noqa: E402
from petrilab.tasks import TASKS  # noqa: E402

from helpers import main_window  # noqa: E402

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


def all_settings_keys() -> set[str]:
    s = settings_io.Settings()
    return {"name"} | {f"{section}.{f.name}" for section in settings_io.SECTIONS
                       for f in dataclasses.fields(getattr(s, section))}


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path):
    """Recent experiments go to tmp_path, never to the user's own settings."""
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


@pytest.fixture
def window(qtbot, tmp_path):
    with main_window(tmp_path, model_helper=False) as w:
        yield w


@pytest.fixture
def window_with_model_helper(qtbot, tmp_path):
    """The window with its real model helper, for the tests that read the helper's answers."""
    with main_window(tmp_path) as w:
        yield w


def checked(qtbot, window, folder) -> None:
    window.pages["data"].set_folder(folder)
    qtbot.waitUntil(lambda: window.pages["data"].checked is not None or window.pages["data"].error is not None,
                    timeout=10_000)


# ---------------------------------------------------------------- no Qt needed


def test_help_explains_every_setting_in_a_few_sentences():
    assert set(DECLARED) == all_settings_keys()  # every field declares its label and help
    for key, declared in DECLARED.items():
        label, text = declared.label, declared.help
        assert label and text, key
        sentences = [s for s in text.replace("e.g.", "eg").split(". ") if s.strip()]
        assert 1 <= len(sentences) <= 4, (key, text)
    for word in ("learning rate", "batch", "epoch", "dropout", "augment", "optimizer", "normalis", "validation"):
        assert any(word in (d.label + d.help).lower() for d in DECLARED.values()), word


def test_steps_open_in_order_and_evaluate_needs_a_run():
    nothing = steps.reachable(steps.Progress())
    assert nothing["task"] and nothing["runs"]
    assert not nothing["data"] and not nothing["train"] and not nothing["evaluate"]
    after_data = steps.reachable(steps.Progress(complete=frozenset({"task", "data"})))
    assert after_data["split"] and not after_data["model"]
    everything = steps.reachable(steps.Progress(complete=frozenset({"task", "data", "split", "model"})))
    assert everything["train"] and not everything["predict"]
    assert steps.reachable(steps.Progress(has_run=True))["evaluate"]
    assert steps.SEQUENCE == ("task", "data", "split", "model", "train", "evaluate", "predict")
    assert steps.next_key("model") == "train" and steps.previous_key("task") is None
    assert steps.next_key("runs") is None


def test_display_scales_16_bit_images_to_8_bit():
    image = np.zeros((10, 12, 1), dtype=np.uint16)
    image[5:, :, 0] = 4000
    shown = display_uint8(image)
    assert shown.dtype == np.uint8 and shown.shape == (10, 12)
    assert shown.min() == 0 and shown.max() == 255


@pytest.mark.slow
def test_window_starts_without_tensorflow_or_keras(tmp_path):
    # in its own process: other tests in this session may have imported TensorFlow already
    code = (
        "import os, sys\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from petrilab.gui.app import create_application\n"
        "from petrilab.gui.main_window import MainWindow\n"
        "app = create_application(['x'])\n"
        "w = MainWindow(); w.show(); app.processEvents()\n"
        "print([m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules])\n"
    )
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


# ---------------------------------------------------------------- the window


def test_a_runs_settings_open_as_the_users_choices_and_never_overwrite_the_run(window, tmp_path):
    asked = settings_io.defaults_for("classification")
    asked.name, asked.data.folder = "cells", str(tmp_path)
    ran = asked.copy()
    ran.data.channels, ran.data.classes, ran.training.learning_rate = 3, ["a", "b"], 0.002
    settings_io.note_learnt(ran, asked)
    run_file = settings_io.save(ran, tmp_path / "run" / "settings.toml")
    written = run_file.read_bytes()

    assert window.load_experiment(run_file)
    shown = window.context.settings
    assert (shown.data.channels, shown.data.classes, shown.training.learning_rate) == (0, [], "auto")
    assert shown.asked == {} and window.context.settings_path is None  # Save asks for a new file
    assert "learnt" in window.statusBar().currentMessage()
    window.pages["model"].enter_controls()
    assert window.pages["model"].controls["training.learning_rate"].auto.isChecked()  # "auto", not 0.002
    assert run_file.read_bytes() == written


@pytest.mark.slow
def test_window_opens_an_experiment_and_gates_the_steps(qtbot, window, tiny_classification_dir, tmp_path):
    settings = settings_io.defaults_for("classification")
    settings.name = "cells"
    settings.data.folder = str(tiny_classification_dir)
    path = settings_io.save(settings, tmp_path / "cells.toml")

    assert window.load_experiment(path)
    assert "cells" in window.windowTitle() and "cells.toml" in window.windowTitle()
    assert "*" not in window.windowTitle()
    assert window.recent()[0] == str(path.resolve())
    # the data is checked in the background; until then the later steps stay closed
    qtbot.waitUntil(lambda: window.pages["data"].checked is not None, timeout=10_000)
    qtbot.waitUntil(lambda: steps.reachable(window.progress())["model"], timeout=5_000)
    assert not steps.reachable(window.progress())["evaluate"]  # no run yet
    assert window.go_to("model")
    assert window.current_key == "model"

    window.pages["task"].name_edit.setText("cells-2")
    window.pages["task"].name_edit.textEdited.emit("cells-2")
    assert window.context.settings.name == "cells-2"
    assert window.windowTitle().startswith("cells-2") and "*" in window.windowTitle()
    assert window.save_to(tmp_path / "saved.toml")
    assert "*" not in window.windowTitle() and "saved.toml" in window.windowTitle()
    assert settings_io.load(tmp_path / "saved.toml").name == "cells-2"


def test_next_is_refused_with_a_reason_until_the_folder_is_good(qtbot, window, tiny_classification_dir):
    window.go_next()
    assert window.current_key == "data"
    assert not window.next_button.isEnabled()
    assert "Choose the folder" in window.problem_label.text()
    assert not window.go_to("split")  # the step list refuses it too

    checked(qtbot, window, tiny_classification_dir)
    qtbot.waitUntil(window.next_button.isEnabled, timeout=5_000)
    assert window.problem_label.text() == ""
    window.go_next()
    assert window.current_key == "split"
    window.go_back()
    assert window.current_key == "data"


def test_a_bad_folder_is_explained_on_the_page(qtbot, window, tmp_path):
    window.go_to("data", force=True)
    page = window.pages["data"]
    checked(qtbot, window, tmp_path / "no-such-folder")
    assert page.error is not None
    assert page.error_card.isVisibleTo(page)
    assert "does not exist" in page.error_text.text()
    assert not window.next_button.isEnabled() and "cannot be used" in window.problem_label.text()
    assert window.last_message is None  # no dialog storm

    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "a.png").write_bytes(b"not really")
    checked(qtbot, window, loose)
    qtbot.waitUntil(lambda: "class" in page.error_text.text(), timeout=5_000)


def test_opening_a_broken_settings_file_shows_its_message(window, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[training]\nepochs = 'many'\n", encoding="utf-8")
    assert not window.load_experiment(broken)
    box = window.last_message
    assert box is not None and box.isVisible()
    assert "training.epochs" in box.text()
    assert "Traceback" not in box.text() + box.informativeText()
    box.close()


# ---------------------------------------------------------------- the pages


def test_task_cards_show_every_task_and_disable_the_unfinished_ones(window):
    page = window.pages["task"]
    assert set(page.cards) == set(TASKS)
    for key, card in page.cards.items():
        assert card.isEnabled() == TASKS[key].available
        assert card.isChecked() == (key == "classification")
    for unavailable in [k for k, t in TASKS.items() if not t.available][:1]:  # none once every task is built
        page.cards[unavailable].click()  # disabled: nothing happens
        assert window.context.settings.task.kind == "classification"
    assert page.problem() is None


def test_data_page_shows_counts_findings_and_thumbnails(qtbot, window, tiny_classification_dir):
    window.go_to("data", force=True)
    page = window.pages["data"]
    checked(qtbot, window, tiny_classification_dir)
    report = page.checked.report
    assert page.chart.names == report.classes and page.chart.counts == [8, 8, 8]
    assert "24 in 3 classes" in page.summary_fields["Images"].text()
    assert "32 × 32" in page.summary_fields["Image sizes"].text()
    assert "grey" in page.summary_fields["Channels"].text()
    assert "8-bit" in page.summary_fields["Bit depth"].text()
    levels = [row.property("level") for row in page.findings_card.rows]
    assert "warning" in levels  # 8 images per class is few
    qtbot.waitUntil(lambda: page.thumbnails.loaded == 24, timeout=10_000)
    assert all(label.pixmap() is not None and not label.pixmap().isNull()
               for labels in page.thumbnails.slots.values() for label in labels)

    # a proposal applies its setting
    assert "data.image_size" in report.proposals
    window.context.settings.data.image_size = [64, 64]
    page._show_proposals()
    page.proposals_card.buttons["data.image_size"].click()
    assert window.context.settings.data.image_size == report.proposals["data.image_size"]
    assert not page.proposals_card.buttons["data.image_size"].isEnabled()


def test_split_table_counts_add_up_and_follow_the_controls(qtbot, window, tiny_classification_dir):
    checked(qtbot, window, tiny_classification_dir)
    window.go_to("split", force=True)
    page = window.pages["split"]
    table = page.table
    assert page.split is not None
    last = table.rowCount() - 1
    assert table.item(last, 0).text() == "All classes"
    assert int(table.item(last, 4).text()) == 24
    per_subset = [int(table.item(last, c).text().split()[0]) for c in (1, 2, 3)]
    assert sum(per_subset) == 24
    for r in range(last):
        assert sum(int(table.item(r, c).text().split()[0]) for c in (1, 2, 3)) == int(table.item(r, 4).text())

    page.validation.spin.setValue(40)
    assert window.context.settings.split.validation_fraction == pytest.approx(0.40)
    assert int(page.table.item(last, 2).text().split()[0]) > per_subset[1]
    page.test.spin.setValue(0)
    assert window.context.settings.split.test_fraction == 0.0
    assert int(page.table.item(last, 3).text().split()[0]) == 0
    page.seed.setValue(7)
    assert window.context.settings.split.seed == 7
    page.stratify.setChecked(False)
    assert window.context.settings.split.stratify is False
    assert page.problem() is None


def test_the_model_page_controls_show_what_each_setting_declares(window):
    """Label, help, choices (in their words) and range come from the field's declaration, nowhere else."""
    page = window.pages["model"]
    page.enter_controls()
    for key, control in page.controls.items():
        declared = DECLARED[key]
        assert declared.help in control.widget.toolTip(), key
        if isinstance(control, _Bool):
            assert control.widget.text() == declared.label
        else:
            assert form_label(key, control) == declared.label + ":"
        if isinstance(control, _Choice):
            combo = control.widget
            offered = tuple(combo.itemData(i) for i in range(combo.count()))
            assert offered == (declared.suggestions or declared.choices), key
            assert [combo.itemText(i) for i in range(combo.count())] == [
                str(declared.words.get(c, c)) for c in offered], key
        elif isinstance(control, (_Int, _Float, _AutoFloat)):
            spin = control.number.widget if isinstance(control, _AutoFloat) else control.widget
            digits = spin.decimals() if isinstance(control, (_Float, _AutoFloat)) else 0  # 1e-8 shows as 0
            assert (spin.minimum(), spin.maximum()) == (round(declared.minimum, digits), declared.maximum), key
    assert DECLARED["training.optimizer"].words["momentum"] in [
        page.controls["training.optimizer"].widget.itemText(i) for i in range(4)]


def test_every_model_page_control_writes_exactly_its_key(window):
    page = window.pages["model"]
    settings = window.context.settings
    page.enter_controls()
    keys = set(page.controls)
    assert {k for k in all_settings_keys() if k.startswith(("training.", "augmentation.", "model."))} - keys \
        == {"model.architecture", "training.decided_automatically"}  # chosen with the architecture cards; a record
    for key, control in page.controls.items():
        before = settings_io.get_value(settings, key)
        others = {k: settings_io.get_value(settings, k) for k in keys if k != key}
        widget = control.widget
        if isinstance(control, _Bool):
            widget.setChecked(not before)
            expected = not before
        elif isinstance(control, _Choice):
            index = next(i for i in range(widget.count()) if widget.itemData(i) != before)
            widget.setCurrentIndex(index)
            expected = widget.itemData(index)
        elif isinstance(control, _Int):
            expected = before + 1 if before < widget.maximum() else before - 1
            widget.setValue(expected)
        elif isinstance(control, _Float):
            expected = round(before + widget.singleStep(), widget.decimals())
            widget.setValue(expected)
        elif isinstance(control, _AutoFloat):  # "auto" (new experiments) → the number shown, and back
            control.auto.setChecked(False)
            assert settings_io.get_value(settings, key) == pytest.approx(control.number.widget.value()), key
            control.number.widget.setValue(0.0042)
            expected = 0.0042
        elif isinstance(control, _IntList):
            expected = [8, 4] if before != [8, 4] else [4]
            widget.setText(", ".join(map(str, expected)))
        elif isinstance(control, _ImageSize):
            expected = [before[0] + 8, before[1]]
            control.height.setValue(expected[0])
        elif isinstance(control, _ModelPath):
            expected = "" if before else "/lab/runs/first-run"
            control.edit.setText(expected)
            control.edit.editingFinished.emit()
        else:
            raise AssertionError(f"untested control for {key}")
        value = settings_io.get_value(settings, key)
        assert value == pytest.approx(expected) if isinstance(expected, float) else value == expected, key
        assert {k: settings_io.get_value(settings, k) for k in keys if k != key} == others, key
        assert widget.toolTip() and DECLARED[key].label in widget.toolTip()

    page.choose_architecture("dense")
    assert settings.model.architecture == "dense"
    # the help panel explains the control the user is on
    target = page.controls["training.learning_rate"].widget
    QApplication.sendEvent(target, QFocusEvent(QEvent.FocusIn))
    assert page.help_panel.current_key == "training.learning_rate"
    assert "step" in page.help_panel.body.text()


@pytest.mark.slow
def test_model_page_shows_the_parameter_count_from_the_engine(qtbot, window_with_model_helper,
                                                              tiny_classification_dir):
    window = window_with_model_helper
    checked(qtbot, window, tiny_classification_dir)
    qtbot.waitUntil(lambda: steps.reachable(window.progress())["model"], timeout=5_000)
    assert window.go_to("model")
    page = window.pages["model"]
    qtbot.waitUntil(lambda: page.description is not None or page.helper_note is not None, timeout=45_000)
    assert page.helper_note is None, page.helper_note
    first = page.description["total"]
    assert first > 0 and page.count_label.text() == f"{first:,} parameters"
    assert page.layer_table.rowCount() == len(page.description["layers"]) > 3
    assert page.layer_table.item(0, 1).text() == "64 × 64 × 1"  # the input: image size × grey
    assert page.catalogue and "convnet" in page.catalogue
    # only the settings the architecture uses are shown
    assert "model.dense_layers" not in page.visible_keys() and "model.filters" in page.visible_keys()

    page.controls["model.filters"].widget.setText("8, 16")
    qtbot.waitUntil(lambda: page.description is not None and page.description["total"] != first, timeout=15_000)
    assert page.description["total"] < first
    assert window.context.settings.model.filters == [8, 16]
    page.choose_architecture("dense")
    assert "model.dense_layers" in page.visible_keys() and "model.filters" not in page.visible_keys()


def test_demo_experiment_points_at_the_bundled_images_and_is_kept(tmp_path):
    from petrilab.gui.app import prepare_demo

    path = prepare_demo(tmp_path / "demo")
    settings = settings_io.load(path)
    assert settings.name == "demo" and Path(settings.data.folder).is_dir()
    # init's defaults: early stopping decides how long (epochs is the cap), a range test the learning rate
    assert settings.training.early_stopping and settings.training.epochs == settings_io.Settings().training.epochs
    assert settings.training.learning_rate == "auto"
    settings.training.epochs = 3  # the user changed the demo: starting the demo again keeps it
    settings_io.save(settings, path)
    assert prepare_demo(tmp_path / "demo") == path
    assert settings_io.load(path).training.epochs == 3


def test_a_separate_test_folder_is_checked_and_becomes_the_test_set(qtbot, window, tiny_classification_dir,
                                                                     tmp_path):
    from petrilab.demo import make_classification_demo

    test_dir = make_classification_demo(tmp_path / "test-data", n_per_class=5, size=32, seed=9)
    window.context.set_value("data.test_folder", str(test_dir))
    checked(qtbot, window, tiny_classification_dir)
    page = window.pages["data"]
    assert page.checked.test_report is not None
    assert page.summary_fields["Test folder"].text().startswith("15 images")
    window.go_to("split", force=True)
    split = window.pages["split"]
    assert not split.test.isEnabled() and "separate test folder" in split.test_note.text()
    last = split.table.rowCount() - 1
    assert int(split.table.item(last, 3).text().split()[0]) == 15  # the whole test folder
    assert int(split.table.item(last, 4).text()) == 24 + 15


def test_model_page_says_so_plainly_when_the_model_helper_cannot_run(qtbot, tmp_path):
    from petrilab.gui.pages.model_page import ModelPage
    from petrilab.gui.workers import ModelDescriber

    context = AppContext(runs_dir=tmp_path / "runs")
    describer = ModelDescriber(command=[str(tmp_path / "no-such-program")])
    page = ModelPage(context, describer=describer)
    qtbot.addWidget(page)
    page.enter()
    qtbot.waitUntil(lambda: page.helper_note is not None, timeout=5_000)
    assert "cannot be shown" in page.status_label.text()
    assert page.count_label.text() == "—"
    assert page.problem() is None  # training does not need the count
    # without the catalogue every network setting stays available
    assert "model.filters" in page.visible_keys() and "model.dense_layers" in page.visible_keys()
