"""The main window's experiment file: its title, New / Open / Save / Save as, and the recent experiments."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui import session
from petrilab.gui.context import default_runs_dir

MAX_RECENT = 8
SETTINGS_FILTER = "PetriLab experiment (*.toml)"


def recent_store() -> QSettings:
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "PetriLab", "PetriLab")


class ExperimentFile:
    """Part of MainWindow (which gives context, file_label, recent_menu, go_to and show_error)."""

    def update_title(self) -> None:
        c = self.context
        where = Path(c.settings_path).name if c.settings_path else "not saved yet"
        star = "*" if c.dirty else ""
        self.setWindowTitle(f"{c.settings.name} ({where}){star} — PetriLab")
        self.file_label.setText(f"Experiment file:\n{c.settings_path}" if c.settings_path
                                else "Experiment not saved yet")

    def load_experiment(self, path: str | Path) -> bool:
        """Open a settings file; a problem is shown in plain words (never a traceback)."""
        path = Path(path)
        try:
            settings = settings_io.load(path)
        except UserError as exc:
            self.show_error("This experiment cannot be opened", exc)
            return False
        if settings.asked:  # a run's own settings.toml: the window edits what the user asked, saved elsewhere
            self._replace_settings(settings_io.users_choices(settings), None)
            self.statusBar().showMessage(f"Opened the settings of the run {path.parent.name}: the values it learnt "
                                         "are learnt again by the next training; Save asks for a new file.", 15_000)
            return True
        self._replace_settings(settings, path.resolve())
        self.add_recent(path.resolve())
        session.remember_last(path.resolve())
        return True

    def _replace_settings(self, settings, path: Path | None) -> None:
        c = self.context
        c.settings = settings
        c.settings_path = path
        c.runs_dir = default_runs_dir(path)
        c.set_run(None)
        c.settings_changed.emit()
        c.dirty = False
        self.update_title()
        self.go_to("task", force=True)

    def new_experiment(self) -> None:
        if not self.maybe_discard():
            return
        self._replace_settings(settings_io.defaults_for(self.context.settings.task.kind), None)

    def open_dialog(self) -> None:
        if not self.maybe_discard():
            return
        start = str(self.context.settings_path.parent) if self.context.settings_path else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", start, SETTINGS_FILTER)
        if path:
            self.load_experiment(path)

    def save(self) -> bool:
        if self.context.settings_path is None:
            return self.save_as()
        return self.save_to(self.context.settings_path)

    def save_as(self) -> bool:
        start = self.context.settings_path or Path.home() / "PetriLab" / f"{self.context.settings.name}.toml"
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment as", str(start), SETTINGS_FILTER)
        if not path:
            return False
        if not path.endswith(".toml"):
            path += ".toml"
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        path = Path(path).resolve()
        try:
            settings_io.validate(self.context.settings)
            settings_io.save(self.context.settings, path)
        except UserError as exc:
            self.show_error("The experiment was not saved", exc)
            return False
        except OSError as exc:
            self.show_error("The experiment was not saved",
                            UserError(f"The file {path} could not be written ({exc.strerror}).", file=path,
                                      fix="Choose a folder where you can write, or free some disk space."))
            return False
        moved = self.context.settings_path != path
        self.context.settings_path = path
        if moved:
            self.context.runs_dir = default_runs_dir(path)
        self.context.dirty = False
        self.add_recent(path)
        session.remember_last(path)
        self.update_title()
        return True

    def maybe_discard(self) -> bool:
        """True when the current experiment may be replaced (saved, unchanged, or the user says so)."""
        if not self.context.dirty:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to '{self.context.settings.name}' first?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def recent(self) -> list[str]:
        value = recent_store().value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [p for p in (value or []) if p]

    def add_recent(self, path: Path) -> None:
        entries = [str(path)] + [p for p in self.recent() if p != str(path)]
        store = recent_store()
        store.setValue("recent", entries[:MAX_RECENT])
        store.sync()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        entries = self.recent()
        if not entries:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for p in entries:
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda _c=False, p=p: self.maybe_discard() and self.load_experiment(p))
