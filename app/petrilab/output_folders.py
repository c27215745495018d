"""Where PetriLab writes: never inside the user's data, only where it can write, and a full disk said plainly.

The data folders are the user's months of work: PetriLab reads them and never
adds, changes or deletes a file there. A runs folder or an output folder
inside them is refused before anything is created. A folder that cannot be
written to, or a disk that fills up while a checkpoint is saved, ends with a
plain message naming the folder, never a traceback.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from petrilab.errors import UserError

DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}


def _resolved(path) -> Path:
    return Path(path).expanduser().resolve()


def is_inside(path, folder) -> bool:
    """True when `path` is `folder` or somewhere below it (links followed)."""
    path, folder = _resolved(path), _resolved(folder)
    return path == folder or folder in path.parents


def refuse_inside_data(folder, data_folders, what: str = "runs folder") -> None:
    """A UserError when `folder` would be inside (or be) one of the data folders."""
    for data in data_folders:
        if data and is_inside(folder, data):
            raise UserError(
                f"The {what} {folder} is inside the data folder {data}; PetriLab never writes into your data.",
                file=folder,
                fix=f"Choose a {what} outside the data folder (for example beside it)"
                    + (", with --runs-dir on the command line." if what == "runs folder" else "."),
            )


def writable_folder(folder, what: str = "runs folder") -> Path:
    """Create `folder` if needed and prove it can be written to (a real test file, not the permission bits,
    which say nothing of read-only disks or network shares); a plain UserError otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".petrilab-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        problem = disk_problem(exc, folder, what)
        if problem is not None:
            raise problem from None
        raise UserError(f"The {what} {folder} cannot be created or written to ({exc.strerror or exc}).",
                        file=folder, fix=f"Choose a {what} you can write to.") from None
    return folder


def disk_problem(exc: BaseException, folder, what: str = "run folder") -> UserError | None:
    """The plain message for a disk that is full or a folder that is read-only, or None for other errors."""
    while exc is not None and not isinstance(exc, OSError):
        exc = exc.__cause__ or exc.__context__
    if exc is None:
        return None
    if exc.errno in DISK_FULL:
        return UserError(
            f"The disk is full: PetriLab could not save in the {what} {folder}. What was saved before "
            f"(the history and the last good model) is intact.",
            file=folder,
            fix="Free some space on that disk (delete or move old runs, empty the bin), then continue the "
                "training (Continue training, or petrilab train --resume with this run folder).",
        )
    if exc.errno in NOT_ALLOWED and (exc.filename is None or is_inside(exc.filename, folder)):
        return UserError(
            f"PetriLab is not allowed to write in the {what} {folder} (the folder or the disk is read-only).",
            file=folder,
            fix=f"Choose a {what} you can write to, or ask for write permission on this one.",
        )
    return None
