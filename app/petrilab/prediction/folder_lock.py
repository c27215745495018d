"""One prediction at a time in an output folder: a lock file created with O_EXCL.

Two predictions writing one folder would each replace the other's table
while both say "written". The first takes `.petrilab-prediction.lock` (its
process id, computer and start time); the second is refused by name. A lock
left by a process that died on this computer is stale and taken over; one
from another computer (a shared disk) cannot be judged from here, so it is
refused, and the message says which file to delete if that process is gone.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from petrilab.errors import UserError

LOCK = ".petrilab-prediction.lock"
UNREADABLE_STALE_S = 60  # a lock file still empty or garbled after this long was left by a killed process


def _gone(holder: dict) -> bool:
    """True when the process that wrote the lock has certainly ended on this computer (liveness.py: psutil,
    a process id given to a newer process included; never a signal, which on Windows would stop it)."""
    from petrilab.liveness import engine_gone

    return engine_gone(holder)


def _holder(path: Path) -> dict | None:
    """Who holds the lock, or None when it is stale (its process is gone) or gone itself."""
    try:
        text = path.read_text(encoding="utf-8")
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        holder = json.loads(text)
        pid, host = int(holder["pid"]), str(holder["host"])
    except (ValueError, KeyError, TypeError):
        return None if age > UNREADABLE_STALE_S else {}  # being written right now, or left half-written
    if _gone({**holder, "pid": pid, "host": host}):
        return None
    return holder


class FolderLock:
    """`with FolderLock(folder):` — the folder is this process's to write predictions into until the end."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / LOCK
        self.held = False

    def acquire(self) -> None:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "time": time.time()}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _holder(self.path)
                if holder is None:  # stale: its process ended without removing it
                    try:
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                raise self._refusal(holder) from None
            self.held = True  # ours from here: removed again by release(), even if writing it fails (full disk)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(me, f)
            except BaseException:
                self.release()
                raise
            return
        raise self._refusal({})

    def _refusal(self, holder: dict) -> UserError:
        who = (f"process {holder['pid']} on the computer {holder['host']}, started {holder.get('started', '?')}"
               if holder.get("pid") else "another process")
        return UserError(
            f"Another prediction is writing into the output folder {self.path.parent} right now ({who}).",
            file=self.path.parent,
            fix="Wait until it has finished, or choose another output folder. If that process no longer runs, "
                f"delete the file {self.path.name} in that folder.")

    def release(self) -> None:
        if self.held:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self.held = False

    def __enter__(self) -> "FolderLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
