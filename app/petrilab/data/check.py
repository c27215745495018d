"""The dataset check: what is in the folder, what could go wrong, what to change.

It reads every image header once (not the pixels, where the format allows;
a float image's pixels are read, to count NaN and infinity) and reports in
the words of the workshop: images per class, sizes, channels, bit depth;
imbalanced classes, too few images, unreadable files, mixed grey/colour,
mixed bit depths, the same image saved twice, pixels that are not numbers.
Each finding says what to do; `proposals` are the settings changes that are
safe to apply. The report it fills (findings, proposals, counts, its text and
JSON) is data/check_report.py.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

# the report's types and words (check_report.py) are also imported from here by the tasks' own checks
from petrilab.data.check_report import (ERROR, INFO, WARNING, DatasetReport, Finding, _add, _channel_words,
                                        _depth_words)
from petrilab.data.discovery import Dataset
from petrilab.data import finite as finite_pixels
from petrilab.data.images import ImageInfo, image_info, read_image
from petrilab.data.network_depth import proposed_filters
from petrilab.errors import UserError
from petrilab.tasks import TASKS, is_per_pixel

# Images per class below which a class cannot be learnt nor measured: the split
# keeps at least one image for validation and one for the test, so with fewer
# than 5 the model would train on two or three examples.
MIN_PER_CLASS = 5
# Below this many per class the curves get noisy and the model overfits quickly.
FEW_PER_CLASS = 20
# largest / smallest class above which the rare class risks being ignored.
IMBALANCE_RATIO = 1.5
# The model input side we propose at most: small ConvNets train in seconds per
# epoch on a laptop CPU at this size, and the workshop's cells were 50–85 px.
MAX_PROPOSED_SIDE = 128
# Multiple of 8 so that three 2×2 poolings (the default ConvNet) divide evenly.
SIDE_STEP = 8
MIN_PROPOSED_SIDE = 16
# At most this many unreadable files are listed one by one; the rest are summed up.
MAX_LISTED = 50


# ---------------------------------------------------------------- channels


def resolve_channels(requested: int, report_or_channel_counts) -> int:
    """The number of channels the model gets.

    `requested` other than 0 wins. With 0 the data decides: all grey -> 1;
    any colour image -> 3 (grey ones are repeated into RGB, nothing is lost);
    all with the same count -> that count; otherwise the largest count.
    Transparency (RGBA PNG) is not a channel worth learning: it counts as RGB.
    """
    if requested:
        return int(requested)
    if isinstance(report_or_channel_counts, DatasetReport):
        counts, alpha = report_or_channel_counts.channels, report_or_channel_counts.alpha
    else:
        counts, alpha = report_or_channel_counts, 0
    present = {int(c) for c, n in counts.items() if n}
    if not present:
        raise UserError("There are no readable images to decide the number of channels from.",
                        fix="Check the data folder: add images PetriLab can read.")
    if 4 in present and alpha and alpha >= counts.get(4, counts.get("4", 0)):
        present = (present - {4}) | {3}
    if present == {1}:
        return 1
    if 3 in present:
        return 3
    if len(present) == 1:
        return present.pop()
    return max(present)


# ---------------------------------------------------------------- image size


def propose_image_size(heights: list[int], widths: list[int]) -> list[int]:
    """A model input size from the median image size.

    Keep the median's aspect ratio; shrink so the longer side is at most
    MAX_PROPOSED_SIDE; round each side to a multiple of 8 (at least 16).
    """
    if not heights:
        return [64, 64]
    h = float(sorted(heights)[len(heights) // 2])
    w = float(sorted(widths)[len(widths) // 2])
    scale = min(1.0, MAX_PROPOSED_SIDE / max(h, w))

    def fit(side: float) -> int:
        return max(MIN_PROPOSED_SIDE, int(math.floor(side * scale / SIDE_STEP + 0.5)) * SIDE_STEP)

    return [fit(h), fit(w)]


# ---------------------------------------------------------------- the check


class Headers:
    """What the image headers say, summed over a dataset (sizes, channels, bit depths, transparency),
    and the images whose header could not be read, with why: what every task's check starts from."""

    def __init__(self):
        self.sizes: Counter = Counter()
        self.channels: Counter = Counter()
        self.dtypes: Counter = Counter()
        self.heights: list[int] = []
        self.widths: list[int] = []
        self.alpha = 0
        self.unreadable: list[str] = []
        self.reasons: list[UserError] = []
        self.nonfinite: dict[str, int] = {}
        self.files: list[tuple[str, ImageInfo]] = []  # (path, header) of every readable image

    def add(self, info: ImageInfo, path=None) -> None:
        """One readable image; `path` given: a float image's pixels are also read, to count NaN and infinity."""
        if path is not None:
            self.files.append((str(path), info))
            if info.dtype.startswith("float"):
                self._count_nonfinite(path)
        self.sizes[f"{info.height}x{info.width}"] += 1
        self.channels[info.channels] += 1
        self.dtypes[info.dtype] += 1
        self.heights.append(info.height)
        self.widths.append(info.width)
        self.alpha += int(info.alpha)

    def _count_nonfinite(self, path) -> None:
        try:
            n = finite_pixels.count(read_image(path, finite=False))
        except UserError:
            return  # the header was readable but the pixels are not: training will say so by name
        if n:
            self.nonfinite[str(path)] = n

    def refuse(self, path, reason: UserError) -> None:
        """An image left out: its header (or its mask) cannot be read."""
        self.unreadable.append(str(path))
        self.reasons.append(reason)

    def report(self, dataset: Dataset, n_images: int, classes: list[str], counts: dict) -> DatasetReport:
        report = DatasetReport(
            task=dataset.task,
            n_images=n_images,
            classes=classes,
            counts=counts,
            sizes=dict(self.sizes),
            channels=dict(sorted(self.channels.items())),
            dtypes=dict(self.dtypes),
            unreadable=self.unreadable,
            alpha=self.alpha,
            skipped=[str(p) for p in dataset.skipped],
            nonfinite=dict(self.nonfinite),
        )
        if self.nonfinite:  # handled (filled at load time), but the user must know which images
            first = next(iter(self.nonfinite))
            report.findings.append(Finding(WARNING, finite_pixels.message(self.nonfinite), first, finite_pixels.FIX))
        return report


