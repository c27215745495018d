"""The sbatch script: readable, commented, and complete enough to submit again by hand.

It names the exact PetriLab that wrote it (absolute paths: a job does not start in the user's
terminal, so neither `petrilab` on PATH nor an activated venv can be assumed), the few environment
variables that change what the engine does, and for each run the literal `petrilab train` command.
A sweep is one SLURM job array: task i trains run folder i (the `case` below), and every run folder
holds a copy of the same script.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from petrilab import __version__
from petrilab import runs
from petrilab.errors import UserError

# Environment variables carried into the job when set here (the job may start with a bare environment).
CARRIED = ("KERAS_BACKEND", "KERAS_HOME", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "TORCH_HOME")
CARRIED_PREFIX = "PETRILAB_"


@dataclass
class Resources:
    """What the job asks SLURM for; None or 0 leaves the cluster's default."""

    partition: str | None = None
    gpus: int = 0
    time: str | None = None  # as SLURM wants it: [days-]hours:minutes:seconds

    def to_dict(self) -> dict:
        return {"partition": self.partition, "gpus": self.gpus, "time": self.time}


def slurm_time(text: str | None) -> str | None:
    """'2:30' (hours:minutes, how people say it) → '2:30:00'. SLURM itself would read '2:30' as
    2 minutes 30 seconds, so a two-part time is completed here. Also accepts H:MM:SS and D-H:MM[:SS]."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    match = re.fullmatch(r"(?:(\d+)-)?(\d+):([0-5]\d)(?::([0-5]\d))?", text)
    if not match:
        raise UserError(f"'--time {text}' is not a time limit PetriLab understands.",
                        fix="Give hours and minutes, e.g. --time 02:30 (or 1-12:00 for a day and a half).")
    days, hours, minutes, seconds = match.groups()
    limit = f"{int(hours):02d}:{minutes}:{seconds or '00'}"
    return f"{int(days)}-{limit}" if days else limit


def check_resources(resources: Resources) -> Resources:
    """The same resources, checked (plain UserErrors) and with the time limit in SLURM's form."""
    if resources.partition is not None and not re.fullmatch(r"[\w.\-]+", resources.partition):
        raise UserError(f"'{resources.partition}' is not a partition name.",
                        fix="Use a name from the cluster's list (the command 'sinfo' shows them).")
    if resources.gpus is None or resources.gpus < 0:
        raise UserError(f"--gpus must be 0 or more, not {resources.gpus}.")
    return Resources(partition=resources.partition or None, gpus=int(resources.gpus), time=slurm_time(resources.time))


def petrilab_command() -> list[str]:
    """How to start this very PetriLab from a job, by absolute path."""
    if getattr(sys, "frozen", False):  # the installed app: its executable is the command
        return [os.path.abspath(sys.executable)]
    python = os.path.abspath(sys.executable)  # not resolved: a venv's python is a link that must stay one
    script = Path(python).parent / ("petrilab.exe" if os.name == "nt" else "petrilab")
    return [str(script)] if script.is_file() else [python, "-m", "petrilab"]


def train_command(run_dir: Path) -> list[str]:
    """The exact command a job runs for one run folder (its own settings.toml, into that folder)."""
    run_dir = Path(run_dir)
    return [*petrilab_command(), "train", str(run_dir / runs.SETTINGS), "--run-dir", str(run_dir), "--quiet"]


def environment_lines() -> list[str]:
    """Shell lines that give the job the environment this PetriLab runs in."""
    lines = []
    prefix = sys.prefix
    if prefix != getattr(sys, "base_prefix", prefix):
        lines.append(f"export VIRTUAL_ENV={shlex.quote(prefix)}")
    if not getattr(sys, "frozen", False):
        bin_dir = os.path.dirname(os.path.abspath(sys.executable))
        lines.append(f'export PATH={shlex.quote(bin_dir)}:"$PATH"')
    for name in sorted(os.environ):
        if name in CARRIED or name.startswith(CARRIED_PREFIX):
            lines.append(f"export {name}={shlex.quote(os.environ[name])}")
    return lines


