"""Semantic and instance segmentation: DATA/images/<image> + DATA/masks/<same name>.

Semantic: the mask's pixel value is the class index (0 background). Two
classes → one sigmoid output channel, P(foreground); more → one softmax
channel per class.

Instance: the mask is a label image (0 background, 1..N one value per object).
The network learns three softmax channels per pixel, in this order:

    0 background   pixels of no object
    1 interior     pixels of an object that are not on its edge
    2 boundary     the object's own edge (skimage find_boundaries(labels, mode="inner"), grown
                   inwards to 1–3 pixels: a third of the objects' median inscribed radius, decided
                   from the training masks): every object pixel near background or another object

so two touching nuclei are kept apart by their two bands of boundary pixels.
From probabilities (H, W, 3) back to objects (prediction/postprocess.instance_labels,
mode="boundary"):

    foreground = P(interior) + P(boundary) > 0.5
    seeds      = connected components of P(interior) > postprocess.threshold, those joined by a
                 neck split by a distance-transform watershed
    labels     = seeded watershed on 1 - P(interior), restricted to the foreground
                 (foreground pieces without a seed are dropped)
                 (postprocess.split_touching = false: connected components of the foreground)
    then fill holes, min/max size, clear border as the [postprocess] settings say.

postprocess.threshold is tuned on the validation images after training
(postprocess.tune_threshold) and saved in the run's settings.toml; for instance
segmentation postprocess.min_size too, when the settings leave it at 0 (the
best object F1 among 0 and fractions of the objects' median area).
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
from pathlib import Path

import numpy as np

from petrilab.data.check import resolve_channels
from petrilab.data.images import read_image
from petrilab.data.masks import check_segmentation, discover_segmentation, read_mask
from petrilab.errors import UserError
from petrilab.recipes.base import Recipe
from petrilab import runs
from petrilab.runs import atomic_write_bytes
from petrilab.tasks import output_head

INSTANCE_MODE = "boundary"
INSTANCE_CHANNELS = ("background", "interior", "boundary")
# Instance boundaries: about a third of the objects' typical inscribed radius, within these bounds.
# Wider boundaries keep touching objects' seeds far apart and are learnt sooner; thin objects (bacteria)
# need narrow ones, or no interior would be left to seed them.
BOUNDARY_WIDTHS = (1, 3)
# Instance segmentation, postprocess.min_size left at 0: the sizes tried on the validation images, as
# fractions of their objects' median area (0 is always tried: keeping every object).
MIN_SIZE_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.5)
PREDICTIONS = "predictions.csv"  # the per-image summary, as prediction.predict_folder names it

# Prediction tiles: at least this side (a U-Net predicts large tiles faster than many small ones),
# overlapping by a quarter so every pixel is predicted with context around it.
PREDICT_TILE = 256
PREDICT_BATCH = 4


def encode_classes(n_classes: int):
    """Class mask → the semantic network's target: one 0/1 channel for two classes, one-hot for more."""
    if n_classes <= 2:
        return lambda mask: (mask > 0).astype(np.float32)[:, :, np.newaxis]
    eye = np.eye(n_classes, dtype=np.float32)
    return lambda mask: eye[np.clip(mask, 0, n_classes - 1)]


