"""Files PetriLab writes get the permissions the user's umask asks for, like any other program's.

Atomic writes go through a temporary file, and `tempfile.mkstemp` creates it
readable by its owner only (0600). Renamed into place, that would keep
colleagues on a shared drive or a cluster from opening predictions, masks
and reports. So every temporary file is given `0o666 & ~umask` (a folder
`0o777 & ~umask`) before it takes its final name: with the usual umask 022,
files are 0644 and folders 0755.
"""

from __future__ import annotations

import os
from functools import lru_cache

FILE_BITS = 0o666
FOLDER_BITS = 0o777


@lru_cache(maxsize=1)
def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux: /proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # elsewhere the only way is to set it and put it back; done once (cached), at the first write
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    return FILE_BITS & ~current_umask()


def folder_mode() -> int:
    return FOLDER_BITS & ~current_umask()


def share_file(target) -> None:
    """Give a file we created (an open descriptor, or a path) the mode the umask asks for."""
    if os.name == "nt":  # Windows has no such mode bits: its folders' access lists decide
        return
    if isinstance(target, int):
        os.fchmod(target, file_mode())
    else:
        os.chmod(target, file_mode())


def share_folder(path) -> None:
    """Give a folder we created with mkdtemp (0700) the mode the umask asks for."""
    if os.name != "nt":
        os.chmod(path, folder_mode())
