"""The search: Optuna's ask/tell around our own trainer and run folders, within a wall-clock budget.

Why Optuna: it never trains anything itself (ask for values, tell the result), so the trials stay
PetriLab run folders trained by `petrilab train`, on either Keras backend; its pruners stop poor
trials from their epochs' values; a journal file lets several processes (a cluster job array) share
one study on a shared disk without a database; and it is a small pure-Python dependency.

Trial 0 is always the starting settings unchanged, so the best found is never worse than them on
the validation images. A tuning folder holds start_settings.toml, study.journal, tuning.csv,
tuning.json, best_settings.toml and one run folder per trial (trial_000, trial_001, …).
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from pathlib import Path

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.output_folders import refuse_inside_data, writable_folder
from petrilab.settings import Settings
from petrilab.tuning import records, space, steer
from petrilab.tuning.trial_run import run_trial

MIN_TRIAL_S = 15.0  # a trial needs at least this much of the budget to be worth starting
STOP_FILE = runs.STOP_REQUEST  # in the tuning folder: end the running trial politely and stop searching


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines say what happens
    return optuna


def new_folder(runs_dir: Path, start: Settings) -> Path:
    """runs/<date>_<time>_<name>_tune/, refused inside the data."""
    runs_dir = Path(runs_dir)
    refuse_inside_data(runs_dir, [f for f in (start.data.folder, start.data.test_folder) if f])
    return runs.new_run_dir(writable_folder(runs_dir), f"{start.name or 'experiment'}_tune")


def open_study(folder: Path, start: Settings | None, seed: int | None = None):
    """The tuning folder's study, created (with trial 0 = `start` queued) when the folder has none yet.
    Returns (study, starting settings)."""
    optuna = _optuna()
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    folder = Path(folder)
    journal = folder / records.JOURNAL
    exists = journal.exists() and (folder / records.START_SETTINGS).exists()
    if exists:
        start = settings_io.load(folder / records.START_SETTINGS)  # joining: the tuning's own starting point
    elif start is None:
        raise UserError(f"{folder} holds no tuning yet.", file=folder, fix="Give the settings file to start from.")
    else:
        settings_io.validate(start)
        writable_folder(folder)
        settings_io.save(start, folder / records.START_SETTINGS)
    metric = records.task_metric(start)
    storage = JournalStorage(JournalFileBackend(str(journal)))
    epochs = start.training.epochs
    # a fifth of the epochs before pruning, at most 5 (with early stopping, epochs is a cap, not a length)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=max(1, min(5, epochs // 5)))
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)
    study = optuna.create_study(storage=storage, study_name="petrilab", load_if_exists=True, sampler=sampler,
                                pruner=pruner, direction="minimize" if records.lower_is_better(metric) else "maximize")
    if not study.trials:
        fixed = space.neutral(start)
        study.enqueue_trial(fixed, user_attrs={"extra": {}, "baseline": True, "fixed": fixed,
                                               "note": "your settings, unchanged"})
    return study, start


class _Asked:
    """A stop asked for: a STOP file in the tuning folder, Ctrl+C or SIGTERM (a cluster's time limit)."""

    def __init__(self, folder: Path):
        self.file = folder / STOP_FILE
        self.signalled = False
        self._previous = {}

    def __call__(self) -> bool:
        return self.signalled or self.file.exists()

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._on_signal)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum, frame) -> None:
        self.signalled = True


def tune(start: Settings | None, folder: Path, *, budget_minutes: float, max_trials: int | None = None,
         echo=print) -> dict:
    """Search until the budget (wall clock) is spent, `max_trials` trials exist in the study, or a stop
    is asked; returns tuning.json's content. Several processes may run this on one folder at once."""
    if not budget_minutes or budget_minutes <= 0:
        raise UserError("The time budget must be more than 0 minutes.", fix="For example --budget 30.")
    folder = Path(folder)
    seed_shift = int(os.environ.get("SLURM_ARRAY_TASK_ID", "0") or 0)
    study, start = open_study(folder, start, seed=(start.training.seed if start else 0) + seed_shift)
    metric = records.task_metric(start)
    deadline = time.monotonic() + budget_minutes * 60.0
    asked = _Asked(folder)
    asked.install()
    ended = None

    def write(ended_now=None):
        return records.write(folder, study, start, metric=metric, budget_minutes=budget_minutes,
                             max_trials=max_trials, ended=ended_now)

    try:
        while True:
            if asked():
                ended = "asked"
                break
            if deadline - time.monotonic() < MIN_TRIAL_S:
                ended = "budget"
                break
            if max_trials and len([t for t in study.get_trials(deepcopy=False)
                                   if "run_folder" in t.user_attrs]) >= max_trials:
                ended = "trials"
                break
            _one_trial(study, start, folder, metric, deadline, asked, write, echo)
    finally:
        asked.restore()
        summary = write(ended)
    _say_end(summary, ended, echo)
    return summary


