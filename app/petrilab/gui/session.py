"""Where the user left off: the experiment open when the window last closed, reopened at the next start.

Kept in the app's QSettings beside the recent experiments. An experiment whose
file has gone since (moved, deleted, a USB drive not plugged in) is not an
error: the window starts blank and says so in its status bar.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

LAST_KEY = "session/last_experiment"


def store() -> QSettings:
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "PetriLab", "PetriLab")


def remember_last(path: str | Path | None) -> None:
    """The experiment open now (None: a new one, never saved — the next start is blank too)."""
    s = store()
    if path:
        s.setValue(LAST_KEY, str(path))
    else:
        s.remove(LAST_KEY)
    s.sync()


def last_experiment() -> tuple[Path | None, Path | None]:
    """(the file to reopen, or None; the file remembered but gone, or None)."""
    value = store().value(LAST_KEY, "")
    if not value:
        return None, None
    path = Path(str(value))
    return (path, None) if path.is_file() else (None, path)


def gone_message(path: Path) -> str:
    return f"The last experiment, {path}, is no longer there: PetriLab started a new one."
