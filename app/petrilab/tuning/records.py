"""What a tuning writes: each trial's validation value, tuning.csv, tuning.json and best_settings.toml.

Choices are made on the validation images only: a trial's value is its task's main metric on the
validation images at the epoch its model.keras keeps (the lowest validation loss), read from its
events. Test-set numbers (evaluation.json, `evaluation` events) are never read here.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.run_state import read_run
from petrilab.settings import Settings
from petrilab.tuning import space

TUNING_CSV = "tuning.csv"
TUNING_JSON = "tuning.json"
BEST_SETTINGS = "best_settings.toml"
START_SETTINGS = "start_settings.toml"  # the user's settings the tuning started from (trial 0 trains them)
JOURNAL = "study.journal"  # Optuna's journal: shared by the processes of one tuning (a cluster job array)
LOWER_IS_BETTER = ("mae", "mse", "rmse", "loss")
CSV_COLUMNS = ["trial", "run_folder", "changes", "validation_metric", "validation_value", "validation_loss",
               "epochs", "seconds", "verdict", "state", "note"]


def lower_is_better(metric: str | None) -> bool:
    return (metric or "").lower() in LOWER_IS_BETTER


def task_metric(settings: Settings) -> str:
    """The task's main metric (the one `started.main_metric` will name), before any run exists."""
    from petrilab.tasks import output_head

    return output_head(settings.task.kind, 3).main_metric


@dataclass
class RunResult:
    """A trial's run folder, as far as the tuning needs it (all of it from the validation images)."""

    status: str = "unknown"  # the run's `finished` status, or unknown
    metric: str | None = None
    value: float | None = None  # main metric on the validation images at the kept epoch
    val_loss: float | None = None
    epochs: int = 0
    seconds: float | None = None
    verdict: str | None = None
    error: str | None = None


def kept(per_epoch: dict[int, dict], metric: str | None) -> tuple[float | None, float | None]:
    """(main metric, validation loss) at the epoch with the lowest finite validation loss so far."""
    best_epoch, best_loss = None, math.inf
    for epoch in sorted(per_epoch):
        loss = _finite(per_epoch[epoch].get("val_loss"))
        if loss is not None and loss < best_loss:
            best_epoch, best_loss = epoch, loss
    if best_epoch is None:
        return None, None
    return _finite(per_epoch[best_epoch].get(f"val_{metric}")), best_loss


TIE_BREAK = 1e-6  # validation loss weight in a score: it only decides between equal metric values


def score(value: float | None, val_loss: float | None, metric: str | None) -> float | None:
    """The number Optuna ranks and prunes by: the main metric, ties broken by the validation loss.
    On a small validation set accuracy moves in steps (1/6 with six images), so two trials often tie;
    the loss, a millionth as heavy, tells them apart without ever outweighing a real difference."""
    if value is None:
        return None
    loss = (val_loss if val_loss is not None else 0.0) * TIE_BREAK
    return value + loss if lower_is_better(metric) else value - loss


def read_result(run_dir: Path) -> RunResult:
    state = read_run(run_dir, ask_cluster=False)
    result = RunResult(status=str(state.finished.get("status", "unknown")) if state.finished else "unknown",
                       metric=state.started.get("main_metric"), epochs=len(state.metrics),
                       seconds=state.finished.get("seconds"), verdict=state.verdict,
                       error=state.error.get("message") if state.error else None)
    result.value, result.val_loss = kept(state.metrics, result.metric)
    return result


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------- the study's rows


def rows(study) -> list[dict]:
    """One dict per trial of the study, in trial order (every process of a tuning sees the same)."""
    out = []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        attrs = trial.user_attrs
        if "run_folder" not in attrs:
            continue  # asked, not started yet (or a trial queued for later)
        state = attrs.get("outcome") or ("running" if trial.state.name == "RUNNING" else trial.state.name.lower())
        out.append({"trial": trial.number, "run_folder": attrs.get("run_folder"),
                    "changes": space.describe(attrs.get("changes") or {}), "changed": attrs.get("changes") or {},
                    "validation_metric": attrs.get("metric"), "validation_value": attrs.get("value"),
                    "validation_loss": attrs.get("val_loss"), "epochs": attrs.get("epochs"),
                    "seconds": attrs.get("seconds"), "verdict": attrs.get("verdict"), "state": state,
                    "note": attrs.get("note") or ""})
    return out


