"""Predict page: whether the chosen folders can be used, and asking before earlier results are replaced.

The engine never writes into the input folder; the page refuses an output folder inside it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from petrilab import runs
from petrilab.output_folders import is_inside

NO_MODEL = "Train a model first: predictions need the model a training saved."
NO_INPUT = "Choose the folder of new images to predict."
NO_OUTPUT = "Choose an output folder for the results."
INPUT_MISSING = "The folder of images {path} does not exist."
OUTPUT_INSIDE = "The output folder is inside the folder of images."
OUTPUT_INSIDE_FIX = "Choose an output folder outside the images, so your data folder stays untouched."


def has_model(run) -> bool:
    return run is not None and (Path(run) / runs.BEST_MODEL).exists()


def folder_problem(run, input_text: str, output_text: str) -> tuple[str, str | None, str | None] | None:
    """Why these folders cannot be used: (message, file, fix), or None."""
    if not has_model(run):
        return NO_MODEL, None, None
    if not input_text:
        return NO_INPUT, None, None
    if not output_text:
        return NO_OUTPUT, None, None
    input_dir, output_dir = Path(input_text).resolve(), Path(output_text).resolve()
    if not input_dir.is_dir():
        return INPUT_MISSING.format(path=input_dir), str(input_dir), "Check the folder, or choose it again."
    if is_inside(output_dir, input_dir):
        return OUTPUT_INSIDE, str(output_dir), OUTPUT_INSIDE_FIX
    return None


def ask_to_replace(parent: QWidget, folder: Path) -> bool | None:
    """False: nothing to replace; True: the user agreed to replace earlier results (--overwrite);
    None: the user said no, and nothing starts."""
    from petrilab.prediction.results_folder import earlier_results

    if not earlier_results(folder):
        return False
    answer = QMessageBox.question(
        parent, "Replace the earlier results?",
        f"The folder {folder} already holds the results of an earlier prediction.\n\n"
        "Replace them? Only the files PetriLab wrote there are removed. Choose No to pick another folder.",
        QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
    return True if answer == QMessageBox.Yes else None
