"""Where PetriLab writes: never inside the user's data, only where it can write, and a full disk said plainly.

The data folders are the user's months of work: PetriLab reads them and never
adds, changes or deletes a file there. A runs folder or an output folder
inside them is refused before anything is created. A folder that cannot be
written to, or a disk that fills up while a checkpoint is saved, ends with a
plain message naming the folder, never a traceback.
"""

from __future__ import annotations

import contextlib
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


TRAINING_KEPT = "What was saved before (the history and the last good model) is intact."
TRAINING_THEN = ("Free some space on that disk (delete or move old runs, empty the bin), then continue the "
                 "training (Continue training, or petrilab train --resume with this run folder).")


def disk_problem(exc: BaseException, folder, what: str = "run folder", kept: str = TRAINING_KEPT,
                 then: str = TRAINING_THEN) -> UserError | None:
    """The plain message for a disk that is full or a folder that is read-only, or None for other errors.
    `kept`: what the user still has; `then`: what to do once space is free (both for a full disk)."""
    while exc is not None and not isinstance(exc, OSError):
        exc = exc.__cause__ or exc.__context__
    if exc is None:
        return None
    if exc.errno in DISK_FULL:
        return UserError(f"The disk is full: PetriLab could not save in the {what} {folder}. {kept}",
                         file=folder, fix=then)
    if exc.errno in NOT_ALLOWED and (exc.filename is None or is_inside(exc.filename, folder)):
        return UserError(
            f"PetriLab is not allowed to write in the {what} {folder} (the folder or the disk is read-only).",
            file=folder,
            fix=f"Choose a {what} you can write to, or ask for write permission on this one.",
        )
    return None


@contextlib.contextmanager
def plain_disk_errors(folder, what: str, kept: str, then: str):
    """A full or read-only disk inside the block ends with the plain message (disk_problem), not a traceback."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        problem = disk_problem(exc, folder, what, kept, then)
        if problem is None:
            raise
        raise problem from None


# ---------------------------------------------------------------- the data a run learnt from


def run_data_folders(run_dir) -> list[Path]:
    """Every folder whose files the run trained or was tested on: its settings' data.folder and
    data.test_folder, and the folders of the files in its split.csv (a run must stay usable when they are gone)."""
    import csv

    from petrilab.file_names import from_shown

    run_dir = Path(run_dir)
    folders: list[Path] = []
    try:
        from petrilab import settings as settings_io

        data = settings_io.load(run_dir / "settings.toml").data
        folders += [Path(f) for f in (data.folder, data.test_folder) if f]
    except (UserError, OSError):
        pass  # an imported model has no data; the command itself says what else is wrong
    try:
        with open(run_dir / "split.csv", newline="", encoding="utf-8") as f:
            folders += sorted({Path(from_shown(row["file"])).parent for row in csv.DictReader(f) if row.get("file")})
    except (OSError, KeyError, UnicodeDecodeError, csv.Error):
        pass
    return list(dict.fromkeys(folders))


def refuse_output_in_data(output, data_folders, what: str = "output folder", input_folder=None) -> None:
    """A UserError when the output `is`, contains or lies inside a data folder (or the input folder)."""
    output = _resolved(output)
    named = [(Path(f), "data folder", "the data the run learnt from") for f in data_folders if f]
    if input_folder is not None:
        named.append((Path(input_folder), "input folder", "the images"))
    for folder, kind, holds in named:
        folder = _resolved(folder)
        if output == folder or folder in output.parents:
            relation = "is" if output == folder else "is inside"
        elif output in folder.parents:
            relation = "contains"
        else:
            continue
        article = "an" if what[0] in "aeiou" else "a"
        raise UserError(
            f"The {what} {output} {relation} the {kind} {folder}; PetriLab never writes into your data.",
            file=output,
            fix=f"Choose {article} {what} outside {holds} ({folder}), for example a new folder beside it.")
