"""The first-run experience: the app opens on the demo with a five-step tour, shown once, reachable from Help."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QEvent, QPoint, QRect, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from petrilab.gui import welcome  # noqa: E402
from petrilab.gui.app import open_window  # noqa: E402
from petrilab.gui.context import AppContext  # noqa: E402
from petrilab.gui.main_window import MainWindow  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path):
    """The 'tour seen' flag goes to tmp_path, never to the user's own settings."""
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


def _close(w) -> None:
    w.context.dirty = False
    w.shutdown()
    w.close()
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(AppContext(runs_dir=tmp_path / "runs"))
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    _close(w)


def tours(w) -> list[welcome.WelcomeTour]:
    return [t for t in w.findChildren(welcome.WelcomeTour) if t.isVisible()]


def in_window(w, widget) -> QRect:
    return QRect(widget.mapTo(w, QPoint(0, 0)), widget.size())


def test_first_start_shows_the_tour_once(window):
    assert welcome.first_start() and welcome.opens_on_demo(None)
    assert not welcome.opens_on_demo(Path("my.toml"))  # an experiment asked for is opened, not the demo
    tour = welcome.show_on_first_start(window)
    assert tours(window) == [tour]
    assert tour.count_label.text() == f"Start here · 1 of {len(welcome.STEPS)}"
    tour.skip_button.click()
    assert tours(window) == []
    assert not welcome.first_start() and not welcome.opens_on_demo(None)
    assert welcome.show_on_first_start(window) is None  # the second start stays quiet


def test_next_walks_through_every_step_pointing_at_the_right_widget(window, qtbot):
    assert 4 <= len(welcome.STEPS) <= 6
    tour = welcome.start_tour(window)
    expected = {"steps": window.step_list, "next": window.next_button,
                "start": window.pages["train"].start_button, "diagnosis": window.pages["train"].diagnosis}
    seen_pages = []
    for index, step in enumerate(welcome.STEPS):
        assert tour.index == index and tour.title_label.text() == step.title
        assert tour.back_button.isEnabled() == (index > 0)
        if step.page:
            assert window.current_key == step.page
        seen_pages.append(window.current_key)
        card = QRect(tour.pos(), tour.size())
        assert window.rect().contains(card), step.title  # the card stays inside the window
        text = tour.text_label
        assert text.height() >= text.heightForWidth(text.width()), step.title  # no sentence cut off
        if step.target:
            target = in_window(window, expected[step.target])
            assert tour.highlight.isVisible() and tour.highlight.geometry().contains(target), step.title
            if step.target != "diagnosis":  # the verdict panel may fill the page; elsewhere nothing is hidden
                assert not card.intersects(target), step.title
        else:
            assert not tour.highlight.isVisible()
        last = index == len(welcome.STEPS) - 1
        assert tour.next_button.text() == ("Try the demo" if last else "Next ›")
        tour.next_button.click()
    assert "train" in seen_pages and "task" in seen_pages
    assert tours(window) == []
    assert window.current_key == "task"  # back where the user started
    assert not welcome.first_start()


def test_back_returns_to_the_previous_step_and_the_card_follows_a_resize(window):
    tour = welcome.start_tour(window)
    tour.next_button.click()
    tour.next_button.click()
    assert tour.step.target == "next"
    tour.back_button.click()
    assert tour.step.target == "steps"
    window.resize(1100, 700)
    QApplication.processEvents()
    assert window.rect().contains(QRect(tour.pos(), tour.size()))
    assert tour.highlight.geometry().contains(in_window(window, window.step_list))


def test_help_menu_shows_the_tour_again_and_only_one_at_a_time(window):
    welcome.mark_seen()
    assert welcome.show_on_first_start(window) is None
    window.action_tour.trigger()
    assert len(tours(window)) == 1
    window.action_tour.trigger()
    QApplication.processEvents()
    assert len(tours(window)) == 1
    assert "Start here" in window.action_tour.text()


def test_the_first_window_opens_on_the_demo_experiment(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the demo experiment goes to ~/PetriLab/demo
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    w = open_window(None, demo=welcome.opens_on_demo(None), warm_up=False)
    try:
        assert w.context.settings_path == (tmp_path / "home" / "PetriLab" / "demo" / "settings.toml").resolve()
        assert w.context.settings.name == "demo"
        assert {p.name for p in Path(w.context.settings.data.folder).iterdir()} >= {"round", "elongated", "fragmented"}
        tour = welcome.show_on_first_start(w)
        assert tour is not None and tour.isVisible()
    finally:
        _close(w)