def _one_trial(study, start: Settings, folder: Path, metric: str, deadline: float, asked, write, echo) -> None:
    optuna = _optuna()
    trial = study.ask()
    baseline = bool(trial.user_attrs.get("baseline"))
    params = space.suggest(trial, start, only=trial.user_attrs.get("fixed") or {} if baseline else None)
    extra = trial.user_attrs.get("extra") or {}
    run_dir = folder / f"trial_{trial.number:03d}"
    run_dir.mkdir(exist_ok=True)
    trial.set_user_attr("run_folder", run_dir.name)
    try:
        settings = start.copy() if baseline else space.build(start, params, extra)
    except UserError as exc:  # a combination the settings refuse: recorded, and the search goes on
        trial.set_user_attr("changes", {**params, **extra})
        _finish(trial, "failed", {}, f"These settings cannot be used together: {exc.message}")
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        write()
        echo(f"Trial {trial.number}: failed ({exc.message})")
        return
    changed = space.changes(start, settings)
    trial.set_user_attr("changes", changed)
    records.write_trial_record(run_dir, folder.name, trial.number, changed, trial.user_attrs.get("advice") or "")
    write()
    echo(f"Trial {trial.number}: {space.describe(changed)}"
         + (f" (advice: {trial.user_attrs['advice']})" if trial.user_attrs.get("advice") else ""))

    grace = _grace_epochs(study)

    def on_epoch(epoch: int, value) -> bool:
        if value is None:
            return False
        trial.report(value, epoch)
        # the starting settings always run to the end; the others are judged once past the grace epochs
        return not baseline and epoch + 1 >= grace and trial.should_prune()

    outcome = run_trial(run_dir, settings, deadline=deadline, on_epoch=on_epoch, should_stop=asked)
    _finish(trial, outcome.state, records.result_attrs(outcome.result), outcome.note)
    if outcome.state == "complete":
        study.tell(trial, records.score(outcome.result.value, outcome.result.val_loss, metric))
    elif outcome.state == "failed":
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    value = outcome.result.value
    shown = f"{metric} {value:.4g}" if value is not None else "no value"
    echo(f"Trial {trial.number}: {outcome.state}, {shown}, {outcome.result.epochs} epochs"
         + (f" — {outcome.note}" if outcome.note else ""))
    summary = write()
    best = summary.get("best") or {}
    if outcome.state == "complete" and (trial.number == 0 or best.get("trial") == trial.number):
        queued = steer.propose(study, trial, start, run_dir)
        if queued:
            echo(f"  Its diagnosis ({queued['verdict'].replace('_', ' ')}) proposes the next trial: "
                 f"{queued['advice']}")


def _grace_epochs(study) -> int:
    """Half the epochs your settings trained for: before then a trial is not compared with them. A trial
    that starts slower but ends better (two convolutions per block with dropout, on microscopy patches)
    was otherwise pruned at epoch 7 by a baseline that kept its 35th."""
    done = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("baseline") and t.user_attrs.get("epochs")]
    return int(done[0].user_attrs["epochs"]) // 2 if done else 0


def _finish(trial, state: str, attrs: dict, note: str) -> None:
    for key, value in attrs.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        trial.set_user_attr(key, value)
    trial.set_user_attr("outcome", state)
    trial.set_user_attr("note", note or trial.user_attrs.get("note") or "")


def _say_end(summary: dict, ended: str | None, echo) -> None:
    why = {"budget": "the time budget is spent", "trials": "the number of trials is reached",
           "asked": "a stop was asked for"}.get(ended or "", "it ended")
    counts = summary.get("counts", {})
    echo(f"Tuning ended: {why}. {counts.get('complete', 0)} complete, {counts.get('pruned', 0)} pruned, "
         f"{counts.get('stopped', 0)} stopped, {counts.get('failed', 0)} failed.")
    best = summary.get("best")
    if best:
        which = "your settings (trial 0)" if best["trial"] == 0 else f"trial {best['trial']} ({best['changes']})"
        echo(f"Best on the validation images: {which}, {summary['metric']} {best['validation_value']:.4g}"
             + (f" (your settings: {best['baseline_value']:.4g})" if best.get("baseline_value") is not None
                and best["trial"] != 0 else "") + f". Settings: {best['settings_file']}")
