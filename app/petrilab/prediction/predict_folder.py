"""`petrilab predict`: a trained model on a folder of new images, results as files in an output folder.

Nothing is lost and nothing is silent: the output folder may not be or touch
the input folder or any data the run learnt from; results are built aside and
moved in whole (prediction/results_folder.py); earlier results are replaced
only with `overwrite`; files that are not images, or cannot be read, are named
with the reason; `prediction.json` records what was predicted with what.
"""

from __future__ import annotations

import os
from pathlib import Path

from petrilab.command_events import PREDICTION_EVENTS, CommandEvents
from petrilab.data import finite
from petrilab.data.images import IMAGE_SUFFIXES, is_image_file
from petrilab.events import DECIDED
from petrilab.errors import UserError
from petrilab.file_names import shown
from petrilab.output_folders import disk_problem, refuse_output_in_data, run_data_folders
from petrilab.prediction.options import DEFAULT, PredictOptions
from petrilab.prediction.results_folder import PREDICTIONS, RECORD, ResultsFolder
from petrilab.prediction.trained_model import TrainedModel
from petrilab.provenance import made_with
from petrilab.runs import atomic_write_json

# left in folders by the operating system: never data, never worth a mention
_SYSTEM_FILES = {"thumbs.db", "desktop.ini"}
NOT_AN_IMAGE = "not an image (PetriLab reads TIFF, PNG, JPEG and BMP)"
# pictures PetriLab does not read: the user may well want them predicted, so say how
OTHER_PICTURES = {".gif": "GIF", ".webp": "WebP", ".jp2": "JPEG 2000", ".heic": "HEIC", ".heif": "HEIF",
                  ".avif": "AVIF", ".svg": "SVG", ".psd": "Photoshop", ".pdf": "PDF"}


def skip_reason(path: Path) -> str:
    kind = OTHER_PICTURES.get(path.suffix.lower())
    if kind:
        return (f"a {kind} file, which PetriLab does not read: save it as PNG or TIFF (e.g. in Fiji) "
                "to predict it")
    return NOT_AN_IMAGE
DISK_FULL_KEPT = "Nothing of this prediction was kept there; earlier results, if any, are as they were."
DISK_FULL_THEN = "Free some space on that disk, or choose an output folder on another disk, then predict again."


