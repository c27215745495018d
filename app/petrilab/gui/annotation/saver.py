"""Saving in the background, so the window never waits for a disk.

One thread of its own, not the shared pool (gui/workers.py): saves must happen in the order they were
asked for, and a newer save of the same image replaces an older one still waiting, so a fast annotator
never builds a queue of outdated masks.
"""

from __future__ import annotations

import threading
import traceback
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal

from petrilab.errors import UserError


class Saver(QObject):
    saved = Signal(str)  # the key (an image's name) whose latest save is on disk
    failed = Signal(object)  # a UserError

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pending: dict[str, Callable[[], None]] = {}
        self._busy = False
        self._stopped = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="annotation-saver", daemon=True)
        self._thread.start()
        app = QCoreApplication.instance()
        if app is not None:  # the process ending another way than by closing this window still saves
            app.aboutToQuit.connect(self.stop)

    def submit(self, key: str, save: Callable[[], None]) -> None:
        """Run `save()` soon; replaces a save of the same key not started yet."""
        with self._condition:
            self._pending.pop(key, None)
            self._pending[key] = save
            self._condition.notify_all()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopped:
                    self._condition.wait()
                if not self._pending:
                    return
                key = next(iter(self._pending))
                save = self._pending.pop(key)
                self._busy = True
            try:
                save()
            except UserError as exc:
                self.failed.emit(exc)
            except Exception as exc:  # a bug, not the user's doing: said plainly, details kept for a report
                self.failed.emit(UserError(f"Saving the annotation of '{key}' failed: {exc}",
                                           fix="Please report this, with the details below.\n"
                                               + traceback.format_exc(limit=3)))
            else:
                self.saved.emit(key)
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every save asked for is on disk. False if it took longer than `timeout` seconds."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._pending and not self._busy, timeout)

    def stop(self) -> None:
        """Finish what is waiting, then end the thread (again: nothing)."""
        if self._stopped:
            return
        self.flush(None)
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        self._thread.join(timeout=5)
