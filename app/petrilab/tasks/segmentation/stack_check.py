"""The data check for z-stacks: each image a stack, each mask a label stack of the same shape.

Reports in plain words the stack sizes (z × y × x), the voxel size and how much farther apart the planes
are than the pixels; names the masks whose shape differs from their stack's, and the stacks without a
mask. A folder mixing 2-D images and stacks is refused before (data/stacks.py folder_dimensions).
Nothing here imports Keras or Qt.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np

from petrilab.data.anisotropy import DEFAULT_FILTERS_3D
from petrilab.data.check import ERROR, INFO, WARNING, DatasetReport, Finding
from petrilab.data.discovery import Dataset
from petrilab.data.stacks import anisotropy_words, read_stack
from petrilab.errors import UserError
from petrilab.tasks import TASKS
from petrilab.tasks.segmentation.masks import spread


def size_words(size: tuple[int, ...]) -> str:
    return " × ".join(str(n) for n in size)


def check_stack_segmentation(dataset: Dataset,
                             progress: Callable[[int, int], None] | None = None) -> DatasetReport:
    """Read every stack and its mask once; what could go wrong, in the workshop's words."""
    report = DatasetReport(task=dataset.task, n_images=0, classes=list(dataset.classes), counts={}, sizes={},
                           channels={}, dtypes={}, skipped=[str(p) for p in dataset.skipped])
    sizes, channels, dtypes, voxels = Counter(), Counter(), Counter(), Counter()
    values: set[int] = set()
    objects: dict[int, list[int]] = {}  # class (1 for objects) -> objects per stack
    volumes: dict[int, list[int]] = {}  # class -> voxels of every object
    stacks_with: Counter = Counter()  # class value -> stacks whose mask holds it
    mismatched, missing = [], []
    top_mask = None  # the mask holding the largest value
    for i, sample in enumerate(dataset.samples):
        if progress:
            progress(i, len(dataset.samples))
        stack = _read_noting(sample.path, report)
        if stack is None:
            continue
        if sample.mask is None or not sample.mask.exists():
            missing.append(sample.path)
            continue
        mask = _read_noting(sample.mask, report)
        if mask is None:
            continue
        if mask.size != stack.size or mask.pixels.shape[3] != 1:
            mismatched.append((sample, stack.size, mask.pixels.shape))
            continue
        report.n_images += 1
        sizes[size_words(stack.size)] += 1
        channels[int(stack.pixels.shape[3])] += 1
        dtypes[str(stack.pixels.dtype)] += 1
        voxels[stack.voxel] += 1
        present = {int(v) for v in np.unique(mask.pixels)}
        _count_objects(dataset.task, mask.pixels[..., 0], objects, volumes)
        if max(present) > max(values, default=0):
            top_mask = sample.mask
        values |= present
        stacks_with.update(present | ({-1} if any(v > 0 for v in present) else set()))  # -1: any object
    report.sizes, report.channels, report.dtypes = dict(sizes), dict(channels), dict(dtypes)
    report.dimensions = "3d"
    report.counts = _counts(dataset, stacks_with)
    for sample, size, shape in mismatched:
        shown = size_words(shape[:3]) + (f" with {shape[3]} channels" if shape[3] > 1 else "")
        report.findings.append(Finding(
            ERROR, f"The mask '{sample.mask.name}' is {shown} but its stack '{sample.path.name}' is "
                   f"{size_words(size)} (z × y × x).", str(sample.mask),
            "Save the mask as a label stack of the same number of planes and the same size as its image "
            "(one plane of labels per plane of the image)."))
    for path in missing:
        report.findings.append(Finding(ERROR, f"The stack '{path.name}' has no mask in 'masks'.", str(path),
                                       "Put its label stack, with the same name, in 'masks', or move the stack out."))
    _sizes_and_voxels(report, voxels)
    if len(voxels) == 1 and None not in voxels:
        report.voxel = list(next(iter(voxels)))
    names = list(dataset.classes)
    report.masks = {"values": sorted(values), "kind": "labels" if TASKS[dataset.task].has_objects else "classes",
                    "objects": {names[c] if c < len(names) else f"class {c}":
                                {"count": int(sum(per)), "per_image": spread(per),
                                 "area": spread(volumes.get(c, []))}  # in voxels, as "area" is for 2-D masks
                                for c, per in sorted(objects.items())}}
    _class_values(report, dataset, values, top_mask)
    if report.n_images:  # the 3-D U-Net, small enough to train on a processor (init and the window apply them)
        report.proposals["model.architecture"] = "unet3d"
        report.proposals["model.filters"] = list(DEFAULT_FILTERS_3D)
    return report


