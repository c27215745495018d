"""Every page usable on laptop screens (1366 × 768 and 1100 × 620): nothing pushed past the window's right
edge, the confusion matrix and the table headers whole, the window scrolling rather than cutting."""

from __future__ import annotations

import pytest
from helpers import main_window
from PySide6.QtWidgets import QApplication, QHeaderView
from test_gui_train import make_run, overfitting_history, real_diagnosis

from petrilab import settings as settings_io
from petrilab.resources import demo_data

pytestmark = pytest.mark.gui
PAGES = ["task", "data", "split", "model", "train", "evaluate", "predict", "runs"]


def settle(qtbot, ms: int = 150) -> None:
    qtbot.wait(ms)
    QApplication.processEvents()


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    """One window for the three screen sizes (each test resizes it, as a user can): its model helper, a child
    process that loads Keras, starts once rather than once per size."""
    with main_window(tmp_path_factory.mktemp("window")) as w:
        yield w


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1366, 768), (1100, 620), (1024, 640)])
def test_every_page_fits_a_laptop_screen(qtbot, tmp_path, size, window):
    history = overfitting_history()
    run = make_run(tmp_path / "runs", "cells", history, diagnosis=real_diagnosis(history),
                   images_dir=tmp_path / "test-images")
    window.resize(*size)
    settings = settings_io.defaults_for("classification")
    settings.data.folder = str(demo_data("classification"))
    settings_io.save(settings, tmp_path / "demo.toml")
    assert window.load_experiment(tmp_path / "demo.toml")
    window.context.set_run(run)
    assert window.width() == size[0] and window.height() == size[1]
    too_wide = {}
    for key in PAGES:
        window.go_to(key, force=True)
        settle(qtbot)
        scroll = window.stack.currentWidget()
        if scroll.horizontalScrollBar().maximum():
            too_wide[key] = scroll.horizontalScrollBar().maximum()
    assert not too_wide, f"pages wider than the window (pixels past its edge): {too_wide}"
    evaluate = window.pages["evaluate"]
    window.go_to("evaluate", force=True)
    settle(qtbot, 300)
    matrix = evaluate.confusion
    assert matrix.isVisibleTo(window) and matrix.rowCount() == 3
    rows = sum(matrix.rowHeight(r) for r in range(matrix.rowCount()))
    assert matrix.horizontalHeader().height() + rows <= matrix.viewport().height() + matrix.horizontalHeader().height()
    assert matrix.verticalScrollBar().maximum() == 0  # every row whole, not scrolled
    header = evaluate.per_class.horizontalHeader()
    for column in range(1, header.count()):
        text = evaluate.per_class.horizontalHeaderItem(column).text()
        assert header.sectionSize(column) >= header.fontMetrics().horizontalAdvance(text), text
    assert header.sectionResizeMode(0) == QHeaderView.ResizeMode.ResizeToContents
