"""The segmentation recipe's 3-D branch: z-stacks trained, scored and predicted with the 3-D U-Net.

`StackSegmentation` is a part of SegmentationRecipe (recipe.py), used when data.dimensions is "3d" (decided
from the files when "auto": every image a stack). What it decides from the data: the voxel size
(data.voxel_size: the user's, else the stacks' own, else unknown), the training block (data.stack_patch_size,
on the grid of the 3-D U-Net's poolings) and, as for 2-D, the classes and channels. Prediction is tiled in 3-D
(prediction/tiling3d.py); objects come from postprocess3d.py; label stacks are written with the voxel size
(export/tiff.write_label_stack) and measured in 3-D (measurements3d.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from petrilab.errors import UserError
from petrilab.prediction.options import DEFAULT

# 3-D prediction: blocks of at most this many voxels go through the network at a time, with a quarter of the
# training block as context on every side
PREDICT_VOXELS = 1 << 21
PREDICT_TILE_3D = (32, 128, 128)


def is_stacks(settings) -> bool:
    """Whether these (a run's) settings train or trained on z-stacks; "auto" before a run decided: no."""
    return settings.data.dimensions == "3d"


def stack_multiples(settings) -> tuple[int, int, int]:
    from petrilab.data.anisotropy import anisotropy_of, size_multiples

    return size_multiples(len(settings.model.filters), anisotropy_of(settings.data.voxel_size))


class StackSegmentation:
    """The 3-D branch; the recipe gives `task`, `decide`, `truth`, `encoder_3d` and the 2-D branch."""

    stacks = False  # set from the settings at each entry (decide_from_data, after_training, evaluate, predict)
    voxel: tuple[float, float, float] | None = None

    def use_settings(self, settings) -> None:
        self.stacks = is_stacks(settings)
        self.voxel = tuple(float(v) for v in settings.data.voxel_size) or None

    def mask_of(self, sample) -> np.ndarray:
        """A sample's mask: a label stack in the 3-D branch, an image otherwise."""
        from petrilab.tasks.segmentation.masks import read_mask
        from petrilab.tasks.segmentation.stack_masks import read_stack_mask

        return read_stack_mask(sample.mask, self.task) if self.stacks else read_mask(sample.mask, self.task)

    # the entries where a recipe made elsewhere (a TrainedModel's) learns which branch its run took
    def after_training(self, trained, validation):
        self.use_settings(trained.settings)
        return super().after_training(trained, validation)

    def evaluate(self, trained, samples):
        self.use_settings(trained.settings)
        return super().evaluate(trained, samples)

    def predict(self, trained, images, input_dir, output_dir, options=DEFAULT):
        self.use_settings(trained.settings)
        if self.stacks and options.slices:
            raise UserError(f"The run {trained.run_dir.name} was trained on z-stacks: it predicts stacks in 3-D, so "
                            "--slices (for runs trained on 2-D images) does not apply.", file=trained.run_dir,
                            fix="Predict without --slices.")
        if self.stacks or options.slices:
            return self.stack_predict(trained, images, input_dir, output_dir, options)
        return super().predict(trained, images, input_dir, output_dir, options)

    def fit_options(self, samples, settings):
        """Stacks: the `started` event also says the voxel size and the training block."""
        options, reported = super().fit_options(samples, settings)
        if is_stacks(settings):
            reported = {**reported, "dimensions": "3d", "voxel_size": list(settings.data.voxel_size),
                        "stack_patch_size": list(settings.data.stack_patch_size)}
        return options, reported

    # ------------------------------------------------------------ data

    def stack_decide_from_data(self, settings, dataset, report) -> None:
        from petrilab.data.check import INFO, WARNING, _add, resolve_channels
        from petrilab.models.catalogue import architectures_for, get_architecture
        from petrilab.tasks.segmentation.stack_blocks import stack_patch_size_for, stack_shapes

        if settings.data.dimensions == "2d":
            raise UserError(f"The folder {dataset.root} holds z-stacks, but 'data.dimensions' asks for 2-D images.",
                            file=dataset.root, fix='Set data.dimensions = "auto" (or "3d") to train on the stacks '
                                                   "in 3-D, or save single planes in a folder of 2-D images.")
        architecture = get_architecture(settings.model.architecture)
        if "3d" not in architecture.dimensions:
            raise UserError(f"The folder {dataset.root} holds z-stacks, and the {architecture.title} answers for "
                            "2-D images only.", file=dataset.root,
                            fix=f'Set model.architecture = "{architectures_for(settings.task.kind, "3d")[0]}" '
                                "(the 3-D U-Net, filters [8, 16] train on a processor), or create the settings with "
                                "'petrilab init --data FOLDER', which proposes it.")
        settings.data.dimensions = "3d"
        settings.data.classes = list(report.classes)
        settings.data.channels = resolve_channels(settings.data.channels, report)
        if not settings.data.voxel_size and report.voxel:
            settings.data.voxel_size = [float(v) for v in report.voxel]
        shapes = stack_shapes(report.sizes)
        requested = list(settings.data.stack_patch_size)
        chosen = stack_patch_size_for(requested, shapes, stack_multiples(settings))
        settings.data.stack_patch_size = list(chosen)
        if requested and tuple(requested) != chosen:
            _add(report, INFO, f"data.stack_patch_size {' × '.join(map(str, requested))} was rounded to "
                               f"{' × '.join(map(str, chosen))}: the network's poolings need sides that divide evenly.")
        if settings.data.load == "stream":
            _add(report, WARNING, "Z-stacks are read into memory before training: 'data.load = stream' applies to "
                                  "2-D images only.", fix='Set data.load = "auto" for stacks.')
        self.use_settings(settings)

    def stack_inputs(self, samples, prep, settings, training: bool) -> dict:
        from petrilab.tasks.segmentation.stack_batches import (DEFAULT_STACK_PATCH, StackPatches, fixed_stack_patches,
                                                             read_stack_pair)

        pairs = [read_stack_pair(sample, prep, self.task) for sample in samples]
        stacks, masks = [p[0] for p in pairs], [p[1] for p in pairs]
        encode = self.encoder_3d(settings)
        patch = tuple(settings.data.stack_patch_size) or DEFAULT_STACK_PATCH
        batch_size = settings.training.batch_size
        if training:
            patches = StackPatches(stacks, masks, encode, patch, batch_size, augmentation=settings.augmentation,
                                   seed=settings.training.seed)
            return {"x": patches, "y": None, "batch_size": None, "steps": len(patches), "in_memory": True}
        x, y = fixed_stack_patches(stacks, masks, encode, patch)
        return {"x": x, "y": y, "batch_size": batch_size, "steps": math.ceil(len(x) / batch_size), "in_memory": True}

    # ------------------------------------------------------------ prediction

    def stack_probabilities(self, trained, pixels: np.ndarray) -> np.ndarray:
        """The network's (Z, Y, X, K) output for one whole (Z, Y, X, C) stack, predicted block by block."""
        from petrilab.prediction.tiling import round_up
        from petrilab.prediction.tiling3d import predict_tiled_3d
        from petrilab.tasks.segmentation.stack_batches import DEFAULT_STACK_PATCH, prepare_stack

        settings = trained.settings
        x = prepare_stack(trained.prep, pixels)
        multiples = stack_multiples(settings)
        patch = tuple(settings.data.stack_patch_size) or DEFAULT_STACK_PATCH
        tile = tuple(round_up(max(p, t), m) for p, t, m in zip(patch, PREDICT_TILE_3D, multiples))
        overlap = tuple(round_up(max(1, p // 4), m) for p, m in zip(patch, multiples))
        model = trained.model

        def predict_batch(batch: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict_on_batch(batch), dtype=np.float32)

        probabilities = predict_tiled_3d(predict_batch, x, tile, overlap, int(model.output.shape[-1]),
                                         batch_size=max(1, PREDICT_VOXELS // math.prod(tile)), multiples=multiples)
        trained.predicted(1)
        return probabilities

    def stack_pairs(self, trained, samples, problems: list[str]):
        """(sample, stack pixels, true label stack, probabilities) for each labelled stack that can be read."""
        from petrilab.data.stacks import read_stack
        from petrilab.tasks.segmentation.stack_masks import read_stack_mask

        for sample in samples:
            if sample.mask is None:
                problems.append(f"Skipped {sample.path}: it has no mask.")
                continue
            try:
                stack, truth = read_stack(sample.path), read_stack_mask(sample.mask, self.task)
            except UserError as exc:
                problems.append(f"Skipped {sample.path}: {exc.message}")
                continue
            if stack.size != truth.shape:
                problems.append(f"Skipped {sample.path}: its mask has another shape.")
                continue
            yield sample, stack.pixels, truth, self.stack_probabilities(trained, stack.pixels)

    def stack_predict(self, trained, images, input_dir, output_dir, options) -> Path:
        """Each stack's mask or label stack (TIFF at the stack's voxel size), its objects measured in 3-D into
        objects.csv, one line per stack in predictions.csv; --probabilities: (Z, C, Y, X) float32 stacks.

        --slices (a 2-D run): every plane predicted as a 2-D image, the planes' probabilities stacked and
        decided as a 3-D run's are, so an object's pieces in neighbouring planes become one 3-D object."""
        from petrilab.data.stacks import read_stack
        from petrilab.export.tiff import write_label_stack
        from petrilab.tasks.segmentation.measurements import write_table
        from petrilab.tasks.segmentation.measurements3d import measure_objects_3d, stack_summary
        from petrilab.tasks.segmentation.prediction import PREDICTIONS, unique_path

        output_dir = Path(output_dir)
        summaries, measured = [], []
        used: set[Path] = set()
        trained_voxel = self.voxel
        for path in images:
            rel = path.relative_to(input_dir)
            row = {"file": str(rel)}
            try:
                stack = read_stack(path)
            except UserError as exc:
                summaries.append({**row, "problem": exc.message})
                trained.predicted(1)
                continue
            voxel = stack.voxel or trained_voxel  # the stack's own, else the training stacks'
            if options.slices:  # a 2-D run: each plane as the 2-D images it learnt from, joined in decide
                probs = np.stack([self.probabilities(trained, plane, count=False) for plane in stack.pixels])
                trained.predicted(1)
            else:
                probs = self.stack_probabilities(trained, stack.pixels)
            self.voxel = voxel  # the objects' distances in this stack's µm
            mask, labels = self.decide(probs, trained.settings.postprocess)
            saved = labels if self.outputs_folder == "labels" else mask
            mask_file = unique_path(
                output_dir / self.outputs_folder / rel.parent / f"{rel.stem}{self.outputs_suffix}.tif", used)
            write_label_stack(mask_file, saved, voxel)
            if options.probabilities:
                _write_probabilities(unique_path(output_dir / "probabilities" / rel.parent
                                                 / f"{rel.stem}_probabilities.tif", used), probs, voxel)
            object_classes = np.zeros(int(labels.max(initial=0)) + 1, dtype=np.int64)
            object_classes[labels.ravel()] = mask.ravel()
            objects = measure_objects_3d(labels, stack.pixels, voxel)
            for obj in objects:
                measured.append({"file": str(rel), "class": trained.classes[object_classes[obj["label"]]], **obj})
            summaries.append({**row, "mask_file": str(mask_file.relative_to(output_dir)),
                              **stack_summary(objects, int(labels.size)), "problem": ""})
        self.voxel = trained_voxel
        summaries.sort(key=lambda r: r["file"])
        write_table(output_dir / "objects.csv", measured, None if measured else ["file", "label", "volume_voxels"],
                    excel=options.excel)
        return write_table(output_dir / PREDICTIONS, summaries, excel=options.excel)


def _write_probabilities(path: Path, probabilities: np.ndarray, voxel) -> None:
    """(Z, Y, X, K) probabilities as a float32 ImageJ hyperstack (Z, C, Y, X) with the voxel size."""
    import io

    import tifffile

    from petrilab.runs import atomic_write_bytes

    metadata: dict = {"axes": "ZCYX"}
    options: dict = {"imagej": True, "compression": "zlib"}
    if voxel:
        metadata.update({"spacing": float(voxel[0]), "unit": "micron"})
        options["resolution"] = (1.0 / float(voxel[2]), 1.0 / float(voxel[1]))
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.ascontiguousarray(np.moveaxis(probabilities.astype(np.float32), -1, 1)),
                     metadata=metadata, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
