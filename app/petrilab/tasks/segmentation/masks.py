"""Segmentation data: DATA/images/<image> + DATA/masks/<same name>, found, read and checked.

A mask has the image's name (its extension may differ: cell01.png ↔ cell01.tif; a suffix such as
_mask or _cp_masks is matched too, see mask_hints.py)
and its size. Semantic masks hold a class number per pixel (0 background,
1, 2 … the other classes; a black-and-white mask saved as 0/255 is read as
0/1). Instance masks are label images: 0 background and one number per
object. A mask with a single object value (a binary mask) is accepted for
instance segmentation: its connected pieces become the objects, which the
check explains, since touching objects then count as one.

Nothing here imports Keras: the window's data page uses it too.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np

from petrilab.data import check as checks
from petrilab.data.check import ERROR, INFO, WARNING, DatasetReport
from petrilab.data.discovery import Dataset, Sample, _entries, open_folder
from petrilab.data.images import image_info, is_image_file, read_image
from petrilab.errors import UserError
from petrilab.tasks import MASK_TASKS as SEGMENTATION_TASKS, TASKS
from petrilab.tasks.segmentation import mask_hints

IMAGES, MASKS = "images", "masks"
# More distinct values than this in a semantic mask look like a label image or a photo, not classes.
MAX_SEMANTIC_CLASSES = 32
# Fewer images than this cannot be split into training, validation and test sets.
MIN_IMAGES = 3
FEW_IMAGES = 10
# Foreground below this share of the pixels: the "88 % accuracy, learnt nothing" case.
RARE_FOREGROUND = 0.15
# Patches: the side we propose at most, and what every side is a multiple of (three 2×2 poolings).
DEFAULT_PATCH = 128
PATCH_STEP = 8
MIN_PATCH = 16
MAX_LISTED = 20

_LAYOUT = ("DATA/images/<image> and DATA/masks/<same name>, e.g. DATA/images/cells01.tif with "
           "DATA/masks/cells01.tif")


def default_classes(task: str, n: int = 2) -> list[str]:
    """Names for the pixel classes when the user gave none."""
    if TASKS[task].has_objects or n <= 2:
        return ["background", "object" if TASKS[task].has_objects else "foreground"]
    return ["background"] + [f"class {k}" for k in range(1, n)]


# ---------------------------------------------------------------- discovery


def discover_segmentation(task: str, folder, classes: list[str] | None = None) -> Dataset:
    """The images of DATA/images, each with its mask from DATA/masks (None when missing: the check says so)."""
    if task not in SEGMENTATION_TASKS:
        raise ValueError(f"not a segmentation task: {task!r}")
    root = open_folder(folder)
    images_dir, masks_dir = root / IMAGES, root / MASKS
    if not images_dir.is_dir() or not masks_dir.is_dir():
        missing = IMAGES if not images_dir.is_dir() else MASKS
        raise UserError(f"The folder {root} has no '{missing}' sub-folder.", file=root / missing,
                        fix=f"Segmentation data needs two sub-folders: {_LAYOUT}.")
    images, skipped = _images_in(images_dir)
    if not images:
        raise UserError(f"The folder {images_dir} has no images.", file=images_dir,
                        fix=f"Put the images in 'images' and their masks in 'masks': {_LAYOUT}.")
    masks, mask_others = _images_in(masks_dir)
    by_stem: dict[str, list[Path]] = {}
    for m in masks:
        by_stem.setdefault(m.stem.casefold(), []).append(m)
    samples = []
    for image in images:
        candidates = by_stem.get(image.stem.casefold(), [])
        exact = [m for m in candidates if m.name == image.name]
        samples.append(Sample(image, 0, (exact or candidates or [mask_hints.suffixed_mask(image, by_stem)])[0]))
    used = {s.mask for s in samples}
    skipped += mask_others + [m for m in masks if m not in used]  # masks without an image: reported, not used
    if classes:
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise UserError("'data.classes' must list at least two different class names (background first).",
                            file=root, fix='For example classes = ["background", "nucleus"], or [] to name them '
                                           "from the masks.")
        names = list(classes)
    else:
        names = default_classes(task)
    return Dataset(task=task, root=root, samples=samples, classes=names, skipped=skipped)


def _images_in(folder: Path) -> tuple[list[Path], list[Path]]:
    images, others = [], []
    for p in _entries(folder):
        if p.is_file() and is_image_file(p):
            images.append(p)
        elif p.is_dir() and next((q for q in p.rglob("*") if q.is_file() and is_image_file(q)), None):
            raise UserError(f"The folder '{folder.name}' contains a sub-folder '{p.name}' with images; PetriLab reads "
                            f"the images placed directly in '{folder.name}'.", file=p,
                            fix=f"Move the images of '{p.name}' up into '{folder.name}': {_LAYOUT}.")
        else:
            others.append(p)
    return images, others


def expected_mask(sample: Sample, root: Path) -> Path:
    return root / MASKS / sample.path.name


# ---------------------------------------------------------------- reading masks


def _raw_mask(path: Path) -> np.ndarray:
    """The mask as a 2-D integer array, or a UserError naming the file when its values are not numbers per pixel."""
    # a NaN in a mask is an error to name, not a pixel to fill; a palette mask's indices are its labels
    array = read_image(path, finite=False, indices=True)
    if array.shape[2] > 1:
        first = array[:, :, :1]
        if array.shape[2] == 4 and np.all(array[:, :, :3] == first):
            array = first  # grey saved as RGBA
        elif np.all(array == first):
            array = first  # grey saved as RGB: all channels equal
        else:
            raise UserError(f"The mask '{path.name}' is a colour image; a mask holds one number per pixel.",
                            file=path,
                            fix="Save the mask as a single-channel (grey) image: 0 for background and a class or "
                                "object number elsewhere (in Fiji: Image > Type > 8-bit or 16-bit, without "
                                "a colour lookup table baked in).")
    mask = array[:, :, 0]
    if mask.dtype.kind == "f":
        if not np.all(np.isfinite(mask)) or not np.all(mask == np.round(mask)):
            raise UserError(f"The mask '{path.name}' has fractional values (e.g. {_fractional(mask)}); a mask holds "
                            "whole numbers (class or object numbers), not probabilities or intensities.",
                            file=path, fix="Save the mask with whole numbers, e.g. as an 8-bit or 16-bit image.")
    if mask.size and mask.min() < 0:
        raise UserError(f"The mask '{path.name}' has negative values (down to {mask.min()}); 0 is background and "
                        "classes or objects are numbered 1, 2, 3 …", file=path,
                        fix="Save the mask as an unsigned 8-bit or 16-bit image.")
    return mask.astype(np.int64)


def _fractional(mask: np.ndarray) -> str:
    bad = mask[~np.isfinite(mask) | (mask != np.round(mask))]
    return f"{float(bad[0]):g}"


def is_black_and_white(mask: np.ndarray) -> bool:
    """0/255 masks: what image editors save for a binary mask."""
    return bool(mask.max(initial=0) == 255 and np.all((mask == 0) | (mask == 255)))


def read_class_mask(path) -> np.ndarray:
    """A semantic mask: the class number of every pixel (int32); 0/255 masks become 0/1."""
    mask = _raw_mask(Path(path))
    if is_black_and_white(mask):
        mask = mask // 255
    return mask.astype(np.int32)


def read_label_mask(path) -> tuple[np.ndarray, bool]:
    """An instance mask as labels (int32, 0 background, 1..N objects) and whether it was a binary mask
    (a single object value), whose connected pieces were made the objects."""
    from skimage.measure import label

    mask = _raw_mask(Path(path))
    values = np.unique(mask)
    values = values[values != 0]
    if len(values) == 1:
        labels = label(mask > 0, connectivity=2)
        return labels.astype(np.int32), int(labels.max()) > 1
    if values.size and values.max() > np.iinfo(np.int32).max:
        raise UserError(f"The mask '{Path(path).name}' has object numbers above 2³¹.", file=path,
                        fix="Renumber the objects 1, 2, 3 … (in Fiji: Image > Lookup Tables does not change them; "
                            "use a plugin such as MorphoLibJ's 'Remap Labels').")
    return mask.astype(np.int32), False


def read_mask(path, task: str) -> np.ndarray:
    """The mask the network learns from: class numbers (semantic) or object labels (instance)."""
    return read_label_mask(path)[0] if TASKS[task].has_objects else read_class_mask(path)


# ---------------------------------------------------------------- patch size


def propose_patch_size(heights: list[int], widths: list[int]) -> list[int]:
    """Square training patches: DEFAULT_PATCH, or the smallest image side when smaller, in steps of PATCH_STEP."""
    if not heights:
        return [DEFAULT_PATCH, DEFAULT_PATCH]
    side = min(DEFAULT_PATCH, min(heights), min(widths))
    side = max(MIN_PATCH, side // PATCH_STEP * PATCH_STEP)
    return [side, side]


# ---------------------------------------------------------------- the check


class _Tally:
    """What the masks hold, added up image by image."""

    def __init__(self, task: str):
        self.task = task
        self.pixels: Counter = Counter()  # class -> pixels
        self.images_with: Counter = Counter()  # class -> images where it appears
        self.objects: dict[int, list[int]] = {}  # class -> objects per image
        self.areas: dict[int, list[int]] = {}  # class -> area of every object
        self.binary = 0
        self.black_and_white = 0
        self.empty = 0
        self.max_value = 0
        self.most_values: tuple[int, Path | None] = (0, None)
        self.split: list[tuple[Path, list[int]]] = []  # instance masks: object numbers in separate pieces

    def add(self, mask_path: Path) -> None:
        from scipy import ndimage

        if TASKS[self.task].has_objects:
            labels, was_binary = read_label_mask(mask_path)
            self.binary += int(was_binary)
            pieces = [] if was_binary else mask_hints.split_objects(labels)
            if pieces:
                self.split.append((mask_path, pieces))
            areas = np.bincount(labels.ravel())[1:]
            areas = areas[areas > 0]
            self.objects.setdefault(1, []).append(len(areas))
            self.areas.setdefault(1, []).extend(int(a) for a in areas)
            classes = (labels > 0).astype(np.int64)
        else:  # semantic
            raw = _raw_mask(mask_path)
            self.black_and_white += int(is_black_and_white(raw))
            classes = raw // 255 if is_black_and_white(raw) else raw
            distinct = len(np.unique(classes))
            if distinct > self.most_values[0]:
                self.most_values = (distinct, mask_path)
            if classes.max(initial=0) >= MAX_SEMANTIC_CLASSES:
                raise UserError(
                    f"The mask '{mask_path.name}' has values up to {int(classes.max())}: that looks like a label image "
                    "(one number per object) or an ordinary picture, not class numbers.",
                    file=mask_path,
                    fix="For semantic segmentation, a mask holds 0 for background and 1, 2 … for the classes "
                        f"(at most {MAX_SEMANTIC_CLASSES - 1}). If each object has its own number, choose instance "
                        "segmentation instead.")
            for c in np.unique(classes):
                if c == 0:
                    continue
                pieces, n = ndimage.label(classes == c, structure=np.ones((3, 3)))
                self.areas.setdefault(int(c), []).extend(int(a) for a in np.bincount(pieces.ravel())[1:])
                self.objects.setdefault(int(c), []).append(int(n))
        counts = np.bincount(classes.ravel())
        for c, n in enumerate(counts):
            if n:
                self.pixels[c] += int(n)
                self.images_with[c] += 1
        self.max_value = max(self.max_value, len(counts) - 1)
        self.empty += int(len(counts) <= 1)


def check_segmentation(dataset: Dataset, progress: Callable[[int, int], None] | None = None) -> DatasetReport:
    """Read every image header and every mask; report what would spoil training, in plain words."""
    task = dataset.task
    tally = _Tally(task)
    headers = checks.Headers()
    findings_first: list[tuple[str, str, str | None, str | None]] = []
    missing: list[Sample] = []
    mismatched: list[tuple[Sample, tuple, tuple]] = []
    total = len(dataset.samples)
    for i, sample in enumerate(dataset.samples):
        if progress is not None:
            progress(i, total)
        if sample.mask is None:
            missing.append(sample)
            continue
        try:
            info = image_info(sample.path)
        except UserError as exc:
            headers.refuse(sample.path, exc)
            continue
        try:
            mask_info = image_info(sample.mask)
        except UserError as exc:
            headers.refuse(sample.path, UserError(
                f"The mask of '{sample.path.name}' cannot be read ({exc.message})", file=sample.mask, fix=exc.fix))
            continue
        if (mask_info.height, mask_info.width) != (info.height, info.width):
            mismatched.append((sample, (info.height, info.width), (mask_info.height, mask_info.width)))
            continue
        try:
            tally.add(sample.mask)
        except UserError as exc:
            findings_first.append((ERROR, exc.message, exc.file, exc.fix))
            continue
        headers.add(info, sample.path)
    if progress is not None:
        progress(total, total)

    names = _class_names(dataset, tally)
    report = headers.report(dataset, len(headers.heights), names,
                            {name: int(tally.images_with.get(c, 0)) for c, name in enumerate(names)})
    for level, message, file, fix in findings_first:
        checks._add(report, level, message, file, fix)
    _pairing_findings(report, dataset, missing, mismatched)
    checks._unreadable_findings(report, headers.reasons)
    _count_findings(report, dataset)
    if report.n_images:
        checks._channel_findings(report)
        checks._depth_findings(report)
        _class_findings(report, dataset, tally, names)
        _object_findings(report, tally, names)
        _patch_findings(report, headers.heights, headers.widths)
        checks.file_findings(report, headers, dataset, resized=False)
    mask_hints.mask_findings(report, dataset, tally.empty, tally.split)
    checks._skipped_findings(report)
    return report


def _class_names(dataset: Dataset, tally: _Tally) -> list[str]:
    """The pixel classes: the user's names, or names for every class number the masks hold."""
    if TASKS[dataset.task].has_objects or list(dataset.classes) != default_classes(dataset.task):
        return list(dataset.classes)
    return default_classes(dataset.task, max(2, tally.max_value + 1))


