"""`petrilab submit`: run folders made up front, one sbatch script, one job (an array for a sweep).

Order matters: every setting of every sweep point is checked, and sbatch is found, before the first
folder is created; the folders, their settings.toml and the script exist before sbatch is called;
and if SLURM refuses the job, the folders made for it are removed again, so the runs list never
shows a run that will never start.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.cluster import slurm
from petrilab.cluster.script import Resources, check_resources, write_script
from petrilab.cluster.sweep import expand, label, parse_sweeps
from petrilab.errors import UserError
from petrilab.output_folders import refuse_inside_data, writable_folder

LOG_FOLDER = "slurm-logs"  # in the runs folder: an array's output files (SLURM names them by task number)


@dataclass
class Submission:
    """What one submit did; to_dict() is the JSON `petrilab submit --json` prints."""

    job_id: str | None
    script: Path
    run_dirs: list[Path] = field(default_factory=list)
    sweep: str | None = None

    def to_dict(self) -> dict:
        return {"job_id": self.job_id, "script": str(self.script), "run_dirs": [str(d) for d in self.run_dirs],
                "sweep": self.sweep}


def _new_folder(runs_dir: Path, stamp: str, name: str) -> Path:
    # like runs.new_run_dir, but keeps the '=' and '.' of the sweep values readable, and one time for all
    stem = f"{stamp}_{name[:100]}"
    for n in range(1, 1000):
        candidate = runs_dir / (stem if n == 1 else f"{stem}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run folder in {runs_dir}")


def _load(settings_path: Path, overrides: list[str]):
    settings = settings_io.load(settings_path)
    for text in overrides:
        key, value = settings_io.parse_override(text)
        settings_io.apply_override(settings, key, value)
    settings_io.validate(settings, source=str(settings_path))
    return settings


def _check_data(settings, settings_path: Path) -> list[str]:
    folders = [settings.data.folder, settings.data.test_folder]
    for folder in filter(None, folders):
        if not Path(folder).is_dir():
            raise UserError(f"The data folder {folder} does not exist on this computer.", file=settings_path,
                            fix="Submit from the cluster's login node, with data.folder pointing at the data "
                                "on the cluster's disk.")
    if not settings.data.folder:
        raise UserError("The settings name no data folder.", file=settings_path,
                        fix="Set data.folder (petrilab init --data DIR writes it).")
    return [f for f in folders if f]


def submit_experiment(settings_path: str | Path, *, overrides: list[str] | None = None,
                      sweeps: list[str] | None = None, resources: Resources | None = None,
                      runs_dir: str | Path | None = None, dry_run: bool = False,
                      submit_line: str = "petrilab submit") -> Submission:
    settings_path = Path(settings_path).resolve()
    base = _load(settings_path, overrides or [])
    swept = parse_sweeps(sweeps)
    set_keys = {settings_io.parse_override(text)[0] for text in overrides or []}
    for key, _ in swept:
        if key in set_keys:
            raise UserError(f"'{key}' is both set (--set) and swept (--sweep).", fix="Keep only one of the two.")
    combinations = expand(base, swept, source=str(settings_path))
    resources = check_resources(resources or Resources())
    if resources.gpus and any(c.settings.training.device == "cpu" for c in combinations):
        # the cluster would hold the cards for the whole job while the training ignores them
        raise UserError(f"SLURM is asked for {resources.gpus} GPU(s), but the settings train on the processor "
                        "(training.device = \"cpu\").", file=settings_path,
                        fix="Set training.device to \"auto\" (or --set training.device=auto), or leave out --gpus.")
    data_folders = _check_data(base, settings_path)
    if not dry_run:
        slurm.find_sbatch()  # before anything is written
    runs_dir = Path(runs_dir).expanduser().resolve() if runs_dir else settings_path.parent / "runs"
    refuse_inside_data(runs_dir, data_folders)
    writable_folder(runs_dir)

    sweep = f"{runs.safe_name(base.name)}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}" if swept else None
    run_dirs: list[Path] = []
    stamp = time.strftime("%Y-%m-%d_%H%M%S")
    try:
        for combination in combinations:
            name = runs.safe_name(base.name) + (f"_{label(combination.values)}" if swept else "")
            run_dir = _new_folder(runs_dir, stamp, name)
            run_dirs.append(run_dir)
            settings_io.save(combination.settings, run_dir / runs.SETTINGS)
        if swept:
            (runs_dir / LOG_FOLDER).mkdir(exist_ok=True)
            log = runs_dir / LOG_FOLDER / f"{sweep}_%a.out"
            logs = [runs_dir / LOG_FOLDER / f"{sweep}_{i}.out" for i in range(len(run_dirs))]
        else:
            log = run_dirs[0] / runs.SLURM_LOG
            logs = [log]
        text = write_script(experiment=base.name, settings_path=settings_path, run_dirs=run_dirs,
                            sweep_values=[c.values for c in combinations] if swept else None, sweep=sweep,
                            resources=resources, log=log, submit_line=submit_line)
        for run_dir, task_log in zip(run_dirs, logs):
            runs.atomic_write_text(run_dir / runs.SLURM_SCRIPT, text)
            if task_log.parent != run_dir:
                _link_log(task_log, run_dir / runs.SLURM_LOG)
        script = run_dirs[0] / runs.SLURM_SCRIPT
        job_id = None if dry_run else slurm.submit(script, cwd=runs_dir)
    except BaseException:
        for run_dir in run_dirs:  # made by this submit a moment ago, and never queued
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    submitted = time.time()
    for i, (run_dir, combination, task_log) in enumerate(zip(run_dirs, combinations, logs)):
        runs.atomic_write_json(run_dir / runs.SLURM_RECORD, {
            "job_id": job_id,
            "array_task": i if swept else None,
            "sweep": sweep,
            "sweep_values": combination.values,
            "submitted": submitted,
            **resources.to_dict(),
            "dry_run": dry_run,
            "log": str(task_log),
        })
    return Submission(job_id=job_id, script=script, run_dirs=run_dirs, sweep=sweep)


def _link_log(target: Path, link: Path) -> None:
    """slurm.out in the run folder points at its array task's output (best effort: some shares have no links)."""
    try:
        os.symlink(os.path.relpath(target, link.parent), link)
    except OSError:
        pass