def check_dataset(dataset: Dataset, progress: Callable[[int, int], None] | None = None,
                  by_class: bool = True) -> DatasetReport:
    """Read every image's header and report what the user should know before training.

    by_class=False leaves out what only class folders mean (images per class, imbalance,
    the same image twice in a class): tasks whose values come from a table check those themselves.
    """
    headers = Headers()
    counts = {name: 0 for name in dataset.classes}
    total = len(dataset.samples)
    for i, sample in enumerate(dataset.samples):
        try:
            info = image_info(sample.path)
        except UserError as exc:
            headers.refuse(sample.path, exc)
        else:
            counts[dataset.classes[sample.label]] += 1
            headers.add(info, sample.path)
        if progress is not None:
            progress(i + 1, total)

    report = headers.report(dataset, sum(counts.values()), list(dataset.classes), counts)
    _unreadable_findings(report, headers.reasons)
    if by_class:
        _size_of_classes(report)
    _channel_findings(report)
    _depth_findings(report)
    _size_findings(report, headers.heights, headers.widths)
    if not is_per_pixel(dataset.task):
        _network_depth_findings(report)
    if by_class:
        _duplicate_findings(report, dataset)
    file_findings(report, headers, dataset, resized=True)
    _skipped_findings(report)
    return report


def file_findings(report: DatasetReport, headers: Headers, dataset: Dataset, resized: bool) -> None:
    """The findings that name single files (data/file_findings.py); `resized`: the task resizes every image."""
    from petrilab.data import file_findings as named

    named.note_findings(report, headers.files)
    if resized:
        named.squash_findings(report, headers.files)
    if report.channels:
        named.odd_channel_findings(report, headers.files, resolve_channels(0, report))
    classes = list(dataset.classes)
    by_folder = dataset.task in TASKS and TASKS[dataset.task].data == "folders"
    named.duplicate_file_findings(report, dataset.samples,
                                  lambda s: classes[s.label] if by_folder and s.label < len(classes) else None)


def _unreadable_findings(report: DatasetReport, errors: list[UserError]) -> None:
    for exc in errors[:MAX_LISTED]:
        _add(report, WARNING, f"{exc.message} It is left out of training.", exc.file, exc.fix)
    if len(errors) > MAX_LISTED:
        _add(report, WARNING, f"{len(errors) - MAX_LISTED} more images cannot be read; they are left out "
                              f"of training (all are listed in the report's 'unreadable' list).",
             fix="Open them in Fiji to check them; replace them with good copies.")


def _size_of_classes(report: DatasetReport) -> None:
    counts = report.counts
    for name, n in counts.items():
        if n < MIN_PER_CLASS:
            _add(report, ERROR,
                 f"The class '{name}' has only {n} readable image(s): too few to learn it and to measure "
                 f"how well it is recognised.",
                 fix=f"Add images of '{name}' (at least {FEW_PER_CLASS}, ideally hundreds), "
                     f"or remove this class folder.")
        elif n < FEW_PER_CLASS:
            _add(report, WARNING,
                 f"The class '{name}' has only {n} images; with so few, the model overfits quickly and the "
                 f"validation curve will be noisy.",
                 fix="Add more images if you can. Meanwhile use data augmentation and a small network, "
                     "or transfer learning.")
    present = [n for n in counts.values() if n > 0]
    if len(present) >= 2 and min(present) > 0:
        largest = max(counts, key=counts.get)
        smallest = min(counts, key=counts.get)
        ratio = counts[largest] / counts[smallest]
        if ratio > IMBALANCE_RATIO:
            _add(report, WARNING,
                 f"The classes are imbalanced: '{largest}' has {counts[largest]} images, '{smallest}' only "
                 f"{counts[smallest]} ({ratio:.1f} times fewer). The model may ignore the rare class while "
                 f"the accuracy still looks good.",
                 fix="Weigh the rare classes up during training (class weights), add images of the rare "
                     "class, and look at the per-class results, not only the accuracy.")
            report.proposals["data.class_weights"] = True


