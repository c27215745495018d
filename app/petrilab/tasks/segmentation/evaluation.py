"""Evaluating segmentation on the test images: pixel scores (IoU, Dice) and object matching per image and
overall, the predicted test masks saved beside; `SegmentationEvaluation` is a part of SegmentationRecipe
(recipe.py), `summary_line` evaluation.json in one line, `report_section` it in the report (report.py)."""

from __future__ import annotations

from pathlib import Path

from petrilab.tasks import TASKS
from petrilab.tasks.segmentation.prediction import unique_path, write_tiff


class SegmentationEvaluation:
    """`evaluate`; the recipe gives `_pairs`, `decide`, `truth`, `can_tune` and `outputs_suffix`."""

    def summary_line(self, result):
        return summary_line(result)

    def report_section(self, evaluation, run_dir, trained=None):
        from petrilab.tasks.segmentation.report import segmentation_section

        return segmentation_section(evaluation, run_dir, trained)

    def evaluate(self, trained, samples):
        from petrilab.tasks.segmentation.losses import metric_name
        from petrilab.tasks.segmentation.metrics import ObjectTally, PixelTally
        from petrilab.tasks.segmentation.postprocess import objects_of

        classes = trained.classes
        post = trained.settings.postprocess
        pixels = PixelTally(classes)
        objects = ObjectTally()
        problems: list[str] = []
        header = ["file", "iou", "dice", "pixel_accuracy", "foreground_share"]
        header += [metric_name("iou", c) for c in classes[1:]] if len(classes) > 2 else []
        header += ["true_objects", "predicted_objects", "tp", "fp", "fn", "precision", "recall", "f1",
                   "average_precision", "mean_matched_iou", "true_mask", "predicted_mask"]
        rows = []
        masks_dir = getattr(trained, "test_masks_dir", None)  # set by evaluate_run: the window shows them
        used: set[Path] = set()
        for sample, _, mask, probs in self._pairs(trained, samples, problems):
            true_classes, true_labels = self.truth(mask)
            pred_classes, pred_labels = self.decide(probs, post)
            one = PixelTally(classes)
            one.add(true_classes, pred_classes)
            pixels.add(true_classes, pred_classes)
            m = one.scores()["metrics"]
            row = [str(sample.path), _cell(m["mean_iou"]), _cell(m["mean_dice"]), _cell(m["pixel_accuracy"]),
                   _cell(m["foreground_share"])]
            row += [_cell(m["per_class"][c]["iou"]) for c in classes[1:]] if len(classes) > 2 else []
            if true_labels is None:
                true_labels = objects_of(true_classes)
            matched = objects.add(true_labels, pred_labels)
            o = matched["summary"]
            row += [matched["n_true"], matched["n_pred"], o["tp"], o["fp"], o["fn"], _cell(o["precision"]),
                    _cell(o["recall"]), _cell(o["f1"]), _cell(o["average_precision"]), _cell(o["mean_matched_iou"])]
            predicted_file = ""
            if masks_dir is not None:
                saved = unique_path(Path(masks_dir) / f"{sample.path.stem}{self.outputs_suffix}.tif", used)
                write_tiff(saved, pred_labels if TASKS[self.task].has_objects else pred_classes,
                           voxel=self.voxel if self.stacks else None)
                # the folder the masks end in (evaluate_run writes them aside, then moves them there)
                final = Path(getattr(trained, "test_masks_final", masks_dir)) / saved.relative_to(masks_dir)
                predicted_file = str(final.relative_to(trained.run_dir)) if final.is_relative_to(
                    trained.run_dir) else str(final)
            rows.append(row + [str(sample.mask), predicted_file])
        if masks_dir is not None:  # masks of an earlier evaluation whose images are no longer tested
            for old in Path(masks_dir).glob("*.tif"):
                if old not in used:
                    old.unlink()
        scored = pixels.scores()
        m = scored["metrics"]
        metrics = {"iou": m["mean_iou"], "dice": m["mean_dice"], "pixel_accuracy": m["pixel_accuracy"],
                   "foreground_share": m["foreground_share"], "per_class": m["per_class"],
                   "objects": objects.scores()}
        o = metrics["objects"]["summary"]
        metrics.update({"object_f1": o["f1"], "object_precision": o["precision"], "object_recall": o["recall"],
                        "average_precision": o["average_precision"],
                        "average_precision_50_95": o["average_precision_50_95"],
                        "mean_matched_iou": o["mean_matched_iou"]})
        if o["f1"] is None:
            problems.insert(0, NO_OBJECTS)
        result = {"metrics": metrics, "confusion_matrix": scored["confusion_matrix"],
                  "warnings": scored["warnings"] + problems, "n_images": len(rows),
                  "threshold": post.threshold if self.can_tune(trained.settings) else None,
                  "min_size": int(post.min_size)}
        return result, header, rows


NO_OBJECTS = ("No objects to score: the test masks hold no object and none was predicted, so object F1, "
              "precision and recall are left empty (not a perfect 1.0). Test on images that show objects.")


def summary_line(result: dict) -> str:
    """evaluation.json in one line for the terminal: pixel scores first, then the objects."""
    m = result["metrics"]

    def number(value) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    if m.get("object_f1", 0) is None:
        return (f"{result['n_images']} images ({result['source']}): IoU {number(m['iou'])}, Dice {number(m['dice'])}; "
                f"no objects to score (none in the test masks, none predicted)")
    line = (f"{result['n_images']} images ({result['source']}): IoU {number(m['iou'])}, Dice {number(m['dice'])}; "
            f"objects at IoU 0.5: F1 {number(m['object_f1'])} (precision {number(m['object_precision'])}, "
            f"recall {number(m['object_recall'])}), average precision 0.5:0.95 {number(m['average_precision_50_95'])}")
    if result.get("threshold") is not None:
        line += f"; threshold {result.get('threshold', 0.5):.2f}"
    if result.get("min_size"):
        line += f", objects under {result['min_size']} pixels removed"
    return line


def _cell(value) -> str:
    return "" if value is None else f"{float(value):.6f}"
