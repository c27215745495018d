"""Fixtures shared by the tests. Keep it small: one fixture, one job."""

from __future__ import annotations

import os
import sys
import tempfile

import pytest

from petrilab.demo import make_classification_demo

import file_seconds
import finished_runs


def pytest_configure(config):
    """The window's own settings (recent experiments, the tour seen, the last session) go to a folder of
    this test process, never to the user's: each parallel worker then has its own, and a test never sees
    what an earlier test session left there."""
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="petrilab-test-config-")
    if os.environ.get("PETRILAB_SLOW_AUDIT"):  # lists the tests that should be marked slow (tests/slow_audit.py)
        import slow_audit

        config.pluginmanager.register(slow_audit, "slow_audit")
    if hasattr(config.option, "loadscopereorder"):  # xdist: keep the order below, not "most tests first"
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    """The longest files first, so the parallel workers finish together (tests/file_seconds.py)."""
    file_seconds.longest_first(items)


@pytest.fixture(autouse=True)
def fresh_window_settings():
    """Each test starts from empty window settings: a runs folder one test remembered (a cluster
    submission) is never listed on another test's Runs page in the same worker."""
    yield
    if "PySide6.QtCore" in sys.modules:  # only tests that loaded Qt can have written any
        from PySide6.QtCore import QSettings

        store = QSettings(QSettings.IniFormat, QSettings.UserScope, "PetriLab", "PetriLab")
        store.clear()
        store.sync()


@pytest.fixture
def tiny_classification_dir(tmp_path):
    """A small 3-class dataset (8 grey 32×32 PNG per class: elongated, fragmented, round) in tmp_path."""
    return make_classification_demo(tmp_path / "tiny-data", n_per_class=8, size=32, seed=1)


@pytest.fixture
def finished_run(tmp_path):
    """finished_run(name) → this test's own copy of a cached finished run (tests/finished_runs.py: 'classification',
    'regression', 'semantic', 'instance'), trained once per version of the app."""
    def copy(name: str) -> finished_runs.FinishedRun:
        return finished_runs.copy_of(name, tmp_path / f"{name}-run")
    return copy