def _channel_findings(report: DatasetReport) -> None:
    if not report.channels:
        return
    chosen = resolve_channels(0, report)
    rgba_only = bool(report.alpha) and report.alpha >= report.channels.get(4, 0)
    # what each image really is once transparency is set aside: RGBA counts as colour
    kinds = {3 if (c == 4 and rgba_only) else c for c in report.channels}
    listed = ", ".join(f"{n} {_channel_words(c)}" for c, n in report.channels.items())
    if report.alpha:
        _add(report, INFO,
             f"{report.alpha} image(s) have a transparency (alpha) channel; it carries no measurement and "
             f"is left out.")
        report.proposals["data.channels"] = chosen
    if kinds == {1, 3}:
        _add(report, WARNING,
             f"The images mix grey and colour ({listed}). All are given to the model as "
             f"{_channel_words(chosen)}.",
             fix="If colour carries no information in your images, choose 1 channel (grey) instead: "
                 "the model gets smaller and learns faster.")
        report.proposals["data.channels"] = chosen
    elif len(kinds) > 1:
        _add(report, WARNING,
             f"The images have different numbers of channels ({listed}). All are given to the model with "
             f"{chosen} channels: missing channels are filled with zeros, extra ones left out.",
             fix="Check that all images come from the same acquisition, and save them with the same "
                 "channels in Fiji.")
        report.proposals["data.channels"] = chosen


def _depth_findings(report: DatasetReport) -> None:
    depths = set(report.dtypes)
    if len(depths) > 1:
        words = " and ".join(_depth_words(d) for d in sorted(depths))
        _add(report, WARNING,
             f"The images mix bit depths ({words}). Scaled by their largest possible value, a 16-bit image "
             f"would look far darker to the model than an 8-bit one.",
             fix="Use percentile normalisation: it stretches each image from its own dark to its own bright "
                 "pixels.")
        report.proposals["data.normalisation"] = "percentile"
    elif depths & {"uint16", "int16", "uint32", "int32"}:
        _add(report, INFO,
             f"The images are {_depth_words(next(iter(depths)))}. Cameras often fill only 12 of 16 bits, "
             f"so dividing by the largest possible value would leave the images dark.",
             fix="Percentile normalisation (proposed) stretches each image from its own dark to bright pixels.")
        report.proposals["data.normalisation"] = "percentile"


def _size_findings(report: DatasetReport, heights: list[int], widths: list[int]) -> None:
    if not heights:
        return
    proposed = propose_image_size(heights, widths)
    report.proposals["data.image_size"] = proposed
    target = f"{proposed[0]}x{proposed[1]}"
    if len(report.sizes) > 1:
        smallest = min(report.sizes, key=lambda s: _area(s))
        largest = max(report.sizes, key=lambda s: _area(s))
        _add(report, INFO,
             f"The images have {len(report.sizes)} different sizes (from {smallest} to {largest}); each is "
             f"resized to the model's input size (proposed: {target}).")
    median_side = max(sorted(heights)[len(heights) // 2], sorted(widths)[len(widths) // 2])
    if median_side > 4 * MAX_PROPOSED_SIDE:
        _add(report, INFO,
             f"The images are large (about {median_side} pixels a side) and are shrunk to {target} for the "
             f"model, so fine details may be lost.",
             fix="If what tells the classes apart is small, crop the images around the objects, "
                 "or choose a larger image size (training gets slower).")


def _network_depth_findings(report: DatasetReport) -> None:
    size = report.proposals.get("data.image_size")
    filters = proposed_filters(size) if size else None
    if filters:
        report.proposals["model.filters"] = filters
        _add(report, INFO, f"At {size[0]} × {size[1]} pixels, {len(filters)} blocks of convolutions (proposed: "
             f"filters {'/'.join(map(str, filters))}) let the network see the whole image at once; the usual three "
             "see only parts of it.")


def _area(size: str) -> int:
    h, w = size.split("x")
    return int(h) * int(w)


def _duplicate_findings(report: DatasetReport, dataset: Dataset) -> None:
    groups = defaultdict(list)
    for sample in dataset.samples:
        groups[(sample.label, sample.path.stem.casefold())].append(sample.path)
    for (label, _), paths in groups.items():
        if len(paths) > 1:
            names = ", ".join(f"'{p.name}'" for p in paths)
            _add(report, WARNING,
                 f"In class '{dataset.classes[label]}', {names} have the same name with different extensions: "
                 f"probably the same image saved twice. One copy could land in training and the other in the "
                 f"test set, which makes the results look better than they are.",
                 file=paths[1],
                 fix="Keep one copy of each image and move the other out of the data folder.")


def _skipped_findings(report: DatasetReport) -> None:
    if report.skipped:
        names = ", ".join(f"'{Path(p).name}'" for p in report.skipped[:3])
        more = f" and {len(report.skipped) - 3} more" if len(report.skipped) > 3 else ""
        _add(report, INFO, f"{len(report.skipped)} item(s) that are not images were ignored ({names}{more}).",
             file=report.skipped[0])
