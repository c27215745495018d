"""One writer per folder: the process that writes a run folder (or any output folder) holds its lock.

Two PetriLab processes writing one run folder (two resumes started together,
a window and a terminal) would overwrite each other's checkpoints and leave
settings that do not match the model. So a folder is held, for as long as the
writing lasts, through a small file in it:

    .petrilab.lock   JSON: {"pid", "host", "since" (unix time), "what", "token", "petrilab"}

It is created atomically (a hard link from a unique temporary file, which
network disks honour too; O_EXCL where links are not allowed), so exactly
one process gets it. Another process is refused with a plain message: which
process, on which computer, since when, doing what.

A lock left by a process that ended without removing it (killed, out of
memory, the computer restarted) is stale. On the same computer that is
certain — the process is gone, or its id now belongs to a newer process —
and the lock is taken over. A lock held on another computer (a cluster node)
cannot be checked from here and is always respected, however old: a training
there may rightly run for days, and clocks differ. The message then says how
to free the folder by hand. Take-overs go through a second, short-lived file
(`.petrilab.lock.takeover`) so two processes can never both remove a stale
lock and then each other's fresh one.

Nested holds of the same folder in one process (training evaluates its own
run) simply share the lock.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import socket
import time
from pathlib import Path

from petrilab.errors import UserError

LOCK_FILE = ".petrilab.lock"
TAKEOVER_SUFFIX = ".takeover"
TAKEOVER_PATIENCE = 30.0  # seconds: a take-over file older than this was left by a process killed while taking over
EMPTY_PATIENCE = 10.0  # seconds: a lock file still empty after this was left by a process killed while writing it

_held: dict[Path, list] = {}  # folder -> [token, depth] for the locks this process holds


class FolderBusy(UserError):
    """The folder is held by another PetriLab process."""

    def __init__(self, folder: Path, owner: dict):
        self.owner = owner
        super().__init__(_busy_message(folder, owner), file=folder, fix=_busy_fix(folder, owner))


def _busy_message(folder: Path, owner: dict) -> str:
    since = owner.get("since")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else "?"
    what = owner.get("what") or "writing"
    return (f"The folder {folder} is in use by another PetriLab ({what}: process {owner.get('pid', '?')} "
            f"on the computer {owner.get('host', '?')}, since {when}).")


def _busy_fix(folder: Path, owner: dict) -> str:
    if owner.get("host") == socket.gethostname():
        return "Wait until that process has finished (or stop it), then try again."
    return ("Wait until that process has finished, then try again. If you are sure nothing runs there any more "
            f"(the job ended, that computer restarted), delete the file {Path(folder) / LOCK_FILE} and try again.")


def _identity(what: str, token: str) -> dict:
    from petrilab import __version__

    return {"pid": os.getpid(), "host": socket.gethostname(), "since": round(time.time(), 3), "what": what,
            "token": token, "petrilab": __version__}


def read_lock(folder) -> dict | None:
    """Who holds `folder` ({} for a lock being written or unreadable; None when nobody)."""
    try:
        text = (Path(folder) / LOCK_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        owner = json.loads(text)
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _stale(folder: Path, owner: dict) -> bool:
    """True when the lock's process has certainly ended (same computer only)."""
    from petrilab.liveness import engine_gone

    if not owner:  # empty or garbled: a process killed while writing it, once it has stayed so for a while
        try:
            return time.time() - (folder / LOCK_FILE).stat().st_mtime > EMPTY_PATIENCE
        except OSError:
            return False
    return engine_gone({"pid": owner.get("pid"), "host": owner.get("host"), "time": owner.get("since")})


def _create(lock: Path, content: bytes) -> bool:
    """Create the lock file holding `content`, atomically; False when it exists already."""
    from petrilab import runs
    from petrilab.file_modes import share_file

    tmp = runs.temporary_name(lock)
    with open(tmp, "xb") as f:
        share_file(f.fileno())
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, lock)
        return True
    except FileExistsError:
        return False
    except OSError as exc:  # a disk without hard links (FAT, some shares): exclusive creation instead
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS, errno.EMLINK):
            raise
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _take_over(folder: Path, stale: dict) -> None:
    """Remove the stale lock `stale`, unless someone else got there first (then their lock stays)."""
    lock = folder / LOCK_FILE
    claim = lock.with_name(LOCK_FILE + TAKEOVER_SUFFIX)
    try:
        fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        try:  # another process is taking over right now; its claim is left over only if it died doing so
            if time.time() - claim.stat().st_mtime > TAKEOVER_PATIENCE:
                claim.unlink(missing_ok=True)
        except OSError:
            pass
        return
    os.close(fd)
    try:
        if read_lock(folder) == stale:  # still the same stale lock: nobody replaced it meanwhile
            lock.unlink(missing_ok=True)
    finally:
        claim.unlink(missing_ok=True)


def acquire(folder, what: str = "training", wait_empty: float = 2.0) -> str:
    """Hold `folder` for this process and return the lock's token; FolderBusy when another process holds it."""
    folder = Path(folder)
    token = secrets.token_hex(8)
    content = (json.dumps(_identity(what, token)) + "\n").encode("utf-8")
    started = time.monotonic()
    owner: dict = {}
    while time.monotonic() - started < TAKEOVER_PATIENCE:
        try:
            if _create(folder / LOCK_FILE, content):
                return token
        except OSError as exc:
            raise _cannot_write(folder, exc) from None
        owner = read_lock(folder)
        if owner is None:
            continue  # released meanwhile: try again
        if _stale(folder, owner):
            _take_over(folder, owner)
            time.sleep(0.01)  # let a take-over in another process finish
            continue
        if not owner and time.monotonic() - started < wait_empty:
            time.sleep(0.05)  # being written this very moment
            continue
        break
    raise FolderBusy(folder, owner or {})


def _cannot_write(folder: Path, exc: OSError) -> UserError:
    from petrilab.output_folders import disk_problem

    return disk_problem(exc, folder, "folder") or UserError(
        f"PetriLab cannot write in the folder {folder} ({exc.strerror or exc}).", file=folder,
        fix="Choose a folder you can write to.")


def refuse_if_held(folder) -> None:
    """FolderBusy now when another live process holds `folder` (a quick look, before slow work; holding it
    is what decides)."""
    folder = Path(folder)
    owner = read_lock(folder)
    if owner and folder.resolve() not in _held and not _stale(folder, owner):
        raise FolderBusy(folder.resolve(), owner)


def release(folder, token: str) -> None:
    """Give the folder back, if the lock is still ours (never remove another process's lock)."""
    owner = read_lock(folder)
    if owner and owner.get("token") == token:
        (Path(folder) / LOCK_FILE).unlink(missing_ok=True)


@contextlib.contextmanager
def hold_folder(folder, what: str = "training"):
    """`with hold_folder(run_dir, what="training"):` — the folder is this process's until the block ends.

    The folder must exist. Inside one process, holding a folder again (nested) shares the lock."""
    key = Path(folder).resolve()
    if key in _held:
        _held[key][1] += 1
    else:
        _held[key] = [acquire(key, what), 1]
    try:
        yield
    finally:
        _held[key][1] -= 1
        if _held[key][1] == 0:
            token = _held.pop(key)[0]
            try:
                release(key, token)
            except OSError:  # the disk went away: the lock is stale once this process ends
                pass
