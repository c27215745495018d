"""What a result was made with, so it can be made again: the run, the model file and its SHA-256, the
post-processing, the inputs and their fingerprint, the PetriLab version and the time.

Written beside the results: `prediction.json` in a prediction's folder, the `made_with` key of
`evaluation*.json` in a run folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import socket
import time
from pathlib import Path

from petrilab import runs
from petrilab.file_names import shown


def inputs_sha256(paths: list[Path], root: Path | None = None) -> str:
    """One SHA-256 over every input's name (relative to `root` when given) and bytes: the same value means the
    same inputs. Each file's own SHA-256 is remembered while its size and date stay the same (data.split)."""
    from petrilab.data.split import fingerprint

    def name(p: Path) -> str:
        if root is not None:
            with contextlib.suppress(ValueError):  # outside root: its whole path
                return shown(Path(os.path.abspath(p)).relative_to(os.path.abspath(root)).as_posix())
        return shown(Path(p).as_posix())

    lines = sorted(f"{fingerprint(p)} {name(p)}" for p in paths)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def made_with(trained, inputs: list[Path], input_folder: str, root: Path | None = None) -> dict:
    """The record of one evaluation or prediction by `trained` (a TrainedModel) on `inputs`."""
    from petrilab import __version__
    from petrilab.data.split import fingerprint

    model = trained.run_dir.resolve() / runs.BEST_MODEL
    return {
        "written_by": "PetriLab", "version": __version__, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": socket.gethostname(), "task": trained.settings.task.kind,
        "run": str(trained.run_dir.resolve()), "model": str(model),
        "model_sha256": fingerprint(model) if model.is_file() else None,
        "postprocess": dataclasses.asdict(trained.settings.postprocess),
        "input_folder": input_folder, "n_inputs": len(inputs), "inputs_sha256": inputs_sha256(inputs, root),
    }