def instance_classes(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """Label image → 0 background, 1 interior, 2 boundary (each object's own edge, `width` pixels deep)."""
    from skimage.segmentation import find_boundaries

    classes = (labels > 0).astype(np.int64)
    edge = find_boundaries(labels, mode="inner") & (labels > 0)
    for _ in range(width - 1):  # grow inwards, never over a neighbour
        edge |= find_boundaries(np.where(edge, 0, labels), mode="inner") & (labels > 0)
    classes[edge] = 2
    return classes


def encode_instances(labels: np.ndarray, width: int = 1) -> np.ndarray:
    return np.eye(3, dtype=np.float32)[instance_classes(labels, width)]


def boundary_width_for(label_images) -> int:
    """The boundary width for these objects: a third of their median inscribed radius (see BOUNDARY_WIDTHS)."""
    from scipy import ndimage
    from skimage.segmentation import find_boundaries

    radii = []
    for labels in label_images:
        if not labels.any():
            continue
        inside = (labels > 0) & ~find_boundaries(labels, mode="inner")  # touching objects measured apart
        depth = ndimage.distance_transform_edt(inside) + 1
        present = np.unique(labels[labels > 0])
        radii.extend(ndimage.maximum(depth, labels, present))
    if not radii:
        return BOUNDARY_WIDTHS[0]
    return int(np.clip(int(np.median(radii) / 3 + 0.5), *BOUNDARY_WIDTHS))


class SegmentationRecipe(Recipe):
    """What semantic and instance segmentation share; the two subclasses differ in targets and outputs."""

    task = ""

    def __init__(self):
        self.class_weights: list[float] | None = None

    # ------------------------------------------------------------ data

    def discover(self, settings, folder):
        return discover_segmentation(self.task, folder, settings.data.classes or None)

    def check(self, dataset, progress=None):
        return check_segmentation(dataset, progress=progress)

    def decide_from_data(self, settings, dataset, report):
        from petrilab.data.patches import patch_size_findings, patch_size_for

        settings.data.classes = list(report.classes)
        settings.data.channels = resolve_channels(settings.data.channels, report)
        shapes = [tuple(int(n) for n in size.split("x")) for size in report.sizes]
        requested = settings.data.patch_size
        settings.data.patch_size = list(patch_size_for(requested, shapes, size_multiple(settings)))
        patch_size_findings(requested, tuple(settings.data.patch_size), report, dataset)

    def decide_from_training(self, settings, train):
        if settings.training.loss != "weighted_crossentropy":
            return
        from petrilab.models.seg_losses import class_weights_from_pixels

        counts = np.zeros(max(2, self.n_outputs(settings)), dtype=np.int64)
        for sample in train:
            target = self.target_classes(read_mask(sample.mask, self.task))
            counts += np.bincount(target.ravel(), minlength=len(counts))[:len(counts)]
        self.class_weights = class_weights_from_pixels(counts.tolist())

    def target_classes(self, mask: np.ndarray) -> np.ndarray:
        """A mask as the class number of every pixel of the network's output."""
        raise NotImplementedError

    def encoder(self, settings):
        raise NotImplementedError

    def n_outputs(self, settings) -> int:
        return output_head(self.task, len(settings.data.classes)).units

    # ------------------------------------------------------------ model and batches

    def head(self, settings):
        from petrilab.models.seg_losses import make_loss, make_metrics

        base = output_head(self.task, len(settings.data.classes))
        if settings.training.loss == "weighted_crossentropy" and self.class_weights is None:
            self.class_weights = [1.0] * max(2, base.units)  # not trained here (e.g. described): no pixels counted
        loss = make_loss(settings.training.loss, self.class_weights)
        metrics = make_metrics(self.metric_classes(settings), base.units, self.foreground_groups())
        return dataclasses.replace(base, loss=loss, metrics=tuple(metrics))

    def metric_classes(self, settings) -> list[str]:
        return list(settings.data.classes)

    def foreground_groups(self):
        return None

    @staticmethod
    def full_size(prep):
        """The run's preprocessing without resizing: masks stay aligned with their images."""
        return dataclasses.replace(prep, keep_size=True)

    def read_pair(self, sample, prep) -> tuple[np.ndarray, np.ndarray]:
        """One training pair: the prepared image at full size and its mask, which must have its size."""
        image, mask = self.full_size(prep)(read_image(sample.path)), read_mask(sample.mask, self.task)
        if image.shape[:2] != mask.shape:
            raise UserError(f"The mask '{sample.mask.name}' does not have the size of its image.", file=sample.mask,
                            fix="Save the mask at its image's size.")
        return image, mask

    def load(self, samples, prep) -> tuple[list[np.ndarray], list[np.ndarray]]:
        pairs = [self.read_pair(sample, prep) for sample in samples]
        return [image for image, _ in pairs], [mask for _, mask in pairs]

    @staticmethod
    def prepared_bytes(samples, prep) -> int:
        """Memory that the prepared images and their masks would take (float32 pixels, int32 masks),
        from the image headers: nothing is decoded."""
        from petrilab.data.images import image_info

        total = 0
        for sample in samples:
            info = image_info(sample.path)
            total += info.height * info.width * (4 * prep.channels + 4)
        return total

    def inputs(self, samples, prep, settings, training):
        from petrilab.data.batches import choose_in_memory
        from petrilab.data.patches import (JointAugmenter, RandomPatches, StreamedPatches, fixed_patches,
                                           patch_size_for, read_fixed_patches)

        samples = list(samples)
        in_memory = choose_in_memory(settings.data.load, lambda: self.prepared_bytes(samples, prep))
        encode = self.encoder(settings)
        batch_size = settings.training.batch_size
        augmenter = JointAugmenter(settings.augmentation, settings.training.seed) if training else None
        if in_memory:
            images, masks = self.load(samples, prep)
            shapes = [m.shape for m in masks]
        else:  # data.load = stream: sizes from the image headers; images read only when a batch needs them
            from petrilab.data.images import image_info

            shapes = [(info.height, info.width) for info in map(image_info, (s.path for s in samples))]

        def read(k: int):
            return self.read_pair(samples[k], prep)

        patch = patch_size_for(settings.data.patch_size, shapes, size_multiple(settings))
        if training:
            if in_memory:
                patches = RandomPatches(images, masks, encode, patch, batch_size, augmenter=augmenter,
                                        seed=settings.training.seed)
            else:
                patches = StreamedPatches(read, len(samples), encode, patch, batch_size, augmenter=augmenter,
                                          seed=settings.training.seed,
                                          mask_reader=lambda k: read_mask(samples[k].mask, self.task))
            return {"x": patches, "y": None, "batch_size": None, "steps": len(patches), "in_memory": in_memory}
        if in_memory:
            x, y = fixed_patches(images, masks, encode, patch)
        else:
            x, y = read_fixed_patches(read, shapes, encode, patch)
        return {"x": x, "y": y, "batch_size": batch_size, "steps": math.ceil(len(x) / batch_size),
                "in_memory": in_memory}

    # ------------------------------------------------------------ prediction

    def probabilities(self, trained, image: np.ndarray) -> np.ndarray:
        """The network's (H, W, K) output for one whole image of any size, predicted tile by tile."""
        from petrilab.prediction.tiling import predict_tiled, round_up

        settings = trained.settings
        x = self.full_size(trained.prep)(image)
        multiple = size_multiple(settings)
        patch = settings.data.patch_size or [PREDICT_TILE, PREDICT_TILE]
        tile = tuple(round_up(max(int(p), PREDICT_TILE), multiple) for p in patch)
        model = trained.model

        def predict_batch(batch: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict(batch, verbose=0, batch_size=len(batch)), dtype=np.float32)

        return predict_tiled(predict_batch, x, tile, min(tile) // 4, int(model.output.shape[-1]),
                             batch_size=PREDICT_BATCH, multiple=multiple)

    def _pairs(self, trained, samples, problems: list[str]):
        """(sample, image, true mask, probabilities) for each labelled sample that can be read."""
        for sample in samples:
            if sample.mask is None:
                problems.append(f"Skipped {sample.path}: it has no mask.")
                continue
            try:
                image, truth = read_image(sample.path), read_mask(sample.mask, self.task)
            except UserError as exc:
                problems.append(f"Skipped {sample.path}: {exc.message}")
                continue
            if image.shape[:2] != truth.shape:
                problems.append(f"Skipped {sample.path}: its mask has another size.")
                continue
            yield sample, image, truth, self.probabilities(trained, image)

    def decide(self, probs: np.ndarray, post) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities → (class mask for the pixel scores, label image of the objects found)."""
        raise NotImplementedError

    def truth(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """A true mask → (class mask for the pixel scores, label image for object matching or None)."""
        raise NotImplementedError

    def can_tune(self, settings) -> bool:
        return True

    # ------------------------------------------------------------ after training: threshold and minimum size

    def after_training(self, trained, validation):
        """Try each threshold (and, for objects, each minimum size) on the validation images, one image in
        memory at a time; keep the best."""
        from petrilab.prediction.postprocess import THRESHOLD_CANDIDATES, tune_threshold

        post = trained.settings.postprocess
        if not post.tune_threshold or not validation or not self.can_tune(trained.settings):
            return {}
        sizes = self.min_size_candidates(post, validation)
        tallies = {(t, m): self.tuning_tally(trained.classes) for t in THRESHOLD_CANDIDATES for m in sizes}
        n_images = 0
        for _, _, mask, probs in self._pairs(trained, validation, []):
            truth = self.truth(mask)
            for threshold in THRESHOLD_CANDIDATES:
                decided = self.decide(probs, dataclasses.replace(post, threshold=threshold, min_size=sizes[0]))
                for size in sizes:
                    smaller_dropped = decided if size == sizes[0] else self.without_small(decided, post, size)
                    self.tuning_add(tallies[threshold, size], truth, smaller_dropped)
            n_images += 1
        if not n_images:
            return {}
        scores = {key: self.tuning_score(tally) for key, tally in tallies.items()}
        # per minimum size its best threshold (ties: nearest 0.5); then the best size (ties: the smallest)
        best_threshold = {m: tune_threshold(lambda t: scores[t, m], THRESHOLD_CANDIDATES) for m in sizes}
        size = max(sizes, key=lambda m: (scores[best_threshold[m], m], -m))
        best = best_threshold[size]
        post.threshold = float(best)
        tuned = {"key": "postprocess.threshold", "value": float(best), "metric": self.tuning_metric,
                 "score": round(scores[best, size], 4),
                 "tried": {f"{t:.1f}": round(scores[t, size], 4) for t in THRESHOLD_CANDIDATES},
                 "n_images": n_images}
        if len(sizes) > 1:
            post.min_size = int(size)
            tuned.update({"min_size": int(size),
                          "min_size_tried": {str(m): round(scores[best_threshold[m], m], 4) for m in sizes},
                          "values": {"postprocess.threshold": float(best), "postprocess.min_size": int(size)}})
        return tuned

    def min_size_candidates(self, post, validation) -> list[int]:
        """The minimum object sizes to try; only the settings' own unless the recipe tunes it."""
        return [int(post.min_size)]

    def without_small(self, decided, post, min_size: int):
        """A decision (class mask, labels) with the objects smaller than `min_size` pixels removed."""
        raise NotImplementedError

    tuning_metric = "iou"

    def tuning_tally(self, classes):
        from petrilab.evaluation.segmentation import PixelTally

        return PixelTally(classes)

    def tuning_add(self, tally, truth, decided) -> None:
        tally.add(truth[0], decided[0])

    def tuning_score(self, tally) -> float:
        return tally.scores()["metrics"]["mean_iou"] or 0.0

    # ------------------------------------------------------------ evaluation

    def evaluate(self, trained, samples):
        from petrilab.evaluation.segmentation import ObjectTally, PixelTally
        from petrilab.models.seg_losses import metric_name
        from petrilab.prediction.postprocess import objects_of

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
                saved = _unique(Path(masks_dir) / f"{sample.path.stem}{self.outputs_suffix}.tif", used)
                _write_tiff(saved, pred_labels if self.task == "instance" else pred_classes)
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

    # ------------------------------------------------------------ prediction

    def predict_image(self, trained, image: np.ndarray) -> dict:
        """Everything predicted for one image: {"probabilities" (H, W, K), "mask" (class per pixel),
        "labels" (one number per object), "object_classes" (label → class number)}."""
        probs = self.probabilities(trained, image)
        mask, labels = self.decide(probs, trained.settings.postprocess)
        object_classes = np.zeros(int(labels.max(initial=0)) + 1, dtype=np.int64)
        object_classes[labels.ravel()] = mask.ravel()
        object_classes[0] = 0
        return {"probabilities": probs, "mask": mask, "labels": labels, "object_classes": object_classes}

    def predict(self, trained, images, input_dir, output_dir):
        from petrilab.export.tiff import read_pixel_size
        from petrilab.prediction.measurements import image_summary, measure_objects, write_table
        from petrilab.prediction.overlay import outline_overlay, save_png

        output_dir = Path(output_dir)
        summaries, measured = [], []
        used: set[Path] = set()
        with_probabilities = os.environ.get(runs.SAVE_PROBABILITIES) == "1"  # predict --probabilities
        for path in images:
            rel = path.relative_to(input_dir)
            row = {"file": str(rel)}
            try:
                image = read_image(path)
            except UserError as exc:
                summaries.append({**row, "problem": exc.message})
                continue
            found = self.predict_image(trained, image)
            mask_file = _unique(output_dir / self.outputs_folder / rel.parent / f"{rel.stem}{self.outputs_suffix}.tif",
                                used)
            overlay_file = _unique(output_dir / "overlays" / rel.parent / f"{rel.stem}_overlay.png", used)
            pixel_size = read_pixel_size(path)
            _write_tiff(mask_file, self.saved_array(found), pixel_size)  # the input's scale, for Fiji
            save_png(overlay_file, outline_overlay(image, self.saved_array(found)))
            if with_probabilities:
                _write_probabilities(_unique(output_dir / "probabilities" / rel.parent
                                             / f"{rel.stem}_probabilities.tif", used), found["probabilities"])
            # calibrated columns (µm) too when the input says its pixel size (square pixels: the x size)
            objects = measure_objects(found["labels"], image, pixel_size=pixel_size.x if pixel_size else None)
            for obj in objects:
                measured.append({"file": str(rel), "class": trained.classes[found["object_classes"][obj["label"]]],
                                 **obj})
            summary = image_summary(objects, image_area=int(image.shape[0] * image.shape[1]))
            summaries.append({**row, "mask_file": str(mask_file.relative_to(output_dir)),
                              "overlay_file": str(overlay_file.relative_to(output_dir)), **summary, "problem": ""})
        summaries.sort(key=lambda r: r["file"])
        write_table(output_dir / "objects.csv", measured, None if measured else ["file", "label", "area_px"])
        return write_table(output_dir / PREDICTIONS, summaries)

    outputs_folder = "masks"
    outputs_suffix = "_mask"

    def saved_array(self, found: dict) -> np.ndarray:
        return found["mask"]


class SemanticRecipe(SegmentationRecipe):
    """Semantic segmentation: every pixel gets a class; objects are the connected pieces of each class."""

    task = "semantic"

    def target_classes(self, mask):
        return mask

    def encoder(self, settings):
        return encode_classes(len(settings.data.classes))

    def can_tune(self, settings):
        return len(settings.data.classes) == 2  # a single sigmoid channel; more classes take the most probable

    def decide(self, probs, post):
        from petrilab.prediction.postprocess import clean_mask, objects_of, semantic_mask

        mask = clean_mask(semantic_mask(probs, post.threshold), post)
        return mask, objects_of(mask)

    def truth(self, mask):
        return mask, None


class InstanceRecipe(SegmentationRecipe):
    """Instance segmentation: one label per object, touching objects kept apart (see the module docstring)."""

    task = "instance"
    tuning_metric = "object F1 at IoU 0.5"
    outputs_folder = "labels"
    outputs_suffix = "_labels"

    def __init__(self):
        super().__init__()
        self.boundary_width = BOUNDARY_WIDTHS[0]

    def decide_from_training(self, settings, train):
        # only for the targets: prediction finds objects the same way whatever the width
        self.boundary_width = boundary_width_for(read_mask(s.mask, self.task) for s in train)
        super().decide_from_training(settings, train)

    def fit_options(self, samples, settings):
        return {}, {"boundary_width": self.boundary_width}

    def target_classes(self, mask):
        return instance_classes(mask, self.boundary_width)

    def encoder(self, settings):
        return lambda labels: encode_instances(labels, self.boundary_width)

    def metric_classes(self, settings):
        return list(INSTANCE_CHANNELS)

    def foreground_groups(self):
        return [[1, 2]]  # interior and boundary together: the objects

    def decide(self, probs, post):
        from petrilab.prediction.postprocess import instance_labels

        labels = instance_labels(probs, post, INSTANCE_MODE)
        return (labels > 0).astype(np.int32), labels

    def truth(self, mask):
        return (mask > 0).astype(np.int32), mask

    def min_size_candidates(self, post, validation) -> list[int]:
        """0 and fractions of the validation objects' median area (MIN_SIZE_FRACTIONS), when the settings
        leave postprocess.min_size at 0: specks the network finds are then dropped if that scores better."""
        if post.min_size:
            return [int(post.min_size)]
        areas = []
        for sample in validation:
            try:
                counts = np.bincount(read_mask(sample.mask, self.task).ravel())[1:]
            except (UserError, TypeError):
                continue  # no mask or unreadable: the tuning loop skips it too
            areas.extend(counts[counts > 0].tolist())
        if not areas:
            return [0]
        median = float(np.median(areas))
        return sorted({0} | {int(round(f * median)) for f in MIN_SIZE_FRACTIONS if round(f * median) >= 2})

    def without_small(self, decided, post, min_size):
        from petrilab.prediction.postprocess import finish_labels

        # finish_labels again: holes are already filled, so sizes and the border are judged as at prediction
        labels = finish_labels(decided[1], dataclasses.replace(post, min_size=min_size))
        return (labels > 0).astype(np.int32), labels

    def tuning_tally(self, classes):
        from petrilab.evaluation.segmentation import ObjectTally

        return ObjectTally(thresholds=(0.5,))

    def tuning_add(self, tally, truth, decided) -> None:
        tally.add(truth[1], decided[1])

    def tuning_score(self, tally) -> float:
        return tally.scores()["summary"]["f1"] or 0.0  # None: no objects in validation, every choice alike

    def saved_array(self, found):
        return found["labels"]


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


def read_pixel_size(path: Path):
    from petrilab.export.tiff import read_pixel_size as read

    return read(path)


def _unique(path: Path, used: set) -> Path:
    """`path`, or a numbered variant when another input of the same name (other extension) already took it."""
    candidate, n = path, 2
    while candidate in used:
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
        n += 1
    used.add(candidate)
    return candidate


def _write_tiff(path: Path, array: np.ndarray, pixel_size=None) -> None:
    """A mask or label image as an ImageJ TIFF with the input's pixel size (see export/tiff.py; Fiji, napari)."""
    from petrilab.export.tiff import write_labels

    write_labels(path, array, pixel_size)


def _write_probabilities(path: Path, probabilities: np.ndarray) -> None:
    """(H, W, K) probabilities as a float32 ImageJ TIFF, one plane per output channel (a stack in Fiji)."""
    import tifffile

    buffer = io.BytesIO()
    planes = np.ascontiguousarray(np.moveaxis(probabilities.astype(np.float32), -1, 0))
    tifffile.imwrite(buffer, planes, imagej=True, metadata={"axes": "CYX"}, compression="zlib")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def size_multiple(settings) -> int:
    """Patch and tile sides are multiples of this: 2^depth of the U-Net."""
    return 2 ** max(1, len(settings.model.filters))