def check_output_folder(input_dir: Path, output_dir: Path, data_folders=()) -> None:
    """Refuse output folders that would mix results into the user's data or cannot be written."""
    refuse_output_in_data(output_dir, data_folders, "output folder", input_folder=input_dir)
    existing = next((p for p in (output_dir, *output_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UserError(f"The output folder {output_dir} cannot be created: {existing} is a file.", file=output_dir,
                        fix="Choose a folder you can write to.")
    if existing is not None and not os.access(existing, os.W_OK):
        what = "output folder" if existing == output_dir else "folder"
        raise UserError(f"The {what} {existing} is read-only.", file=output_dir, fix="Choose a folder you can write to.")


def find_images(input_dir: Path) -> tuple[list[Path], list[Path]]:
    """(every image below `input_dir`, sub-folders included, in a stable order; the other files there).
    Hidden files and the operating system's own files are neither."""
    found, others = [], []
    for path in sorted(input_dir.rglob("*")):
        rel = path.relative_to(input_dir)
        if any(part.startswith(".") for part in rel.parts) or path.name.lower() in _SYSTEM_FILES:
            continue
        if path.is_file():
            (found if is_image_file(path) else others).append(path)
    return found, others


def apply_postprocess(trained: TrainedModel, overrides: list[str]) -> None:
    """`predict --set postprocess.KEY=VALUE` (or a key of the recipe's `prediction_keys`): this prediction's
    clean-up, the run's settings.toml untouched."""
    from petrilab import settings as settings_io

    for text in overrides:
        key, value = settings_io.parse_override(text)
        # postprocess, and what a task lets a prediction choose (restoration: the restored files' type)
        if not key.startswith("postprocess.") and key not in getattr(trained.recipe, "prediction_keys", ()):
            raise UserError(f"'--set {text}': a prediction can only change postprocess settings.",
                            fix="Use e.g. --set postprocess.min_size=30; the rest is fixed by the training.")
        settings_io.apply_override(trained.settings, key, value)
    settings_io.validate(trained.settings)


def _unreadable(table: Path) -> list[dict]:
    """The rows of predictions.csv that name a problem instead of a result."""
    import csv

    with open(table, newline="", encoding="utf-8-sig") as f:
        return [{"file": r["file"], "reason": r["problem"]} for r in csv.DictReader(f) if r.get("problem")]


def _engine_told(events: CommandEvents | None, notes: list[str] | None):
    """The engine's decision (prediction/engine.py) as a `decided` event and, when "auto" chose, a note on the
    terminal (not when ONNX Runtime is simply not installed: the event and prediction.json say so)."""
    def told(decision: dict) -> None:
        if events is not None:
            events.emit(DECIDED, **decision)
        if notes is not None and decision["asked"] != decision["value"] and not decision["details"].get("usual"):
            notes.append(decision["message"])
    return told


def _record(trained: TrainedModel, input_dir: Path, images: list[Path], overrides, options: PredictOptions,
            skipped, outputs) -> dict:
    decision = trained.network.decision or {"value": None, "asked": options.engine,
                                            "message": "No image reached the network."}
    return {**made_with(trained, images, str(input_dir), root=input_dir), "postprocess_set": list(overrides or []),
            "probabilities": options.probabilities, "excel": options.excel, "skipped": skipped, "outputs": outputs,
            "engine": {k: decision.get(k) for k in ("value", "asked", "message", "details")}}


def require_images_folder(input_dir: Path) -> None:
    if not input_dir.is_dir():
        raise UserError(f"The folder {input_dir} does not exist.", file=input_dir, fix="Check the path of the images to predict.")


def predict_folder(run_dir: str | Path, input_dir: str | Path, output_dir: str | Path,
                   trained: TrainedModel | None = None, overrides: list[str] | None = None,
                   overwrite: bool = False, notes: list[str] | None = None,
                   options: PredictOptions = DEFAULT, events: CommandEvents | None = None) -> Path:
    """Predict every image of `input_dir` into `output_dir`; return its predictions.csv.
    `notes` receives one line per file skipped, and why, and per image whose NaN or infinite pixels were
    replaced before predicting (also in predictions.csv's `nonfinite_pixels` column). `events`: `started` once the
    folder is held (prediction_events.jsonl among the results, unless --events), then progress per image."""
    input_dir, output_dir = Path(input_dir).resolve(), Path(output_dir).resolve()
    require_images_folder(input_dir)
    check_output_folder(input_dir, output_dir, run_data_folders(run_dir))
    images, others = find_images(input_dir)
    if not images:
        raise UserError(f"No images were found in {input_dir}.", file=input_dir,
                        fix="PetriLab reads TIFF, PNG, JPEG and BMP files"
                            + (f" ({len(others)} other file(s) there, e.g. '{shown(others[0].name)}')." if others else "."))
    skipped = [{"file": shown(p.relative_to(input_dir).as_posix()), "reason": skip_reason(p)} for p in others]
    folder = ResultsFolder(output_dir, overwrite=overwrite)
    try:
        with folder as staging:  # refuses earlier results and a folder another prediction is writing to
            if events is not None:  # the command's events (cli, ended by command_events.reported)
                events.start(staging / PREDICTION_EVENTS, len(images), run=str(Path(run_dir).resolve()),
                             input_folder=str(input_dir), output_folder=str(output_dir))
            trained = trained or TrainedModel(run_dir, engine=options.engine)
            trained.progress = events.progress if events is not None else None
            trained.decided = _engine_told(events, notes)
            if overrides:
                apply_postprocess(trained, overrides)
            with finite.noticed() as seen:
                table = trained.recipe.predict(trained, images, input_dir, staging, options)
            told = finite.flag_predictions(Path(table), input_dir, seen)
            skipped += _unreadable(table)
            outputs = sorted(shown(p.relative_to(staging).as_posix()) for p in staging.rglob("*") if p.is_file())
            atomic_write_json(staging / RECORD, _record(trained, input_dir, images, overrides, options, skipped,
                                                                outputs))
            folder.finish()
            if events is not None:
                events.moved(staging, output_dir)
    except UserError:
        raise
    except Exception as exc:  # a full disk: nothing half-written is left, and the message says so
        problem = disk_problem(exc, output_dir, "output folder", DISK_FULL_KEPT, DISK_FULL_THEN)
        if problem is None:
            raise
        raise problem from None
    if notes is not None:
        notes += [f"Skipped '{s['file']}': {s['reason'].rstrip('.')}." for s in skipped] + told
    return output_dir / PREDICTIONS


__all__ = ["IMAGE_SUFFIXES", "find_images", "predict_folder", "check_output_folder", "apply_postprocess"]
