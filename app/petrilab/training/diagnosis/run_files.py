"""Diagnosing a run from its files: a run folder (history.csv, with settings.toml and events.jsonl when
present) or a Keras CSVLogger file."""

from __future__ import annotations

import csv
from pathlib import Path

from petrilab.errors import UserError
from petrilab.run_state import read_run
from petrilab.training.diagnosis.results import Diagnosis
from petrilab.training.diagnosis.verdict import diagnose


def diagnose_file(path) -> Diagnosis:
    """Diagnose a run folder (history.csv, with settings.toml when present) or a Keras CSVLogger file."""
    from petrilab import runs
    from petrilab import settings as settings_io

    path = Path(path)
    settings = None
    if path.is_dir():
        history_file = path / runs.HISTORY
        if not history_file.is_file():
            raise UserError(f"There is no {runs.HISTORY} in {path}.", file=path,
                            fix="Choose a PetriLab run folder that trained at least one epoch, or a CSV file "
                                "of the training history.")
        if (path / runs.SETTINGS).is_file():
            try:
                settings = settings_io.load(path / runs.SETTINGS)
            except UserError:
                settings = None  # the verdict does not need them; the advice is then less specific
        state = read_run(path, ask_cluster=False)
        classes = state.started.get("classes")  # settings may leave them to the folders
        if settings is not None and not settings.data.classes and isinstance(classes, list):
            settings.data.classes = [str(c) for c in classes]
    elif path.is_file():
        history_file = path
    else:
        raise UserError(f"{path} does not exist.", file=path,
                        fix="Give a run folder or the history CSV file (for example history.csv).")
    columns = _csv_columns(history_file)
    if "loss" not in columns:
        raise UserError(f"{history_file.name} has no 'loss' column, so it is not a training history.",
                        file=history_file, fix="Give history.csv from a run folder, or a Keras CSVLogger file.")
    if "val_loss" not in columns:
        raise UserError(f"The diagnosis needs a validation curve, but {history_file.name} has no 'val_loss' column.",
                        file=history_file,
                        fix="Train with a validation split (split.validation_fraction above 0; in Keras, pass "
                            "validation_data or validation_split to fit), then diagnose again.")
    history = runs.read_history(history_file)
    if not history:
        raise UserError(f"{history_file.name} has no epochs yet.", file=history_file,
                        fix="Diagnose again after the first epochs.")
    facts = _run_facts(state, settings, len(history)) if path.is_dir() else {}
    return diagnose(history, final=True, settings=settings, **facts)


def _csv_columns(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [c.strip() for c in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path} could not be read as a CSV file ({exc}).", file=path,
                        fix="Give history.csv from a run folder, or a Keras CSVLogger file.") from None


def _run_facts(state, settings, epochs_done: int) -> dict:
    """For `petrilab diagnose RUN`: the validation images counted when it started, and whether early stopping
    ended it (a completed run with fewer epochs than its cap)."""
    facts: dict = {}
    if isinstance(state.started.get("n_validation"), int):
        facts["n_validation"] = state.started["n_validation"]
    if settings is not None and settings.training.early_stopping and state.status == "completed":
        facts["stopped_early"] = epochs_done < settings.training.epochs
    return facts
