"""What every wizard page shares: the experiment being edited and how to reach the engine.

Pages never talk to each other; they read and edit `context.settings` and
listen to the context's signals. The main window owns the one context.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from petrilab import settings as settings_io
from petrilab.settings import Settings


def engine_command() -> list[str]:
    """The program and first arguments that start the engine (`petrilab ...`) as a child process.

    In the frozen app the executable is PetriLab itself; otherwise the same
    Python runs `-m petrilab`.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "petrilab"]


class AppContext(QObject):
    settings_changed = Signal()  # any page changed a setting (or a file was opened)
    run_changed = Signal(object)  # the current run folder (Path) or None
    run_about_to_change = Signal(object)  # just before run_changed, with the same folder
    go_to_page = Signal(str)  # a page asks the window to show another page, by key
    # runs just prepared (e.g. sent to a cluster): a runs folder and the run folders in it; the Runs page shows them
    runs_submitted = Signal(object, object)
    open_experiment = Signal(object)  # a settings file to open as the experiment (e.g. the best a tuning found)

    def __init__(self, settings: Settings | None = None, settings_path: Path | None = None,
                 runs_dir: Path | None = None):
        super().__init__()
        self.settings = settings or Settings()
        self.settings_path = settings_path
        self.runs_dir = runs_dir or default_runs_dir(settings_path)
        self.current_run: Path | None = None
        self.dirty = False

    def notify_changed(self) -> None:
        self.dirty = True
        self.settings_changed.emit()

    def set_value(self, key: str, value) -> None:
        """Set one 'section.key' with the engine's own checks (raises UserError)."""
        settings_io.apply_override(self.settings, key, value)
        self.notify_changed()

    def set_run(self, run_dir: Path | None) -> None:
        self.run_about_to_change.emit(run_dir)
        self.current_run = run_dir
        self.run_changed.emit(run_dir)


def default_runs_dir(settings_path: Path | None) -> Path:
    if settings_path is not None:
        return Path(settings_path).parent / "runs"
    return Path.home() / "PetriLab" / "runs"
