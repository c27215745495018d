"""The one exception type that reaches the user.

Anything the user can fix (a missing folder, an unreadable image, a bad
settings value) is raised as `UserError` with a plain sentence, the file
concerned and what to do. The command line prints it without a traceback;
the engine writes it as an `error` event the GUI shows.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

# The last few UserErrors made: TensorFlow turns one raised while a batch is read into its own error, with
# only our text inside; training/data_lost.py finds the original here (deque appends are thread-safe).
RECENT: deque = deque(maxlen=16)


class UserError(Exception):
    """A problem the user can fix, explained in plain words."""

    def __init__(self, message: str, file: str | Path | None = None, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.fix = fix
        RECENT.append(self)

    def __str__(self) -> str:
        text = self.message
        if self.file and self.file not in text:
            text += f"\n  File: {self.file}"
        if self.fix:
            text += f"\n  What to do: {self.fix}"
        return text

    def to_dict(self) -> dict:
        return {"message": self.message, "file": self.file, "fix": self.fix}