def _pairing_findings(report: DatasetReport, dataset: Dataset, missing: list[Sample], mismatched: list) -> None:
    for sample in missing[:MAX_LISTED]:
        checks._add(report, ERROR, f"The image '{sample.path.name}' has no mask.",
                    expected_mask(sample, dataset.root),
                    fix=f"Add its mask with the same name in '{MASKS}' ({_LAYOUT}), or move the image out of "
                        f"'{IMAGES}'.")
    if len(missing) > MAX_LISTED:
        checks._add(report, ERROR, f"{len(missing) - MAX_LISTED} more images have no mask.", dataset.root / MASKS,
                    fix="Give every image a mask with the same name.")
    for sample, image_size, mask_size in mismatched[:MAX_LISTED]:
        checks._add(report, ERROR,
                    f"The mask '{sample.mask.name}' is {mask_size[0]} × {mask_size[1]} pixels but its image "
                    f"'{sample.path.name}' is {image_size[0]} × {image_size[1]}: every pixel needs its label.",
                    sample.mask,
                    fix="Save the mask at the image's size (a mask drawn on a resized or cropped copy of the "
                        "image does not fit the original).")
    if len(mismatched) > MAX_LISTED:
        checks._add(report, ERROR, f"{len(mismatched) - MAX_LISTED} more masks differ in size from their image.",
                    dataset.root / MASKS, fix="Save every mask at its image's size.")
    orphans = [p for p in dataset.skipped if p.parent.name == MASKS and is_image_file(p)]
    if orphans:
        shown = ", ".join(f"'{p.name}'" for p in orphans[:3])
        checks._add(report, WARNING, f"{len(orphans)} mask(s) have no image of the same name and are not used "
                                     f"({shown}{' …' if len(orphans) > 3 else ''}).", orphans[0],
                    fix="Check the file names: a mask has its image's name.")


