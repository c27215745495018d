"""A polite stop: a signal or a STOP file asks the engine to end after the current batch.

A STOP file works everywhere (Windows has no SIGTERM for a child process,
and a cluster job's run folder may be on a shared disk); signals are the
terminal's Ctrl+C and a scheduler's SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from petrilab import runs


class StopRequest:
    def __init__(self, run_dir: Path):
        self.stop_file = Path(run_dir) / runs.STOP_REQUEST
        self._signalled = False
        self._previous = {}

    def install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def restore_signal_handlers(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _on_signal(self, signum, frame) -> None:
        if self._signalled:  # a second Ctrl+C: the user really wants out now
            raise KeyboardInterrupt
        self._signalled = True

    @property
    def requested(self) -> bool:
        return self._signalled or self.stop_file.exists()

    def clear(self) -> None:
        """Forget a honoured request, so a resumed run is not stopped at once."""
        self._signalled = False
        try:
            self.stop_file.unlink()
        except FileNotFoundError:
            pass
