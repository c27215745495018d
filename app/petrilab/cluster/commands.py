"""The cluster command of `petrilab`: submit (registered by cli.build_parser).

    petrilab submit SETTINGS --slurm [--partition P] [--gpus N] [--time HH:MM] [--runs-dir DIR]
                    [--set section.key=value ...] [--sweep section.key=v1,v2 ...] [--dry-run] [--json]
                    [--tune --budget MINUTES [--trials N] [--parallel T]] [--events FILE]
"""

from __future__ import annotations

import json
from pathlib import Path

from petrilab.command_events import add_option as add_events_option
from petrilab.errors import UserError


def add_commands(sub) -> None:
    p = sub.add_parser("submit", help="queue the training on a SLURM cluster (one job, or a job array for a sweep)")
    p.add_argument("settings")
    p.add_argument("--slurm", action="store_true", help="submit to SLURM with sbatch (the cluster system supported)")
    p.add_argument("--partition", help="the SLURM partition (queue) to use; default: the cluster's")
    p.add_argument("--gpus", type=int, default=0, help="GPUs per training (default: 0)")
    p.add_argument("--time", metavar="HH:MM", help="time limit per training, hours:minutes (default: the cluster's)")
    p.add_argument("--runs-dir", help="where run folders are created (default: 'runs' beside the settings file)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override one setting for every run")
    p.add_argument("--sweep", action="append", metavar="SECTION.KEY=V1,V2",
                   help="one run per value; several --sweep: one run per combination (a SLURM job array)")
    p.add_argument("--tune", action="store_true",
                   help="tune instead of train: a job array of --parallel tasks shares one search (petrilab tune)")
    p.add_argument("--budget", type=float, metavar="MINUTES", help="--tune: each task's time budget in minutes")
    p.add_argument("--trials", type=int, metavar="N", help="--tune: at most N trials, all tasks together")
    p.add_argument("--parallel", type=int, default=4, metavar="T", help="--tune: array tasks (default: 4)")
    p.add_argument("--dry-run", action="store_true", help="write the run folders and the job script, submit nothing")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object: {"job_id", "script", "run_dirs", "sweep"}')
    add_events_option(p)
    p.set_defaults(func=cmd_submit)


def _submit_line(args) -> str:
    """The submit command as typed (rebuilt from its options), for the job script's header."""
    import shlex

    words = ["petrilab", "submit", args.settings, "--slurm"]
    for option in ("partition", "gpus", "time", "runs_dir"):
        if getattr(args, option):
            words += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    for option in ("set", "sweep"):
        for value in getattr(args, option) or []:
            words += [f"--{option}", value]
    if args.tune:
        words += ["--tune", "--budget", f"{args.budget:g}" if args.budget else "?", "--parallel", str(args.parallel)]
        words += ["--trials", str(args.trials)] if args.trials else []
    words += ["--dry-run"] if args.dry_run else []
    return " ".join(shlex.quote(w) for w in words)


def cmd_submit(args) -> int:
    """Queue the training on a SLURM cluster (a job array for a sweep); the engine runs there later."""
    from petrilab.command_events import for_command, reported

    events = for_command("submit", args.events)
    events.keep_out_of(_data_folders(args.settings))
    with reported(events, "The submission"):  # --events: every outcome is an event, the job in `finished`
        events.start(None, settings=str(Path(args.settings).resolve()), dry_run=args.dry_run)
        if not args.slurm:
            raise UserError("Say which cluster system to submit to: PetriLab knows SLURM.",
                            fix=f"Add --slurm: petrilab submit {args.settings} --slurm")
        done = _submit_tuning(args) if args.tune else _submit(args)
        events.made = done.to_dict()
    return 0


def _data_folders(settings_path: str) -> list:
    """The data folders of the settings to submit (none when they cannot be read: submit then says why)."""
    from petrilab import settings as settings_io

    try:
        settings = settings_io.load(settings_path)
    except UserError:
        return []
    return [settings.data.folder, settings.data.test_folder]


def _submit(args):
    """Submit the training (a job array for a sweep); returns what was done (cluster/submit.py)."""
    import shlex

    from petrilab.cluster.script import Resources
    from petrilab.cluster.submit import submit_experiment

    done = submit_experiment(
        args.settings, overrides=args.set, sweeps=args.sweep, runs_dir=args.runs_dir, dry_run=args.dry_run,
        resources=Resources(partition=args.partition, gpus=args.gpus, time=args.time),
        submit_line=_submit_line(args))
    if args.json:
        print(json.dumps(done.to_dict()))
        return done
    runs_word = "run" if len(done.run_dirs) == 1 else f"{len(done.run_dirs)} runs"
    if args.dry_run:
        print(f"Wrote the job script {done.script} ({runs_word}); nothing was submitted. Submit it with: "
              f"sbatch {shlex.quote(str(done.script))}")
    else:
        print(f"Submitted SLURM job {done.job_id} ({runs_word}). Follow it with: squeue -j {done.job_id}")
    for run_dir in done.run_dirs:
        print(f"Run folder: {run_dir}")
    return done


def _submit_tuning(args):
    """submit --tune: one tuning folder, its trials run by a SLURM job array sharing one study."""
    import shlex

    from petrilab.command_setup import load_settings
    from petrilab.cluster.script import Resources
    from petrilab.cluster.tune_job import submit_tuning

    if args.sweep:
        raise UserError("--tune and --sweep cannot be used together: the tuning chooses the values itself.",
                        fix="Keep one of the two.")
    settings_path = Path(args.settings).resolve()
    settings = load_settings(str(settings_path), args.set)
    runs_dir = Path(args.runs_dir).expanduser().resolve() if args.runs_dir else settings_path.parent / "runs"
    done = submit_tuning(settings, settings_path, budget=args.budget, trials=args.trials, tasks=args.parallel,
                         resources=Resources(partition=args.partition, gpus=args.gpus, time=args.time),
                         runs_dir=runs_dir, dry_run=args.dry_run, submit_line=_submit_line(args))
    if args.json:
        print(json.dumps(done.to_dict()))
        return done
    if args.dry_run:
        print(f"Wrote the tuning job script {done.script} ({done.tasks} array tasks); nothing was submitted. "
              f"Submit it with: sbatch {shlex.quote(str(done.script))}")
    else:
        print(f"Submitted SLURM job {done.job_id} ({done.tasks} array tasks tuning together). "
              f"Follow it with: squeue -j {done.job_id}")
    print(f"Tuning folder: {done.folder}")
    return done
