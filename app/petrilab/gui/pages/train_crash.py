"""Train page: what to say when a training's engine died without a last word (killed, out of memory)."""

from __future__ import annotations

import json
from pathlib import Path

from petrilab import runs
from petrilab.gui.process import TRAIN_LOG, read_log_tail

CRASHED = ("The training stopped unexpectedly, not because of your images or settings (most often the "
           "computer ran out of memory).")
CRASHED_FIX = ("Try again; if it happens again, try smaller images or a smaller batch size, and press Copy details "
               "to send them to whoever supports PetriLab.")
CRASHED_RESUME = ("Nothing was lost up to epoch {epoch}: the model so far is saved, and 'Continue training' goes on "
                  "from there. If it happens again, try smaller images or a smaller batch size, and press Copy "
                  "details to send them to whoever supports PetriLab.")


def crash_words(run: Path | None, can_resume: bool) -> tuple[str, str | None]:
    """What to do (continue from the last checkpoint when there is one), and the last lines of the engine's log."""
    log = (run / TRAIN_LOG) if run is not None else None
    tail = read_log_tail(log, 25) if log is not None and log.exists() else ""
    epoch = _checkpoint_epochs(run) if run is not None else None
    fix = CRASHED_RESUME.format(epoch=epoch) if can_resume and epoch else CRASHED_FIX
    details = f"Run: {run}\nLog: {log}\n\n{tail}" if tail else None
    return fix, details


def _checkpoint_epochs(run_dir: Path) -> int | None:
    """The epochs last.keras holds, from its record (training/resume.py), counted as the user counts."""
    record = read_json(run_dir / runs.CHECKPOINT_RECORD)
    value = record.get("epochs_done")
    return int(value) if isinstance(value, int) else None


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
