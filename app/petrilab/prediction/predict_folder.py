"""`petrilab predict`: a trained model on a folder of new images, results as files in an output folder."""

from __future__ import annotations

import os
from pathlib import Path

from petrilab.data import finite
from petrilab.data.images import is_image_file
from petrilab.errors import UserError
from petrilab.prediction.trained_model import TrainedModel

PREDICTIONS = "predictions.csv"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_folder(input_dir: Path, output_dir: Path) -> None:
    """Refuse output folders that would mix results into the user's data or cannot be written."""
    if _inside(output_dir, input_dir):
        raise UserError(f"The output folder {output_dir} is inside the input folder {input_dir}.",
                        file=output_dir,
                        fix="Choose an output folder outside the images, so your data folder stays untouched.")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"The output folder {output_dir} cannot be created ({exc.strerror}).", file=output_dir,
                        fix="Choose a folder you can write to.") from None
    if not os.access(output_dir, os.W_OK):
        raise UserError(f"The output folder {output_dir} is read-only.", file=output_dir,
                        fix="Choose a folder you can write to.")


def find_images(input_dir: Path) -> list[Path]:
    """Every image below `input_dir` (sub-folders included), in a stable order; hidden files skipped."""
    found = []
    for path in sorted(input_dir.rglob("*")):
        rel = path.relative_to(input_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and is_image_file(path):
            found.append(path)
    return found


def apply_postprocess(trained: TrainedModel, overrides: list[str]) -> None:
    """`predict --set postprocess.KEY=VALUE`: this prediction's clean-up, the run's settings.toml untouched."""
    from petrilab import settings as settings_io

    for text in overrides:
        key, value = settings_io.parse_override(text)
        if not key.startswith("postprocess."):
            raise UserError(f"'--set {text}': a prediction can only change postprocess settings.",
                            fix="Use e.g. --set postprocess.min_size=30; the rest is fixed by the training.")
        settings_io.apply_override(trained.settings, key, value)
    settings_io.validate(trained.settings)


def predict_folder(run_dir: str | Path, input_dir: str | Path, output_dir: str | Path,
                   trained: TrainedModel | None = None, overrides: list[str] | None = None,
                   notes: list[str] | None = None) -> Path:
    """Predict every image below `input_dir` into `output_dir`; return predictions.csv.

    `notes` (a list) receives a plain sentence per image whose NaN or infinite pixels were replaced
    before predicting (they are also in predictions.csv's `nonfinite_pixels` column).
    """
    input_dir, output_dir = Path(input_dir).resolve(), Path(output_dir).resolve()
    if not input_dir.is_dir():
        raise UserError(f"The folder {input_dir} does not exist.", file=input_dir, fix="Check the path of the images to predict.")
    check_output_folder(input_dir, output_dir)
    images = find_images(input_dir)
    if not images:
        raise UserError(f"No images were found in {input_dir}.", file=input_dir,
                        fix="PetriLab reads TIFF, PNG, JPEG and BMP files.")
    trained = trained or TrainedModel(run_dir)
    if overrides:
        apply_postprocess(trained, overrides)
    with finite.noticed() as seen:
        table = trained.recipe.predict(trained, images, input_dir, output_dir)
    told = finite.flag_predictions(Path(table), input_dir, seen)
    if notes is not None:
        notes += told
    return table