def _count_findings(report: DatasetReport, dataset: Dataset) -> None:
    n = report.n_images
    if n < MIN_IMAGES:
        checks._add(report, ERROR, f"Only {n} image(s) with a usable mask: at least {MIN_IMAGES} are needed for "
                                   f"training, validation and test.", dataset.root / IMAGES,
                    fix="Add annotated images (a few dozen are a good start for segmentation).")
    elif n < FEW_IMAGES:
        checks._add(report, WARNING, f"Only {n} annotated images: the validation and test sets will be tiny and "
                                     "their scores noisy.", dataset.root / IMAGES,
                    fix="Add annotated images if you can; meanwhile keep data augmentation on (flips, rotations, "
                        "elastic deformation).")


def _class_findings(report: DatasetReport, dataset: Dataset, tally: _Tally, names: list[str]) -> None:
    total = sum(tally.pixels.values()) or 1
    share = {name: tally.pixels.get(c, 0) / total for c, name in enumerate(names)}
    report.masks["kind"] = "labels" if TASKS[dataset.task].has_objects else "classes"
    report.masks["pixel_share"] = {k: round(v, 6) for k, v in share.items()}
    report.masks["empty_masks"] = tally.empty
    report.masks["binary_masks"] = tally.binary
    if TASKS[dataset.task].has_classes:
        if tally.max_value + 1 > len(names):
            checks._add(report, ERROR,
                        f"The masks hold class numbers up to {tally.max_value} but 'data.classes' names only "
                        f"{len(names)} classes ({', '.join(names)}).", tally.most_values[1],
                        fix="Name every class in 'data.classes' (background first), or leave it empty to name "
                            "them from the masks.")
        if names != list(dataset.classes):
            report.proposals["data.classes"] = names
        for c, name in enumerate(names):
            if c and not tally.pixels.get(c):
                checks._add(report, WARNING, f"The class '{name}' (value {c}) appears in no mask.", dataset.root / MASKS,
                            fix="Check the masks' values, or remove the class from 'data.classes'.")
        if tally.black_and_white:
            checks._add(report, INFO, f"{tally.black_and_white} mask(s) are black and white (0 and 255): white is read "
                                      "as class 1.")
    if tally.binary:
        checks._add(report, INFO,
                    f"{tally.binary} mask(s) are binary (one value for every object): each connected piece is taken "
                    "as one object, so objects that touch in the mask count as one.",
                    fix="Masks with one number per object (a label image, e.g. from Fiji's 'Analyze Particles' "
                        "count masks, or StarDist/Cellpose) teach the network to separate touching objects.")
    foreground = 1.0 - share[names[0]]
    if tally.pixels and foreground < RARE_FOREGROUND:
        checks._add(report, INFO,
                    f"The objects cover only {foreground:.1%} of the pixels: a network that finds nothing would "
                    f"still be {1 - foreground:.0%} right pixel by pixel, so PetriLab judges it by IoU and Dice.",
                    fix="Cross-entropy + Dice (the default loss) or weighted cross-entropy keep the rare "
                        "foreground from being ignored.")
    if tally.empty:
        checks._add(report, INFO, f"{tally.empty} mask(s) are empty (background only); they teach what is not an "
                                  "object.")