def sbatch_path(path: Path) -> str:
    """A path for an #SBATCH line: sbatch reads double quotes there, but not shell escapes."""
    text = str(path)
    if '"' in text or "%" in text.replace("%a", ""):
        raise UserError(f"The folder {path} has a character SLURM cannot take in a file name (\" or %).",
                        file=path, fix="Choose a runs folder (--runs-dir) whose path has neither.")
    return f'"{text}"' if re.search(r"\s", text) else text


def _comment(text) -> str:
    """Text for a # comment line: a line break in a name must not end the comment and become a command."""
    return " ".join(str(text).splitlines())


def write_script(*, experiment: str, settings_path: Path, run_dirs: list[Path], sweep_values: list[dict] | None,
                 sweep: str | None, resources: Resources, log: Path, submit_line: str) -> str:
    """The script's text. `sweep_values` (one dict per run) makes it a job array; `log` is SLURM's
    output file (with %a for the array task)."""
    array = sweep_values is not None
    out = [
        "#!/bin/bash",
        f"# PetriLab cluster job, written by PetriLab {__version__} on {time.strftime('%Y-%m-%d %H:%M %Z')}.",
        f"# Experiment: {_comment(experiment)} (from {_comment(settings_path)})",
        f"# Written by: {_comment(submit_line)}",
    ]
    if array:
        out += [f"# Sweep {_comment(sweep)}: {len(run_dirs)} runs, one array task each (task i trains run folder i below;",
                "# each run folder holds its own settings.toml and a copy of this script)."]
    out += [
        "# Submit it again by hand (after deleting events.jsonl in its run folders) with:  sbatch THIS_FILE",
        "#",
        "# What SLURM is asked for (sbatch reads the #SBATCH lines; for bash they are comments):",
        f"#SBATCH --job-name=petrilab-{runs.safe_name(experiment)}",
    ]
    if resources.partition:
        out.append(f"#SBATCH --partition={resources.partition}")
    if resources.gpus:
        out.append(f"#SBATCH --gpus={resources.gpus}")
    if resources.time:
        out.append(f"#SBATCH --time={resources.time}")
    if array:
        out.append(f"#SBATCH --array=0-{len(run_dirs) - 1}")
    out += [
        f"#SBATCH --output={sbatch_path(log)}",
        "",
        "set -euo pipefail",
        "",
        "# The PetriLab that submitted this job, by absolute path (a job does not start in your terminal).",
        *environment_lines(),
        "",
    ]
    quoted = [" ".join(shlex.quote(part) for part in train_command(d)) for d in run_dirs]
    if not array:
        out += [
            "# The training: its run folder and settings.toml were made when the job was submitted.",
            f"cd {shlex.quote(str(run_dirs[0]))}",
            f'echo "PetriLab: job ${{SLURM_JOB_ID:-?}} on $(hostname) trains" {shlex.quote(str(run_dirs[0]))}',
            quoted[0],
            "",
        ]
        return "\n".join(out)
    out += [
        "# One run folder per array task; they differ only in the swept settings named after each task.",
        'task="${SLURM_ARRAY_TASK_ID:?this script is a SLURM job array: submit it with sbatch}"',
        'echo "PetriLab: job ${SLURM_ARRAY_JOB_ID:-?} task $task on $(hostname)"',
        'case "$task" in',
    ]
    for i, (run_dir, values, command) in enumerate(zip(run_dirs, sweep_values, quoted)):
        shown = _comment(", ".join(f"{k} = {v!r}" for k, v in values.items()))
        out += [
            f"  {i})  # {shown}",
            f"    cd {shlex.quote(str(run_dir))}",
            f"    {command}",
            "    ;;",
        ]
    out += [
        '  *) echo "PetriLab: no run folder for array task $task" >&2; exit 2 ;;',
        "esac",
        "",
    ]
    return "\n".join(out)
