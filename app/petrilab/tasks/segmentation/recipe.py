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
From probabilities (H, W, 3) back to objects (postprocess.instance_labels,
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

SegmentationRecipe reads the data, builds the batches and predicts whole
images here; its other parts, beside it in tasks/segmentation/: targets.py (masks as
targets), tuning.py (threshold and minimum size), evaluation.py and prediction.py
(what it writes).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from petrilab.data.check import resolve_channels
from petrilab.data.images import read_image
from petrilab.errors import UserError
from petrilab.recipes.base import Recipe
from petrilab.tasks import output_head
from petrilab.tasks.segmentation.evaluation import SegmentationEvaluation
from petrilab.tasks.segmentation.masks import check_segmentation, discover_segmentation, read_mask
from petrilab.tasks.segmentation.prediction import SegmentationPrediction
from petrilab.tasks.segmentation.stack_recipe import StackSegmentation, is_stacks
from petrilab.tasks.segmentation.targets import (BOUNDARY_WIDTHS, INSTANCE_CHANNELS, boundary_width_for,
                                                   encode_classes, encode_instances, instance_classes)
from petrilab.tasks.segmentation.tuning import SegmentationTuning

INSTANCE_MODE = "boundary"
# Instance segmentation, postprocess.min_size left at 0: the sizes tried on the validation images, as
# fractions of their objects' median area (0 is always tried: keeping every object).
MIN_SIZE_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.5)

# Prediction tiles overlap by a quarter of the training patch (at least 64 pixels), so every pixel is
# predicted with context around it. The overlap is predicted twice, so tiles are as large as memory allows:
# up to PREDICT_TILE_MAX a side (the default U-Net needs about 0.4 GB for 1024 × 1024), PREDICT_TILE_SMALL
# when less than PREDICT_ROOM is free; about PREDICT_PIXELS pixels go to the network at a time.
PREDICT_TILE = 256
PREDICT_TILE_MAX, PREDICT_TILE_SMALL, PREDICT_ROOM = 1024, 512, 4 << 30
PREDICT_PIXELS = 1 << 20


def largest_tile(patch_side: int, multiple: int) -> int:
    """The side of the largest prediction tile: PREDICT_TILE_MAX, smaller when memory is short, never below
    the training patch."""
    from petrilab.prediction.tiling import round_up
    from petrilab.training.memory import available_memory

    free = available_memory()[1]
    side = PREDICT_TILE_MAX if free is None or free >= PREDICT_ROOM else PREDICT_TILE_SMALL
    return round_up(max(side, patch_side), multiple)


def prediction_tiles(patch, multiple: int) -> tuple[tuple[int, int], int]:
    """(largest tile, overlap) for predicting with a network trained on `patch`-sized patches.

    The overlap is a quarter of the patch, at least 64 pixels: a trained default U-Net's output moves by
    less than 1e-3 once the missing surroundings are 32 pixels away, and by nothing beyond 48 (its
    receptive field), and half the overlap has at most half the weight. The largest tile is the largest
    memory allows (tile_plan then takes the fewest that cover the image, as small as they can be). Tiles
    of 1024 plus the overlap (a 4096-pixel side in four tiles of 1072, 1.10 times the pixels, not five of
    872, 1.13) were no faster: the network takes about 5 % more processor time a pixel on 1024–1072-pixel
    tiles than on 768–872-pixel ones (2026-12-06, benchmarks/RESULTS.md), and they need 80 MB more.
    """
    from petrilab.prediction.tiling import round_up

    context = min(round_up(max(int(p), PREDICT_TILE), multiple) for p in patch) // 4
    side = largest_tile(max(int(p) for p in patch), multiple)
    return (side, side), context


