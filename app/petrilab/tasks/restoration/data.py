"""Restoration data: DATA/images/<image> alone (Noise2Void), or with DATA/targets/<same name> (pairs, CARE).

A target is the clean (or high-quality) image of the same field, the same size, with the same name (another
extension is accepted: cell01.png ↔ cell01.tif). The check names every image without a target, every target
without an image and every pair whose sizes differ, with what to do; it reads headers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from petrilab.data import check as checks
from petrilab.data.check import ERROR, INFO, WARNING, DatasetReport
from petrilab.data.discovery import Dataset, Sample, _entries, open_folder
from petrilab.data.images import image_info, is_image_file
from petrilab.errors import UserError

IMAGES, TARGETS = "images", "targets"
MIN_IMAGES = 3  # training, validation and test need one image each
FEW_IMAGES = 6
# the one group the split sees (restoration has no classes): named after the way, in split.csv's class column
NOISY, PAIRS = "noisy images", "image pairs"
_LAYOUT = ("DATA/images/<image> (noisy images alone), or DATA/images/<image> + DATA/targets/<same name> "
           "(each noisy image and its clean image)")


@dataclass
class RestorationSample(Sample):
    target: Path | None = None  # pairs: the clean image of the same name in DATA/targets


def chosen_way(way: str, root: Path) -> str:
    """'noise2void' or 'pairs': restoration.way, or for "auto" pairs when DATA/targets exists."""
    if way == "auto":
        return "pairs" if (root / TARGETS).is_dir() else "noise2void"
    return way


def discover_restoration(task: str, folder, way: str = "auto") -> Dataset:
    """The noisy images of DATA/images, each with its target from DATA/targets when that folder exists (None
    when missing: for pairs the check names it). Noise2Void trains without the targets; evaluation scores the
    test images against them when there are any."""
    root = open_folder(folder)
    images_dir = root / IMAGES
    if not images_dir.is_dir():
        raise UserError(f"The folder {root} has no '{IMAGES}' sub-folder.", file=images_dir,
                        fix=f"Restoration data is laid out as {_LAYOUT}.")
    way = chosen_way(way, root)
    if way == "pairs" and not (root / TARGETS).is_dir():
        raise UserError(f"Learning from pairs needs a '{TARGETS}' sub-folder in {root}, with the clean image of "
                        "each noisy one under the same name.", file=root / TARGETS,
                        fix="Add DATA/targets, or set restoration.way to 'noise2void' to learn from the noisy "
                            "images alone.")
    images, skipped = _images_in(images_dir)
    if not images:
        raise UserError(f"The folder {images_dir} has no images.", file=images_dir,
                        fix=f"Put the noisy images in '{IMAGES}': {_LAYOUT}.")
    samples = [RestorationSample(image, 0) for image in images]
    if (root / TARGETS).is_dir():
        targets, others = _images_in(root / TARGETS)
        by_stem: dict[str, list[Path]] = {}
        for t in targets:
            by_stem.setdefault(t.stem.casefold(), []).append(t)
        for sample in samples:
            candidates = by_stem.get(sample.path.stem.casefold(), [])
            exact = [t for t in candidates if t.name == sample.path.name]
            sample.target = (exact or candidates or [None])[0]
        used = {s.target for s in samples}
        if way == "pairs":
            skipped += others + [t for t in targets if t not in used]  # targets without an image: named by the check
    return Dataset(task=task, root=root, samples=samples, classes=[PAIRS if way == "pairs" else NOISY],
                   skipped=skipped)


def _images_in(folder: Path) -> tuple[list[Path], list[Path]]:
    images, others = [], []
    for p in _entries(folder):
        if p.is_file() and is_image_file(p):
            images.append(p)
        elif p.is_dir():
            raise UserError(f"The folder '{folder.name}' contains a sub-folder '{p.name}'; PetriLab reads the images "
                            f"placed directly in '{folder.name}'.", file=p,
                            fix=f"Move the images of '{p.name}' up into '{folder.name}': {_LAYOUT}.")
        else:
            others.append(p)
    return images, others


def is_pairs(dataset: Dataset) -> bool:
    return list(dataset.classes) == [PAIRS]


def check_restoration(dataset: Dataset, progress=None) -> DatasetReport:
    """Read every header (and every target's); name what would spoil training, in plain words."""
    pairs = is_pairs(dataset)
    headers = checks.Headers()
    missing, mismatched = [], []
    total = len(dataset.samples)
    for i, sample in enumerate(dataset.samples):
        if progress is not None:
            progress(i, total)
        if pairs and sample.target is None:
            missing.append(sample)
            continue
        try:
            info = image_info(sample.path)
        except UserError as exc:
            headers.refuse(sample.path, exc)
            continue
        if pairs:
            try:
                target = image_info(sample.target)
            except UserError as exc:
                headers.refuse(sample.path, UserError(f"The target of '{sample.path.name}' cannot be read "
                                                      f"({exc.message})", file=sample.target, fix=exc.fix))
                continue
            if (target.height, target.width) != (info.height, info.width):
                mismatched.append((sample, (info.height, info.width), (target.height, target.width)))
                continue
        headers.add(info, sample.path)
    if progress is not None:
        progress(total, total)
    report = headers.report(dataset, len(headers.heights), list(dataset.classes),
                            {dataset.classes[0]: len(headers.heights)})
    _pairing_findings(report, dataset, missing, mismatched)
    checks._unreadable_findings(report, headers.reasons)
    _count_findings(report, dataset)
    if not pairs and (dataset.root / TARGETS).is_dir():
        checks._add(report, INFO, f"Noise2Void learns from the noisy images alone: the clean images in '{TARGETS}' "
                                  "are not used for training, only to score the test images.", dataset.root / TARGETS)
    if report.n_images:
        checks._channel_findings(report)
        checks._depth_findings(report)
        checks.file_findings(report, headers, dataset, resized=False)
    # targets without an image are named above: the note on files that are not images leaves them out
    everything = report.skipped
    report.skipped = [p for p in everything if not (Path(p).parent.name == TARGETS and is_image_file(Path(p)))]
    checks._skipped_findings(report)
    report.skipped = everything
    return report


def _pairing_findings(report: DatasetReport, dataset: Dataset, missing: list, mismatched: list) -> None:
    listed = checks.MAX_LISTED
    for sample in missing[:listed]:
        checks._add(report, ERROR, f"The image '{sample.path.name}' has no target: no file of that name in "
                                   f"'{TARGETS}'.", dataset.root / TARGETS / sample.path.name,
                    fix=f"Add its clean image with the same name in '{TARGETS}', or move the image out of "
                        f"'{IMAGES}'.")
    if len(missing) > listed:
        checks._add(report, ERROR, f"{len(missing) - listed} more images have no target.", dataset.root / TARGETS,
                    fix="Give every noisy image its clean image under the same name.")
    for sample, image_size, target_size in mismatched[:listed]:
        checks._add(report, ERROR,
                    f"The target '{sample.target.name}' is {target_size[0]} × {target_size[1]} pixels but its image "
                    f"'{sample.path.name}' is {image_size[0]} × {image_size[1]}: each pixel needs its clean value.",
                    sample.target, fix="Save the target at its image's size, of the same field of view (not a "
                                       "resized or cropped copy).")
    if len(mismatched) > listed:
        checks._add(report, ERROR, f"{len(mismatched) - listed} more targets differ in size from their image.",
                    dataset.root / TARGETS, fix="Save every target at its image's size.")
    orphans = [p for p in dataset.skipped if p.parent.name == TARGETS and is_image_file(p)]
    if orphans:
        shown = ", ".join(f"'{p.name}'" for p in orphans[:3])
        checks._add(report, WARNING, f"{len(orphans)} target(s) have no image of the same name and are not used "
                                     f"({shown}{' …' if len(orphans) > 3 else ''}).", orphans[0],
                    fix=f"Check the file names: a target has its noisy image's name, in '{IMAGES}'.")


def _count_findings(report: DatasetReport, dataset: Dataset) -> None:
    n = report.n_images
    if n < MIN_IMAGES:
        checks._add(report, ERROR, f"Only {n} usable image(s): at least {MIN_IMAGES} are needed for training, "
                                   "validation and test.", dataset.root / IMAGES,
                    fix="Add images; a single large image can be cut into a few tiles (Fiji: Image > Stacks > "
                        "Tools > Montage to Stack, or Plugins > Tile).")
    elif n < FEW_IMAGES:
        checks._add(report, WARNING, f"Only {n} images: the validation and test sets will be a single image or "
                                     "two, and their scores noisy.", dataset.root / IMAGES,
                    fix="Add images if you can; restoration learns from patches, so a few large images are enough.")
