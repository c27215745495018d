"""Which epoch last.keras holds, so a resumed run continues exactly from it.

The guarantee: `petrilab train --resume RUN` continues from the epoch after the
one last.keras was saved at. Epochs of history.csv after that one (trained,
but never checkpointed before a kill) are dropped and trained again, so the
history has no gap and no epoch twice. last.keras is saved after every epoch
unless saving costs more than CHECKPOINT_BUDGET of the training time (then
less often), at every stop and at the end: a kill loses at most the epochs
since the last save. An epoch cut short by Stop is in the history and counts
as done.

Beside last.keras, `last.json` records the epochs it holds and the
optimiser's step count. The step count is checked at resume: a kill between
saving the model and this record leaves an older record, which the check
notices; the epoch then comes from the step count and the steps per epoch,
as it does for runs saved before this record existed.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from petrilab import runs
from petrilab.errors import UserError

CHECKPOINT_RECORD = runs.CHECKPOINT_RECORD


def optimizer_steps(model) -> int:
    import keras

    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def record_checkpoint(run_dir: Path, model, epochs_done: int) -> None:
    """Say which epochs the last.keras just saved holds (call right after saving it)."""
    runs.atomic_write_json(Path(run_dir) / CHECKPOINT_RECORD, {
        "epochs_done": int(epochs_done),
        "optimizer_steps": optimizer_steps(model),
    })


def checkpoint_epoch(run_dir: Path, model, steps_per_epoch: int) -> int:
    """The number of epochs the loaded last.keras holds: where a resumed run starts."""
    steps = optimizer_steps(model)
    try:
        record = json.loads((Path(run_dir) / CHECKPOINT_RECORD).read_text(encoding="utf-8"))
        if int(record["optimizer_steps"]) == steps:
            return int(record["epochs_done"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return steps // max(1, int(steps_per_epoch))


# ---------------------------------------------------------------- may this run continue?


def recorded_epochs(run_dir: Path) -> int:
    """The epochs last.keras holds by its record (last.json), else by history.csv; without loading the model."""
    run_dir = Path(run_dir)
    try:
        return int(json.loads((run_dir / CHECKPOINT_RECORD).read_text(encoding="utf-8"))["epochs_done"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        return len(runs.read_history(run_dir / runs.HISTORY))
    except (OSError, ValueError):
        return 0


def last_status(run_dir: Path) -> str | None:
    """How the run's last attempt ended (completed | stopped | failed), or None if it never said (killed)."""
    from petrilab.run_state import read_run

    return read_run(run_dir, ask_cluster=False).finished.get("status")


def refuse_unless_resumable(run_dir: Path, epochs: int) -> None:
    """A UserError, before anything is written, when `petrilab train --resume RUN` cannot continue this run.

    The rules: a run continues from last.keras; it trains up to `training.epochs` (the run's settings, or
    --set training.epochs=N); a run that completed all its epochs is finished — continuing it means asking
    for more epochs. A run killed after its last epoch but before its report only finishes (no training).
    """
    run_dir = Path(run_dir)
    if not (run_dir / runs.LAST_MODEL).exists():
        raise UserError("This run has no last.keras to continue from (it stopped before its first checkpoint).",
                        file=run_dir / runs.LAST_MODEL, fix="Start a new training instead of resuming.")
    done = recorded_epochs(run_dir)
    more = f"petrilab train --resume {shlex.quote(str(run_dir))} --set training.epochs={done + 10}"
    if last_status(run_dir) == "completed" and epochs <= done:
        raise UserError(
            f"The run {run_dir} is finished: it completed {done} epoch{'s' if done != 1 else ''} "
            f"(training.epochs = {epochs}), so there is nothing to continue. Nothing was changed.",
            file=run_dir,
            fix=f"To train it further, ask for more epochs than it has done, e.g. {more} "
                f"(any number larger than {done}).")
    if epochs < done:
        raise UserError(
            f"The run {run_dir} has already trained {done} epochs, more than training.epochs = {epochs}. "
            "Nothing was changed.", file=run_dir,
            fix=f"Ask for more epochs than it has done, e.g. {more}.")
