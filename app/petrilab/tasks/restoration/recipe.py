"""Image restoration's recipe: DATA/images alone (Noise2Void) or DATA/images + DATA/targets (pairs, CARE).

The network is the catalogue's U-Net with a linear last layer, one unit per channel: it answers with the
restored intensity of every pixel, in the stretched range the input was brought to (normalise.py). Training
cuts random patches (patches.py); with Noise2Void a few pixels of each are hidden behind a neighbour and the
loss looks at those alone (blind_spot.py, losses.py); with pairs every pixel of the target counts. Prediction
goes tile by tile over images of any size (prediction/tiling.py) and maps the answer back to the input's
intensities. Its other parts, beside it: evaluation.py (PSNR, SSIM, non-local means), prediction.py (the
restored TIFFs), report.py.
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
from petrilab.tasks.restoration.data import PAIRS, check_restoration, discover_restoration, is_pairs
from petrilab.tasks.restoration.evaluation import RestorationEvaluation
from petrilab.tasks.restoration.normalise import as_channels, prepare, stretch_of
from petrilab.tasks.restoration.prediction import RestorationPrediction

DEFAULT_PATCH = 64  # Noise2Void's and CARE's usual training patch
PREDICT_TILE = 512  # prediction tiles: large, since the overlap is predicted twice
PREDICT_PIXELS = 1 << 20  # about this many pixels go to the network at a time
LOSSES = ("auto", "mse", "mae")


def size_multiple(settings) -> int:
    """Patch and tile sides are multiples of this: 2^depth of the U-Net."""
    return 2 ** max(1, len(settings.model.filters))


def patch_for(requested, shapes, multiple: int) -> tuple[int, int]:
    """data.patch_size, else DEFAULT_PATCH or the smallest image side when smaller; a multiple of `multiple`."""
    if requested:
        height, width = int(requested[0]), int(requested[1])
    else:
        height = width = min([DEFAULT_PATCH] + [min(h, w) for h, w in shapes])
    return tuple(max(multiple, n // multiple * multiple) for n in (height, width))


class RestorationRecipe(RestorationEvaluation, RestorationPrediction, Recipe):
    task = "restoration"
    # what `petrilab predict --set` may change: how the restored files are written
    prediction_keys = ("restoration.output_type", "restoration.save_difference",
                       "restoration.test_time_augmentation")

    # ------------------------------------------------------------ data

    def discover(self, settings, folder):
        return discover_restoration(self.task, folder, settings.restoration.way)

    def check(self, dataset, progress=None):
        return check_restoration(dataset, progress=progress)

    def decide_from_data(self, settings, dataset, report):
        settings.restoration.way = "pairs" if is_pairs(dataset) else "noise2void"
        settings.data.channels = resolve_channels(settings.data.channels, report)
        shapes = [tuple(int(n) for n in size.split("x")) for size in report.sizes]
        settings.data.patch_size = list(patch_for(settings.data.patch_size, shapes, size_multiple(settings)))

    # ------------------------------------------------------------ model and batches

    def head(self, settings):
        from petrilab.tasks.restoration.losses import WeightedPixelLoss, WeightedPixelMAE

        loss = settings.training.loss
        if loss not in LOSSES:
            raise UserError(f"training.loss = '{loss}' is not a loss for restoration: the answer is an intensity, "
                            "not a class.", fix="Use 'mse' (the usual, CARE and Noise2Void's) or 'mae'.")
        base = output_head(self.task, int(settings.data.channels or 1))
        network = settings.restoration.blind_spot_network if settings.restoration.way == "noise2void" else "plain"
        return dataclasses.replace(base, loss=WeightedPixelLoss("mae" if loss == "mae" else "mse"),
                                   metrics=(WeightedPixelMAE(),), blur_pool=network in ("blur", "n2v2"),
                                   finest_shortcut=network != "n2v2")

    def blind_spot(self, settings):
        from petrilab.tasks.restoration.patches import BlindSpot

        if settings.restoration.way == "pairs":
            return None
        wanted = settings.restoration
        return BlindSpot(wanted.masked_percent, wanted.neighbourhood, wanted.blind_spot_fill)

    def load(self, samples, prep, pairs: bool):
        """The stretched images, and for pairs their stretched targets (each with its own stretch)."""
        images, targets = [], []
        for sample in samples:
            raw = read_image(sample.path)
            x, _ = prepare(raw, prep)
            images.append(x)
            if pairs:
                truth = read_image(sample.target)
                if truth.shape[:2] != raw.shape[:2]:
                    raise UserError(f"The target '{sample.target.name}' does not have the size of its image.",
                                    file=sample.target, fix="Save the target at its image's size.")
                y = as_channels(truth, prep.channels)
                targets.append(stretch_of(y, prep, truth.dtype).forward(y))
        return images, (targets if pairs else None)

    def inputs(self, samples, prep, settings, training):
        from petrilab.tasks.restoration.patches import RestorationPatches, fixed_patches

        samples = list(samples)
        pairs = settings.restoration.way == "pairs"
        images, targets = self.load(samples, prep, pairs)
        patch = patch_for(settings.data.patch_size, [x.shape[:2] for x in images], size_multiple(settings))
        batch_size = settings.training.batch_size
        if training:
            a = settings.augmentation
            geometric = a.geometric != "no"
            flips = (geometric and a.flip_horizontal, geometric and a.flip_vertical, geometric and a.rotate_90)
            patches = RestorationPatches(images, targets, patch, batch_size, self.blind_spot(settings), flips,
                                         seed=settings.training.seed)
            return {"x": patches, "y": None, "batch_size": None, "steps": len(patches), "in_memory": True}
        x, y = fixed_patches(images, targets, patch, self.blind_spot(settings), seed=settings.training.seed)
        return {"x": x, "y": y, "batch_size": batch_size, "steps": math.ceil(len(x) / batch_size), "in_memory": True}

    def min_improvement(self, settings) -> float:
        # Noise2Void's loss is mostly the noise itself, which no network can guess: real progress moves it by
        # less than the usual 1e-4, so any fall counts (its validation hides the same pixels every epoch)
        return 0.0 if settings.restoration.way == "noise2void" else super().min_improvement(settings)

    def callbacks(self, settings) -> list:
        import keras

        if settings.restoration.way != "noise2void":
            return []
        # halve the step when the validation loss has not fallen for half the patience: Noise2Void's updates are
        # noisy (a few hidden pixels per patch), smaller steps late in training average them out (as CSBDeep does)
        return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, min_delta=0.0,
                                                  patience=max(2, settings.training.patience // 2), verbose=0)]

    def fit_options(self, samples, settings):
        return {}, {"way": settings.restoration.way}

    # ------------------------------------------------------------ prediction

    def restore(self, trained, image: np.ndarray, tile: int | None = None) -> np.ndarray:
        """The restored (H, W, C) float32 image, in the input's own intensities, predicted tile by tile (and
        averaged over flips and turns: restoration.test_time_augmentation, orientations.py)."""
        from petrilab.prediction.tiling import predict_tiled, round_up
        from petrilab.tasks.restoration.orientations import averaged, wanted

        settings = trained.settings
        x, stretch = prepare(image, trained.prep)
        multiple = size_multiple(settings)
        patch = max(int(p) for p in (settings.data.patch_size or [DEFAULT_PATCH]))
        # the overlap: a tile's pixels within a quarter of it from an inner edge get no weight, enough for the
        # small U-Net's field of view (about 22 pixels for two levels), so tiles agree with the whole image
        overlap = round_up(max(96, patch // 2), multiple)
        side = round_up(max(tile or PREDICT_TILE, 2 * overlap), multiple)
        model = trained.model

        def predict_batch(batch: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict_on_batch(batch), dtype=np.float32)

        def predict_whole(oriented: np.ndarray) -> np.ndarray:
            return predict_tiled(predict_batch, oriented, (side, side), overlap, int(model.output.shape[-1]),
                                 batch_size=max(1, PREDICT_PIXELS // (side * side)), multiple=multiple)

        chosen = wanted(settings.restoration.test_time_augmentation, settings.augmentation)
        out = averaged(predict_whole, x, chosen)
        trained.predicted(1)
        return stretch.back(out)


__all__ = ["RestorationRecipe", "PAIRS"]