def _object_findings(report: DatasetReport, tally: _Tally, names: list[str]) -> None:
    objects = {}
    for c, per_image in sorted(tally.objects.items()):
        areas = tally.areas.get(c, [])
        name = names[c] if c < len(names) else f"class {c}"
        objects[name] = {
            "count": int(sum(per_image)),
            "per_image": spread(per_image),
            "area": spread(areas),
        }
    report.masks["objects"] = objects
    for name, o in objects.items():
        if o["count"] and o["area"]["median"] < 12:
            checks._add(report, WARNING,
                        f"The '{name}' objects are tiny (half of them smaller than {o['area']['median']:.0f} "
                        "pixels): a few pixels off is then a large error.",
                        fix="If the microscope allows, acquire at a higher magnification.")


def spread(values: list[int]) -> dict:
    """min, median, max of per-image counts or object sizes (the check's summaries, 2-D and stacks)."""
    if not values:
        return {"min": 0, "median": 0, "max": 0}
    return {"min": int(min(values)), "median": float(np.median(values)), "max": int(max(values))}


def _patch_findings(report: DatasetReport, heights: list[int], widths: list[int]) -> None:
    proposed = propose_patch_size(heights, widths)
    report.proposals["data.patch_size"] = proposed
    objects = report.masks.get("objects", {})
    diameters = [2 * math.sqrt(o["area"]["median"] / math.pi) for o in objects.values() if o["count"]]
    if diameters and max(diameters) > proposed[0] / 2:
        checks._add(report, WARNING,
                    f"The objects are large next to the training patches ({max(diameters):.0f} pixels across, "
                    f"patches of {proposed[0]} × {proposed[1]}): the network will rarely see a whole object.",
                    fix="Choose a larger 'data.patch_size' (needs more memory), or shrink the images in Fiji.")
    if len(report.sizes) > 1:
        checks._add(report, INFO,
                    f"The images have {len(report.sizes)} different sizes; none is resized: training cuts patches "
                    f"of {proposed[0]} × {proposed[1]} pixels and prediction covers each whole image tile by tile.")
