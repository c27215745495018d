"""`petrilab evaluate`: the trained model on images it never saw during training."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from petrilab import runs
from petrilab.command_events import EVALUATION_EVENTS, CommandEvents
from petrilab.data.split import load_split
from petrilab.evaluation import leaks
from petrilab.errors import UserError
from petrilab.prediction.trained_model import TrainedModel
from petrilab.provenance import made_with

TEST_PREDICTIONS = "test_predictions.csv"
TEST_MASKS = "test_masks"  # segmentation: one predicted mask or label image per test image


def test_samples(trained: TrainedModel) -> list:
    """The run's test images, found again in their folders (so each carries its label or target)."""
    split, _ = load_split(trained.run_dir / runs.SPLIT)
    wanted = {str(s.path) for s in split.subset("test")}
    if not wanted:
        raise UserError("This run has no test images, so it cannot be evaluated.", file=trained.run_dir / runs.SPLIT,
                        fix="Give a test folder: petrilab evaluate RUN --data TEST_FOLDER, or train with a test fraction above 0.")
    settings = trained.settings
    folders = [settings.data.folder] + ([settings.data.test_folder] if settings.data.test_folder else [])
    found = [s for folder in folders for s in trained.recipe.discover(settings, folder).samples if str(s.path) in wanted]
    if not found:
        raise UserError("The test images of this run are no longer in the data folder.", file=settings.data.folder,
                        fix="Put the data back where it was when training, or evaluate on a folder with --data.")
    return found


def evaluate_run(run_dir: str | Path, data_dir: str | Path | None = None, trained: TrainedModel | None = None,
                 excel: bool = False, events: CommandEvents | None = None) -> dict:
    """Evaluate on the run's test split, or on `data_dir` (same layout as the training data).

    The test-split result goes to evaluation.json and test_predictions.csv;
    a separate folder's to evaluation_<folder>.json and test_predictions_<folder>.csv
    (segmentation: the predicted masks to test_masks/ or test_masks_<folder>/). `excel`: the --excel option.
    Each evaluation*.json says what it was made with (`made_with`: model, its SHA-256, inputs' fingerprint…).
    `events`: `started` once the images are found (evaluation_events.jsonl, unless --events), then progress.
    """
    run_dir = Path(run_dir)
    trained = trained or TrainedModel(run_dir)
    if data_dir is None:
        samples = test_samples(trained)
        source, suffix = "test split", ""
        honesty = leaks.changed_since_split(run_dir, samples)
    else:
        samples = trained.recipe.discover(trained.settings, data_dir).samples
        source = str(Path(data_dir).resolve())
        suffix = "_" + runs.safe_name(Path(data_dir).resolve().name)
        honesty = leaks.trained_on(run_dir, samples, source)
    if events is not None:  # the command's events (cli, ended by command_events.reported)
        events.start(run_dir / EVALUATION_EVENTS, len(samples), run=str(run_dir.resolve()), source=source)
        trained.progress = events.progress

    # where a recipe that predicts images (segmentation) leaves each test image's predicted mask, for the window:
    # written aside first and swapped in at the end, so a full disk leaves the earlier masks and tables whole
    masks = run_dir / f"{TEST_MASKS}{suffix}"
    trained.test_masks_final = masks
    trained.test_masks_dir = Path(tempfile.mkdtemp(prefix=f".{masks.name}.partial-", dir=run_dir))
    try:
        scores, header, rows = trained.recipe.evaluate(trained, samples)
        result = {"task": trained.settings.task.kind, "source": source, "n_images": scores.pop("n_images", len(rows)),
                  "classes": trained.classes, **scores}
        result["warnings"] = honesty + list(result.get("warnings", []))
        folder = source if data_dir is not None else trained.settings.data.folder
        result["made_with"] = made_with(trained, [Path(s.path) for s in samples], folder, root=Path(folder))
        table = runs.atomic_write_csv(run_dir / f".test_predictions{suffix}.csv.new", header, rows, excel=excel)
        if any(trained.test_masks_dir.iterdir()):
            _swap_in(trained.test_masks_dir, masks)
        os.replace(table, run_dir / f"test_predictions{suffix}.csv")
        runs.atomic_write_json(run_dir / f"evaluation{suffix}.json", result)
    finally:
        shutil.rmtree(trained.test_masks_dir, ignore_errors=True)
        for leftover in run_dir.glob(f".test_predictions{suffix}.csv.new"):
            leftover.unlink()
    return result


def _swap_in(new: Path, final: Path) -> None:
    """Replace the folder `final` by `new` (same folder, so renames): the earlier masks go only now."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)