class SegmentationRecipe(StackSegmentation, SegmentationTuning, SegmentationEvaluation, SegmentationPrediction,
                         Recipe):
    """What semantic and instance segmentation share; the two subclasses differ in targets and outputs.
    Z-stacks take the 3-D branch (stack_recipe.py) where their methods say so."""

    task = ""

    def __init__(self):
        self.class_weights: list[float] | None = None

    # ------------------------------------------------------------ data

    def discover(self, settings, folder):
        return discover_segmentation(self.task, folder, settings.data.classes or None)

    def check(self, dataset, progress=None):
        from petrilab.tasks.segmentation.stack_check import check_images_or_stacks

        # z-stacks (all or none: a mix is refused, naming files of each) get their own check
        return check_images_or_stacks(dataset, progress=progress)

    def decide_from_data(self, settings, dataset, report):
        from petrilab.tasks.segmentation.patches import patch_size_findings, patch_size_for

        from petrilab.models.catalogue import get_architecture

        if report.dimensions == "3d":
            return self.stack_decide_from_data(settings, dataset, report)
        if settings.data.dimensions == "3d":
            raise UserError(f"The folder {dataset.root} holds 2-D images, but 'data.dimensions' asks for z-stacks.",
                            file=dataset.root, fix='Set data.dimensions = "auto" (or "2d"), or choose a folder of '
                                                   "z-stacks.")
        architecture = get_architecture(settings.model.architecture)
        if "2d" not in architecture.dimensions:
            raise UserError(f"The folder {dataset.root} holds 2-D images, and the {architecture.title} needs "
                            "z-stacks.", file=dataset.root, fix='Set model.architecture = "unet" for 2-D images.')
        self.use_settings(settings)

        settings.data.classes = list(report.classes)
        settings.data.channels = resolve_channels(settings.data.channels, report)
        shapes = [tuple(int(n) for n in size.split("x")) for size in report.sizes]
        requested = settings.data.patch_size
        settings.data.patch_size = list(patch_size_for(requested, shapes, size_multiple(settings)))
        patch_size_findings(requested, tuple(settings.data.patch_size), report, dataset)

    def decide_from_training(self, settings, train):
        if settings.training.loss != "weighted_crossentropy":
            return
        from petrilab.tasks.segmentation.losses import class_weights_from_pixels

        counts = np.zeros(max(2, self.n_outputs(settings)), dtype=np.int64)
        for sample in train:
            target = self.target_classes(self.mask_of(sample))
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
        from petrilab.tasks.segmentation.losses import make_loss, make_metrics

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
        if is_stacks(settings):  # z-stacks: 3-D blocks, held in memory
            return self.stack_inputs(samples, prep, settings, training)
        from petrilab.data.batches import choose_in_memory
        from petrilab.tasks.segmentation.patches import (JointAugmenter, RandomPatches, StreamedPatches, fixed_patches,
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

    def probabilities(self, trained, image: np.ndarray, count: bool = True) -> np.ndarray:
        """The network's (H, W, K) output for one whole image of any size, predicted tile by tile; `count`:
        said to the progress as one image (not for the planes of a stack predicted slice by slice)."""
        from petrilab.prediction.tiling import predict_tiled

        settings = trained.settings
        x = self.full_size(trained.prep)(image)
        multiple = size_multiple(settings)
        tile, context = prediction_tiles(settings.data.patch_size or [PREDICT_TILE, PREDICT_TILE], multiple)
        # trained.network: Keras (predict_on_batch) or ONNX Runtime, as prediction/engine.py chose
        probabilities = predict_tiled(trained.network, x, tile, context, int(trained.model.output.shape[-1]),
                                      batch_size=max(1, PREDICT_PIXELS // (tile[0] * tile[1])), multiple=multiple)
        if count:
            trained.predicted(1)
        return probabilities

    def _pairs(self, trained, samples, problems: list[str]):
        """(sample, image, true mask, probabilities) for each labelled sample that can be read."""
        if self.stacks:
            yield from self.stack_pairs(trained, samples, problems)
            return
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


class SemanticRecipe(SegmentationRecipe):
    """Semantic segmentation: every pixel gets a class; objects are the connected pieces of each class."""

    task = "semantic"

    def target_classes(self, mask):
        return mask

    def encoder(self, settings):
        return encode_classes(len(settings.data.classes))

    def can_tune(self, settings):
        return len(settings.data.classes) == 2  # a single sigmoid channel; more classes take the most probable

    def encoder_3d(self, settings):
        from petrilab.tasks.segmentation.stack_batches import stack_encoder

        return stack_encoder(len(settings.data.classes), None)

    def decide(self, probs, post):
        from petrilab.tasks.segmentation.postprocess import clean_mask, objects_of, semantic_mask

        if probs.ndim == 4:  # a stack's (Z, Y, X, K)
            from petrilab.tasks.segmentation.postprocess3d import semantic_stack

            return semantic_stack(probs, post)

        mask = clean_mask(semantic_mask(probs, post.threshold), post)
        return mask, objects_of(mask)

    def truth(self, mask):
        if mask.ndim == 3:  # a stack: its classes' 3-D connected pieces are the objects
            from petrilab.tasks.segmentation.postprocess3d import stack_pieces

            return mask, stack_pieces(mask)
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
        masks = (self.mask_of(s) for s in train)
        # stacks: boundaries are drawn plane by plane, so their width comes from the planes
        self.boundary_width = boundary_width_for(plane for m in masks for plane in (m if m.ndim == 3 else [m]))
        super().decide_from_training(settings, train)

    def fit_options(self, samples, settings):
        options, reported = super().fit_options(samples, settings)
        return options, {**reported, "boundary_width": self.boundary_width}

    def target_classes(self, mask):
        if mask.ndim == 3:
            from petrilab.tasks.segmentation.stack_batches import stack_instance_classes

            return stack_instance_classes(mask, self.boundary_width)
        return instance_classes(mask, self.boundary_width)

    def encoder_3d(self, settings):
        from petrilab.tasks.segmentation.stack_batches import stack_encoder

        return stack_encoder(None, self.boundary_width)

    def encoder(self, settings):
        return lambda labels: encode_instances(labels, self.boundary_width)

    def metric_classes(self, settings):
        return list(INSTANCE_CHANNELS)

    def foreground_groups(self):
        return [[1, 2]]  # interior and boundary together: the objects

    def decide(self, probs, post):
        from petrilab.tasks.segmentation.postprocess import instance_labels

        if probs.ndim == 4:  # a stack's (Z, Y, X, 3): the same scheme in 3-D, distances in µm
            from petrilab.tasks.segmentation.postprocess3d import instance_stack

            labels = instance_stack(probs, post, self.voxel)
            return (labels > 0).astype(np.int32), labels
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
                counts = np.bincount(self.mask_of(sample).ravel())[1:]
            except (UserError, TypeError):
                continue  # no mask or unreadable: the tuning loop skips it too
            areas.extend(counts[counts > 0].tolist())
        if not areas:
            return [0]
        median = float(np.median(areas))
        return sorted({0} | {int(round(f * median)) for f in MIN_SIZE_FRACTIONS if round(f * median) >= 2})

    def without_small(self, decided, post, min_size):
        from petrilab.tasks.segmentation.postprocess import finish_labels

        if decided[1].ndim == 3:
            from petrilab.tasks.segmentation.postprocess3d import without_small_stack

            labels = without_small_stack(decided[1], post, min_size)
            return (labels > 0).astype(np.int32), labels
        # finish_labels again: holes are already filled, so sizes and the border are judged as at prediction
        labels = finish_labels(decided[1], dataclasses.replace(post, min_size=min_size))
        return (labels > 0).astype(np.int32), labels

    def tuning_tally(self, classes):
        from petrilab.tasks.segmentation.metrics import ObjectTally

        return ObjectTally(thresholds=(0.5,))

    def tuning_add(self, tally, truth, decided) -> None:
        tally.add(truth[1], decided[1])

    def tuning_score(self, tally) -> float:
        return tally.scores()["summary"]["f1"] or 0.0  # None: no objects in validation, every choice alike

    def saved_array(self, found):
        return found["labels"]


def size_multiple(settings) -> int:
    """Patch and tile sides are multiples of this: 2^depth of the U-Net."""
    return 2 ** max(1, len(settings.model.filters))
