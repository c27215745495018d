"""Images that can no longer be read while a training runs: a plain stop, not a crash.

With `data.load = "stream"` (or "auto" on data larger than memory) images are
read from disk batch by batch during training. When the disk goes away (a USB
disk pulled, a network drive dropped, the folder renamed) the reader raises
its plain `UserError` — but inside `model.fit`, where TensorFlow runs the
reading in its own machinery and re-raises it as one of its errors whose text
holds our message and a Python traceback. Here we find our error again (the
exception chain, the errors made recently, or the text), and turn it into
`DataLost`: the run ends as `stopped`, saying that the last checkpoint is
intact and how to continue once the data is back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from petrilab import runs
from petrilab.errors import RECENT, UserError

# How TensorFlow quotes a Python error raised in a data generator: "UserError: <str(exc)>", where our str() is
# the message, then "  File: ..." and "  What to do: ..." lines.
_QUOTED = re.compile(r"UserError: (?P<message>.+?)\n(?:  File: (?P<file>[^\n]+)\n)?(?:  What to do: (?P<fix>[^\n]+))?",
                     re.S)


class DataLost(UserError):
    """The data could not be read any more during training: the run stops (status `stopped`), resumable."""

    status = "stopped"


def find_user_error(exc: BaseException) -> UserError | None:
    """Our UserError inside `exc`: itself, in its chain of causes, or quoted in its text (TensorFlow)."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, UserError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "UserError" not in text:
        return None
    for recent in reversed(list(RECENT)):  # the very object, when it was raised in this process
        if recent.message and recent.message in text:
            return recent
    found = _QUOTED.search(text)  # raised in another process (workers): rebuild it from the text
    if found is None:
        return None
    message = found.group("message").split("\n")[0].strip()
    return UserError(message, file=found.group("file"), fix=found.group("fix"))


def _checkpoint_epochs(run_dir: Path) -> int | None:
    """How many epochs last.keras holds (last.json), or None when there is no checkpoint yet."""
    if not (run_dir / runs.LAST_MODEL).exists():
        return None
    try:
        return int(json.loads((run_dir / runs.CHECKPOINT_RECORD).read_text(encoding="utf-8"))["epochs_done"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def data_lost(exc: BaseException, run_dir: Path, data_folders: list[str], epoch: int) -> DataLost | None:
    """The plain stop for an image that could not be read during training (`epoch` 0-based), or None when
    `exc` is not about reading the data."""
    if isinstance(exc, DataLost):
        return exc
    original = find_user_error(exc)
    if original is None:
        return None
    # their tracebacks hold the frames of TensorFlow's reader: let it go (see the trainer)
    original.__traceback__ = None
    RECENT.clear()
    gone = [f for f in data_folders if f and not Path(f).is_dir()]
    where = (f" The data folder {gone[0]} is not there any more." if gone else "")
    message = (f"Training stopped during epoch {epoch + 1}: an image could not be read any more. "
               f"{original.message}{where} The data may have been moved or renamed, a USB disk unplugged or a "
               f"network drive disconnected.")
    held = _checkpoint_epochs(Path(run_dir))
    if held is None:
        fix = "No checkpoint was saved yet: when the data is back where it was, start the training again."
    else:
        after = f", after epoch {held}" if held else ""
        fix = (f"The last checkpoint (last.keras{after}) is intact. When the data is back where it "
               f"was, continue the run: petrilab train {Path(run_dir) / runs.SETTINGS} --resume {run_dir} "
               f"(in the app: Continue training).")
    return DataLost(message, file=original.file, fix=fix)