def _class_values(report: DatasetReport, dataset: Dataset, values: set[int], top_mask) -> None:
    """Semantic masks: every value a class of data.classes (0/255 masks read as 0/1), as the 2-D check says."""
    if not TASKS[dataset.task].has_classes or not values:
        return
    top = 1 if values <= {0, 255} else max(values)
    names = list(dataset.classes)
    if top + 1 > len(names):
        report.findings.append(Finding(
            ERROR, f"The masks hold class numbers up to {top} but 'data.classes' names only {len(names)} classes "
                   f"({', '.join(names)}). A mask with one number per object is a label stack: for it choose "
                   "instance segmentation.", str(top_mask) if top_mask else None,
            "Name every class in 'data.classes' (background first), or save masks whose values are the classes."))


def check_images_or_stacks(dataset: Dataset, progress: Callable[[int, int], None] | None = None) -> DatasetReport:
    """The segmentation check for a folder of 2-D images or of z-stacks, as its files say (a mix with as many
    stacks as 2-D images or more is refused, naming files of each: data/stacks.folder_dimensions)."""
    from petrilab.data.stacks import folder_dimensions
    from petrilab.tasks.segmentation.masks import check_segmentation

    if folder_dimensions([s.path for s in dataset.samples]) == "3d":
        return check_stack_segmentation(dataset, progress=progress)
    return check_segmentation(dataset, progress=progress)


def _counts(dataset: Dataset, stacks_with: Counter) -> dict[str, int]:
    """Stacks per class: whose mask holds the class's value; for objects, any object."""
    names = list(dataset.classes)
    if TASKS[dataset.task].has_objects:
        with_objects = stacks_with.get(-1, 0)
        return {name: (stacks_with.get(0, 0) if i == 0 else with_objects) for i, name in enumerate(names)}
    return {name: int(stacks_with.get(i, 0)) for i, name in enumerate(names)}


def _sizes_and_voxels(report: DatasetReport, voxels: Counter) -> None:
    if not report.n_images:
        return
    sizes = ", ".join(f"{n} of {size} (z × y × x)" for size, n in sorted(report.sizes.items()))
    report.findings.append(Finding(INFO, f"{report.n_images} z-stacks: {sizes}."))
    if len(voxels) > 1:
        said = sorted((v for v in voxels if v is not None), key=str)
        words = "; ".join(anisotropy_words(v) for v in said)
        report.findings.append(Finding(
            WARNING, f"The stacks do not all have the same voxel size ({words}"
                     f"{'; some do not say' if None in voxels else ''}).",
            fix="Resample them to one voxel size in Fiji (Image > Scale...), so one network sees objects at "
                "one scale."))
    else:
        report.findings.append(Finding(INFO, anisotropy_words(next(iter(voxels)))))


def _read_noting(path, report):
    """The stack at `path`, or None with why it cannot be read noted in the report (named, with the fix)."""
    try:
        return read_stack(path)
    except UserError as error:
        report.unreadable.append(str(path))
        report.findings.append(Finding(ERROR, error.message, str(path), error.fix))
        return None


def _count_objects(task: str, labels: np.ndarray, objects: dict, volumes: dict) -> None:
    """Objects (instance: each number; semantic: each 3-D connected piece of a class) and their voxels."""
    if TASKS[task].has_objects:
        sizes = np.bincount(labels.ravel().astype(np.int64))[1:]
        sizes = sizes[sizes > 0]
        objects.setdefault(1, []).append(len(sizes))
        volumes.setdefault(1, []).extend(int(v) for v in sizes)
        return
    from scipy import ndimage

    for c in np.unique(labels):
        if c == 0:
            continue
        pieces, n = ndimage.label(labels == c, structure=np.ones((3, 3, 3)))
        objects.setdefault(int(c), []).append(int(n))
        volumes.setdefault(int(c), []).extend(int(v) for v in np.bincount(pieces.ravel())[1:])

