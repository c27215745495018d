"""Let the diagnosis steer: a finished trial's verdict proposes the next trial.

After the starting trial, and after any trial that became the best so far, its diagnosis.json is read;
when it says overfitting, underfitting or not finished, the first advice that changes the model the
run would keep (more regularisation, a bigger network, more epochs, another learning rate) is applied
to that trial's settings and queued as the next trial (Optuna's `enqueue_trial`): overfitting then
samples more regularisation, underfitting a larger or longer training. Advice that would change the
data, the split (the validation images choices are made on) or the architecture is left to the user.
"""

from __future__ import annotations

import json
from pathlib import Path

from petrilab import runs
from petrilab.errors import UserError
from petrilab.settings import Settings
from petrilab.tuning import space

VERDICTS = ("overfitting", "underfitting", "not_finished")
# changes that cannot change the model a run keeps (early stopping ends the run sooner, at the same best epoch)
NO_EFFECT_ALONE = ("training.early_stopping", "training.patience")
LEFT_TO_THE_USER = ("model.architecture", "model.fine_tune_layers")


def first_advice(run_dir: Path) -> tuple[str, str, dict] | None:
    """(verdict, advice text, changes) of the first usable advice of a run's final diagnosis, or None."""
    try:
        diagnosis = json.loads((Path(run_dir) / runs.DIAGNOSIS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    verdict = diagnosis.get("verdict")
    if verdict not in VERDICTS:
        return None
    for advice in diagnosis.get("advice") or []:
        changes = advice.get("changes") or {}
        if not changes or all(k in NO_EFFECT_ALONE for k in changes):
            continue
        if any(k.startswith(space.FIXED_PREFIXES) or k in LEFT_TO_THE_USER for k in changes):
            continue
        return verdict, str(advice.get("text") or ""), dict(changes)
    return None


def propose(study, trial, start: Settings, run_dir: Path) -> dict | None:
    """Queue the trial that applies `trial`'s first advice; returns what was queued (None: nothing new)."""
    found = first_advice(run_dir)
    if found is None:
        return None
    verdict, text, changes = found
    params = dict(trial.params)
    extra = dict(trial.user_attrs.get("extra") or {})
    dims = {d.key: d for d in space.dimensions_for(start) if d.key}
    for key, value in changes.items():
        dim = dims.get(key)
        if dim is not None and dim.contains(value, start):
            params[dim.name] = value  # inside the search space: Optuna learns from it like any sample
            extra.pop(key, None)
        else:
            extra[key] = value
    try:
        planned = space.changes(start, space.build(start, params, extra))
    except UserError:
        return None
    if any(_same(planned, t.user_attrs.get("changes")) for t in study.get_trials(deepcopy=False)):
        return None  # already tried, or already queued
    attrs = {"extra": extra, "steered_by": trial.number, "advice": text, "verdict": verdict, "changes": planned}
    study.enqueue_trial(params, user_attrs=attrs)
    return attrs


def _same(a: dict, b) -> bool:
    return isinstance(b, dict) and json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