def best_row(table: list[dict], metric: str) -> dict | None:
    """The complete trial with the best validation value (ties: lower validation loss, then the earlier
    trial, so the user's own settings win a tie); the starting trial when none completed with a value.

    A trial replaces the starting settings (trial 0) only if its validation loss is no higher than theirs
    (when both trained with the same loss): the best of a dozen trials on a few hundred validation images is
    often ahead by luck, one or two images, and such a trial that also fits the validation images worse
    tested lower (stardist patches, two seeds of two: 0.867 and 0.883 where the starting settings gave 0.910
    and 0.893)."""
    done = [r for r in table if r["state"] == "complete" and r["validation_value"] is not None]
    if not done:
        start = [r for r in table if r["trial"] == 0 and r["validation_value"] is not None]
        return start[0] if start else None
    start = next((r for r in done if r["trial"] == 0), None)
    if start is not None:
        done = [r for r in done if r is start or not _fits_worse(r, start)]
    sign = 1.0 if lower_is_better(metric) else -1.0
    return min(done, key=lambda r: (sign * r["validation_value"], r["validation_loss"] if r["validation_loss"]
                                    is not None else math.inf, r["trial"]))


def _fits_worse(row: dict, start: dict) -> bool:
    """The trial ended with a higher validation loss than the starting settings, with the same loss function."""
    if row["validation_loss"] is None or start["validation_loss"] is None or "training.loss" in (row["changed"] or {}):
        return False
    return row["validation_loss"] > start["validation_loss"]


def write(folder: Path, study, start: Settings, *, metric: str, budget_minutes: float | None,
          max_trials: int | None, ended: str | None = None) -> dict:
    """tuning.csv, tuning.json and (once a trial is best) best_settings.toml, all atomically."""
    table = rows(study)
    runs.atomic_write_csv(folder / TUNING_CSV, CSV_COLUMNS, [[_cell(r[c]) for c in CSV_COLUMNS] for r in table])
    best = best_row(table, metric)
    summary = {
        "format": 1, "study": study.study_name, "task": start.task.kind, "metric": metric,
        "direction": "minimize" if lower_is_better(metric) else "maximize", "chosen_on": "validation images",
        "start_settings": START_SETTINGS, "budget_minutes": budget_minutes, "max_trials": max_trials,
        "updated": round(time.time(), 3), "ended": ended,
        "counts": {state: sum(r["state"] == state for r in table)
                   for state in ("complete", "pruned", "stopped", "failed", "running")},
        "trials": table, "best": None,
    }
    if best is not None:
        trial = {t.number: t for t in study.get_trials(deepcopy=False)}.get(best["trial"])
        params, extra = (trial.params, trial.user_attrs.get("extra") or {}) if trial else ({}, {})
        chosen = space.build(start, params, extra) if best["trial"] != 0 else start.copy()
        if best["trial"] != 0:
            chosen.name = f"{start.name}-tuned"
        settings_io.save(chosen, folder / BEST_SETTINGS)
        baseline = next((r for r in table if r["trial"] == 0), None)
        summary["best"] = {**{k: best[k] for k in ("trial", "run_folder", "changes", "changed", "validation_value",
                                                  "validation_loss", "state")},
                           "settings_file": BEST_SETTINGS,
                           "baseline_value": baseline["validation_value"] if baseline else None}
    runs.atomic_write_json(folder / TUNING_JSON, summary)
    return summary


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def write_trial_record(run_dir: Path, tuning: str, number: int, changed: dict, note: str = "") -> None:
    """tuning_trial.json: the Runs page labels the trial by what it changed."""
    runs.atomic_write_json(Path(run_dir) / runs.TRIAL_RECORD, {"tuning": tuning, "trial": number,
                                                               "changes": json.loads(json.dumps(changed)),
                                                               "note": note})


def result_attrs(result: RunResult) -> dict:
    return {k: v for k, v in asdict(result).items() if k in ("metric", "value", "val_loss", "epochs", "seconds",
                                                              "verdict")}
