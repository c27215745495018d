"""Segmentation's test-set section of report.html and report.pdf: the scores and a few test images with their
true and predicted outlines."""

from __future__ import annotations

from pathlib import Path

from petrilab import runs
from petrilab.export.report import fmt, read_csv
from petrilab.export.report_blocks import Figures, Heading, Para, Table
from petrilab.tasks import TASKS


def segmentation_section(evaluation: dict, run_dir: Path, trained) -> list:
    """Pixel and object scores, the threshold, per-class scores and a few test images' outlines."""
    m = evaluation["metrics"]
    names = {"iou": "IoU (foreground)", "dice": "Dice (foreground)", "pixel_accuracy": "pixel accuracy",
             "foreground_share": "foreground share of the pixels", "object_precision": "object precision (IoU ≥ 0.5)",
             "object_recall": "object recall (IoU ≥ 0.5)", "object_f1": "object F1 (IoU ≥ 0.5)",
             "average_precision": "average precision (IoU ≥ 0.5)",
             "average_precision_50_95": "average precision (IoU 0.5 to 0.95)", "mean_matched_iou": "mean IoU of matched objects"}
    body: list = [Table([[names.get(k, k.replace("_", " ")), fmt(v)] for k, v in m.items()
                         if isinstance(v, (int, float)) and not isinstance(v, bool)], facts=True)]
    if evaluation.get("threshold") is not None:
        body.append(Para(f"Foreground threshold: {fmt(evaluation['threshold'])}."))
    per_class = m.get("per_class", {})
    if per_class:
        body.append(Table([[c, fmt(v.get("iou")), fmt(v.get("dice")), fmt(v.get("precision")), fmt(v.get("recall"))]
                           for c, v in per_class.items()], ["class", "IoU", "Dice", "precision", "recall"]))
    body += _examples(run_dir, trained)
    return body


EXAMPLES = 3  # test images drawn with their outlines
OUTLINE_LEGEND = [("#0a5", "true"), ("#c0c", "predicted"), ("#b90", "both")]


def _examples(run_dir: Path, trained) -> list:
    """A few test images with true and predicted outlines (needs the model: skipped when it cannot be run)."""
    try:
        from petrilab.data.images import read_image
        from petrilab.prediction.overlay import comparison_overlay
        from petrilab.prediction.trained_model import TrainedModel
        from petrilab.tasks.segmentation.masks import read_mask

        rows = [r for r in read_csv(run_dir / runs.SPLIT) if r.get("subset") == "test"][:EXAMPLES]
        if not rows:
            return []
        trained = trained or TrainedModel(run_dir)
        task = trained.settings.task.kind
        if trained.settings.data.dimensions == "3d":  # a stack has no one picture to outline
            return [Para("The test stacks' predicted masks are in the run's test_masks folder, at the stacks' voxel "
                         "size: open them in Fiji or napari beside their stacks.")]
        figures = []
        for row in rows:
            path = Path(row["file"])
            image = read_image(path)
            found = trained.recipe.predict_image(trained, image)
            masks = path.parent.parent / "masks"  # DATA/images/<name> + DATA/masks/<same name, any extension>
            mask = next((m for m in sorted(masks.glob(path.stem + ".*")) if m.stem == path.stem), masks / path.name)
            true = read_mask(mask, task)
            if not TASKS[task].has_objects:  # classes per pixel: their connected regions are the objects
                from skimage.measure import label

                true, pred = label(true > 0), label(found["mask"] > 0)
            else:
                pred = found["labels"]
            figures.append((comparison_overlay(image, true, pred), path.name))
        return [Heading("Examples from the test images", 3), Figures(figures, OUTLINE_LEGEND)]
    except Exception as exc:  # a report never fails because an example could not be drawn
        return [Para(f"Examples could not be drawn ({exc.__class__.__name__}).", warn=True)]
