"""`petrilab submit SETTINGS --slurm --tune --budget MINUTES`: one tuning, its trials run by a job array.

The tuning folder and its study (trial 0 = the settings unchanged, queued) are made here, before
sbatch is called; then N array tasks each run `petrilab tune … --study-dir TUNING` on their node.
They share the study through Optuna's journal file in the tuning folder (a file on the shared disk,
no database), so the samplers and the pruner of every task see every trial, and each trial is an
ordinary run folder trial_NNN in the tuning folder. Each task has the whole budget, from its start.
"""

from __future__ import annotations

import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from petrilab import __version__
from petrilab import runs
from petrilab.cluster import slurm
from petrilab.cluster.script import Resources, _comment, check_resources, environment_lines, petrilab_command, \
    sbatch_path
from petrilab.errors import UserError
from petrilab.output_folders import refuse_inside_data, writable_folder

SCRIPT = "tune.sbatch"
RECORD = "tune_slurm.json"  # not slurm.json: the tuning folder is no run folder
LOG_FOLDER = "slurm-logs"
MARGIN_MINUTES = 15  # the time limit asked for when none is given: the budget, then the last trial's finishing
MAX_TASKS = 64


@dataclass
class TuneSubmission:
    job_id: str | None
    script: Path
    folder: Path
    tasks: int

    def to_dict(self) -> dict:
        return {"job_id": self.job_id, "script": str(self.script), "run_dirs": [], "sweep": None,
                "tuning_dir": str(self.folder), "tasks": self.tasks}


def tune_command(folder: Path, budget: float, trials: int | None) -> list[str]:
    """What each array task runs: join the tuning folder's study."""
    from petrilab.tuning.records import START_SETTINGS

    words = [*petrilab_command(), "tune", str(folder / START_SETTINGS), "--study-dir", str(folder),
             "--budget", f"{budget:g}"]
    return words + (["--trials", str(trials)] if trials else [])


def submit_tuning(settings, settings_path: Path, *, budget: float, trials: int | None, tasks: int,
                  resources: Resources, runs_dir: Path, dry_run: bool, submit_line: str) -> TuneSubmission:
    from petrilab.tuning.study import new_folder, open_study

    if not budget or budget <= 0:
        raise UserError("--tune needs a time budget in minutes.", fix="For example --tune --budget 120.")
    if not 1 <= tasks <= MAX_TASKS:
        raise UserError(f"--parallel must be between 1 and {MAX_TASKS}, not {tasks}.")
    if resources.time is None:
        resources = Resources(resources.partition, resources.gpus, _minutes(budget + MARGIN_MINUTES))
    resources = check_resources(resources)
    if not dry_run:
        slurm.find_sbatch()
    refuse_inside_data(runs_dir, [f for f in (settings.data.folder, settings.data.test_folder) if f])
    writable_folder(runs_dir)
    folder = new_folder(runs_dir, settings)
    try:
        open_study(folder, settings)
        (folder / LOG_FOLDER).mkdir(exist_ok=True)
        text = write_tune_script(settings.name, settings_path, folder, budget, trials, tasks, resources, submit_line)
        script = runs.atomic_write_text(folder / SCRIPT, text)
        job_id = None if dry_run else slurm.submit(script, cwd=folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # made a moment ago, never queued
        raise
    runs.atomic_write_json(folder / RECORD, {"job_id": job_id, "tasks": tasks, "budget_minutes": budget,
                                             "trials": trials, "submitted": time.time(), **resources.to_dict(),
                                             "dry_run": dry_run})
    return TuneSubmission(job_id=job_id, script=script, folder=folder, tasks=tasks)


def _minutes(total: float) -> str:
    total = int(total + 0.999)
    return f"{total // 60}:{total % 60:02d}"


def write_tune_script(experiment: str, settings_path: Path, folder: Path, budget: float, trials: int | None,
                      tasks: int, resources: Resources, submit_line: str) -> str:
    command = " ".join(shlex.quote(w) for w in tune_command(folder, budget, trials))
    out = [
        "#!/bin/bash",
        f"# PetriLab tuning job, written by PetriLab {__version__} on {time.strftime('%Y-%m-%d %H:%M %Z')}.",
        f"# Experiment: {_comment(experiment)} (from {_comment(settings_path)})",
        f"# Written by: {_comment(submit_line)}",
        f"# {tasks} array tasks search together: each runs the same 'petrilab tune' on the tuning folder, and",
        "# they share one Optuna study through its journal file (study.journal). Every trial is a run folder",
        f"# trial_NNN in {_comment(folder)}; tuning.csv, tuning.json and best_settings.toml sum them up.",
        f"# Each task stops after {budget:g} minutes (the trial running then is stopped) "
        + (f"or when the study holds {trials} trials." if trials else "."),
        "#",
        "# What SLURM is asked for (sbatch reads the #SBATCH lines; for bash they are comments):",
        f"#SBATCH --job-name=petrilab-tune-{runs.safe_name(experiment)}",
    ]
    if resources.partition:
        out.append(f"#SBATCH --partition={resources.partition}")
    if resources.gpus:
        out.append(f"#SBATCH --gpus={resources.gpus}")
    if resources.time:
        out.append(f"#SBATCH --time={resources.time}")
    out += [
        f"#SBATCH --array=0-{tasks - 1}",
        f"#SBATCH --output={sbatch_path(folder / LOG_FOLDER / 'tune_%a.out')}",
        "",
        "set -euo pipefail",
        "",
        "# The PetriLab that submitted this job, by absolute path (a job does not start in your terminal).",
        *environment_lines(),
        "",
        'echo "PetriLab: tuning job ${SLURM_ARRAY_JOB_ID:-?} task ${SLURM_ARRAY_TASK_ID:-?} on $(hostname)"',
        f"cd {shlex.quote(str(folder))}",
        command,
        "",
    ]
    return "\n".join(out)
