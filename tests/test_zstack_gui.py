"""The window on a folder of z-stacks: the data page checks them as stacks and proposes the 3-D U-Net; the
Model page shows the networks for the data's kind (the 3-D U-Net for stacks only)."""

from __future__ import annotations

import pytest
from helpers import main_window
from PySide6.QtCore import QSettings

from petrilab.tasks.segmentation.demo import make_segmentation_demo
from petrilab.tasks.segmentation.demo3d import example_stacks


pytestmark = pytest.mark.slow  # the Model page describes the network in an engine child process


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    """One window for the module's tests: its model helper (a child process that loads Keras) starts once. Each
    test chooses its task and folder first, so it does not depend on what the other left."""
    with main_window(tmp_path_factory.mktemp("window"), (1280, 800)) as w:
        yield w


def _checked(qtbot, window, folder):
    window.pages["task"].choose("instance")
    window.go_to("data", force=True)
    page = window.pages["data"]
    page.set_folder(folder)
    qtbot.waitUntil(lambda: page.checked is not None or page.error is not None, timeout=30_000)
    assert page.error is None, page.error and page.error.message
    return page


def _model_page(qtbot, window):
    assert window.go_to("model", force=True)
    page = window.pages["model"]
    qtbot.waitUntil(lambda: page.catalogue is not None or page.helper_note is not None, timeout=90_000)
    assert page.catalogue, page.helper_note
    page.enter_controls()
    return {key: (button.isVisible(), button.isEnabled()) for key, button in page.architecture_buttons.items()}


def test_stacks_get_the_3d_unet_and_2d_images_do_not(qtbot, window, tmp_path):
    page = _checked(qtbot, window, example_stacks(tmp_path / "stacks", n=3, size=(10, 48, 48)))
    assert page.checked.report.dimensions == "3d"
    assert page.checked.report.proposals["model.architecture"] == "unet3d"
    page.apply_all()
    assert window.context.settings.model.architecture == "unet3d"
    assert window.context.settings.model.filters == [8, 16]
    buttons = _model_page(qtbot, window)
    assert buttons["unet3d"] == (True, True) and buttons["unet"][0] is False

    page = _checked(qtbot, window, make_segmentation_demo(tmp_path / "flat", "instance", n_images=6, size=64))
    assert page.checked.report.dimensions == "2d"
    window.context.settings.model.architecture = "unet"
    buttons = _model_page(qtbot, window)
    assert buttons["unet"] == (True, True) and buttons["unet3d"][0] is False


def test_the_model_page_asks_for_blocks_in_three_dimensions_and_says_the_memory_they_need(qtbot, window,
                                                                                          tmp_path):
    page = _checked(qtbot, window, example_stacks(tmp_path / "stacks", n=3, size=(10, 48, 48)))
    page.apply_all()
    _model_page(qtbot, window)
    model = window.pages["model"]
    control = model.stack_patch_control
    form = model.rows["data.image_size"][0]  # the Input images tab
    assert form.isRowVisible(control.widget) and not form.isRowVisible(model.patch_control.widget)
    assert "data.stack_patch_size" in model.visible_keys() and "data.patch_size" not in model.visible_keys()
    assert control.from_data.isChecked() and control.value() == [8, 48, 48]  # what training will use
    model.request_description()
    qtbot.waitUntil(lambda: (model.description or {}).get("memory") is not None, timeout=90_000)
    memory = model.description["memory"]
    assert memory["block"] == [8, 48, 48] and memory["batch"] == window.context.settings.training.batch_size
    assert 0 < memory["needed"] < memory["available"]
    assert control.memory.isVisibleTo(control.widget) and "Training needs about" in control.memory.text()
    assert not control.too_much

    # far larger blocks in far larger batches: more than this computer has, said in plain words
    control.from_data.setChecked(False)
    control.spins[1].setValue(2048)
    control.spins[2].setValue(2048)
    assert window.context.settings.data.stack_patch_size == [8, 2048, 2048]
    window.context.set_value("training.batch_size", 512)
    model.request_description()
    qtbot.waitUntil(lambda: ((model.description or {}).get("memory") or {}).get("block") == [8, 2048, 2048],
                    timeout=90_000)
    qtbot.waitUntil(lambda: control.too_much, timeout=10_000)
    assert "this computer has free" in control.memory.text()
