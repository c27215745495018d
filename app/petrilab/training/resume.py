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
from pathlib import Path

from petrilab import runs

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
