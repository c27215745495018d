"""`petrilab evaluate`: the trained model on images it never saw during training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab import runs
from petrilab.data.discovery import discover
from petrilab.data.split import load_split
from petrilab.errors import UserError
from petrilab.evaluation.classification import classification_metrics
from petrilab.prediction.trained_model import TrainedModel

TEST_PREDICTIONS = "test_predictions.csv"


def evaluate_run(run_dir: str | Path, data_dir: str | Path | None = None, trained: TrainedModel | None = None) -> dict:
    """Evaluate on the run's test split, or on `data_dir` (same layout as the training data).

    The test-split result goes to evaluation.json and test_predictions.csv;
    a separate folder's to evaluation_<folder>.json and test_predictions_<folder>.csv.
    """
    run_dir = Path(run_dir)
    trained = trained or TrainedModel(run_dir)
    classes = trained.classes
    if data_dir is None:
        split, _ = load_split(run_dir / runs.SPLIT)
        samples = split.subset("test")
        source = "test split"
        suffix = ""
        if not samples:
            raise UserError("This run has no test images, so it cannot be evaluated.", file=run_dir / runs.SPLIT,
                            fix="Give a test folder: petrilab evaluate RUN --data TEST_FOLDER, or train with a test fraction above 0.")
    else:
        dataset = discover(trained.settings.task.kind, data_dir, classes=classes)
        samples = dataset.samples
        source = str(Path(data_dir).resolve())
        suffix = "_" + runs.safe_name(Path(data_dir).resolve().name)

    paths = [s.path for s in samples]
    truth = {s.path: s.label for s in samples}
    done, probs, problems = trained.predict_files(paths)
    y_true = np.array([truth[p] for p in done], dtype=int)
    y_pred = probs.argmax(axis=1) if len(done) else np.zeros(0, int)

    result = {"task": trained.settings.task.kind, "source": source, "n_images": len(done), "classes": classes}
    result.update(classification_metrics(y_true, y_pred, classes))
    for path, message in problems.items():
        result["warnings"].append(f"Skipped {path}: {message}")

    runs.atomic_write_json(run_dir / f"evaluation{suffix}.json", result)
    header = ["file", "true_class", "predicted_class", "correct"] + [f"p_{c}" for c in classes]
    rows = [[str(p), classes[t], classes[q], int(t == q), *(f"{v:.6f}" for v in pr)]
            for p, t, q, pr in zip(done, y_true, y_pred, probs)]
    runs.atomic_write_csv(run_dir / f"test_predictions{suffix}.csv", header, rows)
    return result
