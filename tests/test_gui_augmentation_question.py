"""The augmentation question in the window: one of the user's images beside its flipped and turned copies,
asked in the class's own name; the answer writes augmentation.geometric (or data.target_kinds)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from petrilab.data.images import read_image  # noqa: E402
from petrilab.gui.widgets.augmentation_question import copies_of  # noqa: E402
from petrilab.gui.workers import display_uint8  # noqa: E402

from helpers import main_window  # noqa: E402

pytestmark = pytest.mark.gui
DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


@pytest.fixture
def window(qtbot, tmp_path):
    with main_window(tmp_path, model_helper=False) as w:
        yield w


def _checked(qtbot, window, task: str, folder: Path):
    window.pages["task"].choose(task)
    window.go_to("data", force=True)
    page = window.pages["data"]
    page.set_folder(folder)
    qtbot.waitUntil(lambda: page.checked is not None or page.error is not None, timeout=20_000)
    assert page.error is None
    window.go_to("model", force=True)
    return window.pages["model"]


def test_the_copies_are_the_image_flipped_and_turned():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    (_, same), (_, lr), (_, ud), (_, turned) = copies_of(image)
    assert (same == image).all() and (lr == image[:, ::-1]).all() and (ud == image[::-1]).all()
    assert turned.shape == (4, 3) and (turned == np.rot90(image)).all()


@pytest.mark.slow
def test_classification_asks_in_the_class_name_with_the_users_image(qtbot, window):
    page = _checked(qtbot, window, "classification", DEMO / "classification")
    question = page.augmentation_question
    page.tabs.setCurrentIndex([page.tabs.tabText(i) for i in range(page.tabs.count())].index("Augmentation"))
    assert question.widget.isVisible()
    first = sorted((DEMO / "classification" / "elongated").iterdir())[0]
    assert "Would these still be <i>elongated</i>?" in question.question.text()
    assert first.name in question.source.text()
    # four pictures: the image as it is, flipped left-right, upside down, turned a quarter
    shown = [p.pixmap().toImage() for p in question.pictures]
    assert all(not image.isNull() for image in shown)
    pixels = display_uint8(read_image(first))
    left_right = shown[1].convertToFormat(shown[1].Format.Format_Grayscale8)
    as_is = shown[0].convertToFormat(shown[0].Format.Format_Grayscale8)
    row = [as_is.pixelColor(x, 40).value() for x in range(as_is.width())]
    mirrored = [left_right.pixelColor(left_right.width() - 1 - x, 40).value() for x in range(left_right.width())]
    assert np.abs(np.array(row, int) - np.array(mirrored, int)).max() <= 2  # the same row, mirrored
    assert pixels.shape == (64, 64)

    settings = window.context.settings
    assert settings.augmentation.geometric == "auto" and question.buttons["auto"].isChecked()
    question.buttons["no"].click()
    assert settings.augmentation.geometric == "no"
    assert page.controls["augmentation.geometric"].widget.currentData() == "no"  # the setting row agrees
    question.buttons["yes"].click()
    assert settings.augmentation.geometric == "yes"
    combo = page.controls["augmentation.geometric"].widget
    combo.setCurrentIndex(combo.findData("auto"))
    assert settings.augmentation.geometric == "auto" and question.buttons["auto"].isChecked()


@pytest.mark.slow
def test_regression_asks_what_each_value_is(qtbot, window):
    page = _checked(qtbot, window, "regression", DEMO / "regression")
    question = page.augmentation_question
    settings = window.context.settings
    assert set(question.kind_combos) == {"x", "y"} and not question.answers.isVisibleTo(question.widget)
    assert settings.data.target_kinds == {}
    question.choose_kind("x", "position_x")
    question.choose_kind("y", "position_y")
    assert settings.data.target_kinds == {"x": "position_x", "y": "position_y"}
    question.choose_kind("x", "")  # "decide for me": the probe decides when training starts
    assert settings.data.target_kinds == {"y": "position_y"}
    assert question.kind_combos["y"].currentData() == "position_y"


@pytest.mark.slow
def test_segmentation_is_not_asked(qtbot, window):
    window.pages["task"].choose("semantic")
    window.go_to("model", force=True)
    assert not window.pages["model"].augmentation_question.widget.isVisibleTo(window.pages["model"])
