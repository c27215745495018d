"""Is the engine that writes a run still alive? A killed engine writes no last event to say so.

The engine puts its process id and computer name in the `started` event. A
window following the run (started here, from a terminal, or by a window that
was closed since) checks that process: gone, or replaced by a newer process
with the same id, means the engine died without finishing (killed, out of
memory, the computer restarted) and the run can be continued from last.keras.
A run written by another computer (a cluster node) cannot be checked from
here and counts as alive.
"""

from __future__ import annotations

import os
import socket


def engine_identity() -> dict:
    """What the engine adds to its `started` event."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def engine_gone(started: dict) -> bool:
    """True when the engine that sent `started` has certainly ended (False when unknown)."""
    pid, host, when = started.get("pid"), started.get("host"), started.get("time")
    if not isinstance(pid, int) or host != socket.gethostname():
        return False
    try:
        import psutil
    except ImportError:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        # the id was given to a newer process after the engine ended
        return isinstance(when, (int, float)) and process.create_time() > when + 1.0
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # another user's process: cannot tell
        return False
