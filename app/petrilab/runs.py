"""The run folder: its file names, atomic writes, and its history table (run_state.py reads a run back).

Every file is written to a temporary name in the same folder and renamed
into place, so a killed run leaves each file either old or new, never
half-written. Temporary names are unique (process id and a random part), so
two processes never write the same one, and files get the mode the user's
umask asks for (file_modes.py), not mkstemp's owner-only 0600.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

from petrilab.errors import UserError
from petrilab.file_names import shown, shown_values

SETTINGS = "settings.toml"
SPLIT = "split.csv"
EVENTS = "events.jsonl"
HISTORY = "history.csv"
BEST_MODEL = "model.keras"
LAST_MODEL = "last.keras"
CHECKPOINT_RECORD = "last.json"  # which epoch last.keras holds (training/resume.py)
DIAGNOSIS = "diagnosis.json"
EVALUATION = "evaluation.json"
REPORT = "report.html"
DATASET_CHECK = "dataset_check.json"
STOP_REQUEST = "STOP"  # created by whoever wants the run to stop after the current batch
SLURM_SCRIPT = "slurm.sbatch"  # petrilab submit: the job script (cluster/script.py)
SLURM_RECORD = "slurm.json"  # petrilab submit: job id, array task, sweep, resources (cluster/submit.py)
SLURM_LOG = "slurm.out"  # the job's terminal output (for a sweep, a link into the runs folder's slurm-logs)
CORRECTIONS = "corrections.json"  # trained on an annotation folder: which images were labelled and when (annotation/corrections.py)
ONNX_MODEL = "model.onnx"  # model.keras converted for ONNX Runtime, made by predict (prediction/onnx_engine.py)
TRIAL_RECORD = "tuning_trial.json"  # petrilab tune: a trial's number and what it changed (tuning/records.py)


# ---------------------------------------------------------------- atomic writes


def temporary_name(path: str | Path, suffix: str = ".tmp") -> Path:
    """A hidden name beside `path` that no other process or write uses: `.NAME.PID.RANDOM.partialSUFFIX`."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial{suffix}")


def _atomic(path: Path, write) -> Path:
    from petrilab.file_modes import share_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            share_file(f.fileno())  # mkstemp made it 0600
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return _atomic(Path(path), lambda f: f.write(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    # a file name that is not UTF-8 is written as \xNN (file_names.shown), never a failed write
    return atomic_write_bytes(path, shown(text).encode("utf-8"))


def atomic_write_json(path: str | Path, obj) -> Path:
    return atomic_write_text(path, json.dumps(shown_values(obj), indent=2, ensure_ascii=False) + "\n")


def atomic_write_csv(path: str | Path, header: list[str], rows: list[list], excel: bool = False) -> Path:
    """Every table PetriLab writes: UTF-8, commas between columns, points in numbers (Python never writes
    decimal commas).

    `excel` (the --excel option, passed down by the command): start with a byte-order mark and end lines as
    Windows does, so Excel reads accents and µ right (LibreOffice does either way).
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n" if excel else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    return atomic_write_text(path, ("\ufeff" if excel else "") + buffer.getvalue())


# ---------------------------------------------------------------- run folders


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w\-]+", "-", name, flags=re.UNICODE).strip("-")
    return cleaned[:60] or "run"


def require_run_folder(run_dir: str | Path) -> None:
    """Refuse a folder that is not a run (no settings.toml) in plain words: the commands that read a run call it
    before loading TensorFlow, so a wrong folder is said at once instead of after seconds."""
    run_dir = Path(run_dir)
    if not (run_dir / SETTINGS).exists():
        raise UserError(f"{run_dir} is not a PetriLab run folder (it has no {SETTINGS}).",
                        file=run_dir, fix="Choose a folder under 'runs' made by 'petrilab train'.")


def refuse_foreign_folder(run_dir: Path) -> None:
    """--run-dir: a new or empty folder, or one PetriLab prepared (its settings.toml written first by the window
    or `petrilab submit`); never a folder of other files, which a run would mix with its own."""
    if not run_dir.is_dir() or (run_dir / SETTINGS).exists():
        return
    others = sorted(p.name for p in run_dir.iterdir())
    if others:
        shown = ", ".join(f"'{n}'" for n in others[:3]) + (" …" if len(others) > 3 else "")
        raise UserError(f"The folder {run_dir} is not empty ({shown}) and is not a PetriLab run folder.",
                        file=run_dir, fix="Give --run-dir a new or empty folder, or use --runs-dir to let PetriLab "
                                          "make a new run folder inside it.")


def new_run_dir(runs_dir: str | Path, name: str) -> Path:
    """A new, empty `<date>_<time>_<name>` folder; two runs started together get two folders."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y-%m-%d_%H%M%S')}_{safe_name(name)}"
    for n in range(1, 1000):
        candidate = runs_dir / (stem if n == 1 else f"{stem}-{n}")
        try:
            candidate.mkdir()  # atomic: fails if another process took the name
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run folder in {runs_dir}")


# ---------------------------------------------------------------- history


def write_history(path: str | Path, history: list[dict]) -> Path:
    """history: one dict per epoch with 'epoch' and metric values."""
    columns = ["epoch"]
    for row in history:
        columns += [k for k in row if k not in columns]
    rows = [[row.get(c, "") for c in columns] for row in history]
    return atomic_write_csv(path, columns, rows)


def read_history(path: str | Path) -> list[dict]:
    """Read history.csv (or a Keras CSVLogger file) into one dict of floats per epoch."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    history = []
    for i, row in enumerate(rows):
        entry = {}
        for key, value in row.items():
            if key is None:
                continue
            try:
                entry[key] = float(value)
            except (TypeError, ValueError):
                entry[key] = float("nan")
        entry["epoch"] = int(entry.get("epoch", i)) if entry.get("epoch") == entry.get("epoch") else i
        history.append(entry)
    return history
