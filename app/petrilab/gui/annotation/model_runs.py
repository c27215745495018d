"""A trained run's help for both annotation windows, made in a child process so the window never loads
TensorFlow: `petrilab propose-annotations` (annotation/model_proposal.prepare) and what it leaves behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from petrilab.annotation.proposal_files import ERROR, ORDER
from petrilab.errors import UserError


def run_proposals(run_dir: Path, folder_root: Path, out: Path) -> dict:
    """The child's record (order.json): `order`, the images to do most useful first with their uncertainty,
    and for a class folder `proposed`, name → [class, probability]; or the child's refusal as a UserError."""
    from petrilab.gui.context import engine_command

    done = subprocess.run([*engine_command(), "propose-annotations", str(run_dir), str(folder_root), str(out)],
                          capture_output=True, text=True)
    if (out / ERROR).is_file():
        said = json.loads((out / ERROR).read_text(encoding="utf-8"))
        raise UserError(said["message"], file=said.get("file"), fix=said.get("fix"))
    if done.returncode != 0 or not (out / ORDER).is_file():
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"The proposals of the run {run_dir.name} could not be made ({tail[0]}).", file=str(run_dir),
                        fix="Check that the run finished training; choose another run or use the classical proposal.")
    return json.loads((out / ORDER).read_text(encoding="utf-8"))
