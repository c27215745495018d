"""Talking to SLURM: submitting a script (sbatch) and asking whether a job has ended (squeue).

Only what is installed here is used. A run folder read on a computer without SLURM (a laptop with
the cluster's disk mounted) is never asked about: its state stays what its events say.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from petrilab.errors import UserError

NO_SBATCH = ("SLURM's sbatch was not found on this computer; run this on the cluster's login node, "
             "or use --dry-run to write the script only")
# squeue states after which the job does nothing more (the others: pending, running, completing...)
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
         "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED"}
CACHE_SECONDS = 10.0  # a runs list refreshed every second asks squeue once per job every 10 s
SILENT_SECONDS = 300.0  # after squeue hung (controller unreachable), do not ask again for 5 minutes

_cache: dict[str, tuple[float, dict[str, str] | None]] = {}
_silent_until = 0.0


def find_sbatch() -> str:
    sbatch = shutil.which("sbatch")
    if not sbatch:
        raise UserError(NO_SBATCH + ".", fix="Log in to the cluster and run the same command there.")
    return sbatch


def submit(script: Path, cwd: Path) -> str:
    """Queue `script` (sbatch --parsable) and return SLURM's job id; a plain UserError when refused."""
    sbatch = find_sbatch()
    try:
        done = subprocess.run([sbatch, "--parsable", str(script)], cwd=cwd, capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        raise UserError("SLURM did not answer within 2 minutes; nothing was submitted.", file=script,
                        fix="Check the cluster is up (the command 'sinfo'), then submit again.") from None
    answer = done.stdout.strip()
    if done.returncode != 0 or not answer:
        said = (done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}").splitlines()[-1]
        raise UserError(f"SLURM refused the job: {said}", file=script,
                        fix="Check the partition, GPUs and time limit against the cluster's rules (sinfo), "
                            "or ask its administrators.")
    return answer.splitlines()[-1].split(";")[0].strip()  # "1234" or "1234;cluster"


def _states(job_id: str) -> dict[str, str] | None:
    """Each task's state, {'1234': 'RUNNING'} or {'1234_0': 'COMPLETED', ...}; {} when SLURM no longer
    knows the job (ended long ago); None when it cannot be told (no squeue here, no controller)."""
    global _silent_until
    now = time.monotonic()
    cached = _cache.get(job_id)
    if cached and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    squeue = shutil.which("squeue")
    states: dict[str, str] | None = None
    if squeue and now >= _silent_until:
        try:
            done = subprocess.run([squeue, "-h", "-r", "-t", "all", "-j", job_id, "-o", "%i|%T"],
                                  capture_output=True, text=True, timeout=3)
            if done.returncode == 0:
                states = dict(line.strip().split("|", 1) for line in done.stdout.splitlines() if "|" in line)
            elif "invalid job id" in done.stderr.lower():
                states = {}
        except subprocess.TimeoutExpired:  # a window must not wait on an unreachable controller every 10 s
            _silent_until = now + SILENT_SECONDS
        except (OSError, ValueError):
            states = None
    _cache[job_id] = (now, states)
    return states


def job_ended(job_id: str | None, array_task: int | None = None) -> str | None:
    """SLURM's final state when the job (or its array task) has certainly ended, else None
    ("GONE" when SLURM has already forgotten it)."""
    if not job_id:
        return None
    states = _states(str(job_id))
    if states is None:
        return None
    key = f"{job_id}_{array_task}" if array_task is not None else str(job_id)
    state = states.get(key)
    if state is None:
        # a pending array may still be listed as one line, '1234_[0-3]'
        pending = any(k.startswith(f"{job_id}_[") or k == str(job_id) for k in states)
        return None if pending else "GONE"
    state = state.split()[0].rstrip("+")  # 'CANCELLED by 0' → 'CANCELLED'
    return state if state in ENDED else None
