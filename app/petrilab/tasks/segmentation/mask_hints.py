"""Segmentation masks as people save them: named with a suffix, in JPEG, all empty, or with one
object number used for two separate pieces. Recognised here, said by the check.

masks.py pairs and reads masks; this module holds the few rules about how
real mask files deviate from the layout, so each is one short function.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.data.check import ERROR, INFO, WARNING, DatasetReport, _add

# What annotation tools and people append to the image's name: img1.png ↔ img1_mask.png
# (Cellpose saves img1_cp_masks.png; Fiji users write img1-mask.tif or "img1 mask.tif").
MASK_SUFFIXES = ("_mask", "_masks", "-mask", "-masks", " mask", "_label", "_labels", "-label", "-labels",
                 "_cp_masks", "_seg", "_annotation", "_gt")
LOSSY = {".jpg", ".jpeg"}
SHOWN = 5


def suffixed_mask(image: Path, by_stem: dict[str, list[Path]]) -> Path | None:
    """The mask of `image` named with one of MASK_SUFFIXES, when there is no mask of the very same name."""
    stem = image.stem.casefold()
    for suffix in MASK_SUFFIXES:
        found = by_stem.get(stem + suffix)
        if found:
            return found[0]
    return None


def split_objects(labels: np.ndarray) -> list[int]:
    """Object numbers whose pixels form two or more separate pieces (diagonal contact joins)."""
    from scipy import ndimage

    out = []
    for number, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        _, pieces = ndimage.label(labels[box] == number, structure=np.ones((3, 3)))
        if pieces > 1:
            out.append(number)
    return out


def _names(paths) -> str:
    paths = list(paths)
    shown = ", ".join(f"'{Path(p).name}'" for p in paths[:SHOWN])
    return shown + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def mask_findings(report: DatasetReport, dataset, empty: int, split: list[tuple[Path, list[int]]]) -> None:
    """Suffix-matched masks, JPEG masks, nothing but background, an object number in two pieces."""
    from petrilab.tasks.segmentation.masks import MASKS

    paired = [s for s in dataset.samples if s.mask is not None]
    suffixed = [s for s in paired if s.mask.stem.casefold() != s.path.stem.casefold()]
    if suffixed:
        first = suffixed[0]
        _add(report, INFO, f"{len(suffixed)} mask(s) were matched to their image by the suffix of their name "
                           f"('{first.mask.name}' is the mask of '{first.path.name}').", first.mask)
    lossy = [s.mask for s in paired if s.mask.suffix.casefold() in LOSSY]
    if lossy:
        _add(report, WARNING, f"{len(lossy)} mask(s) are JPEG files ({_names(lossy)}): JPEG blurs the values at "
                              f"every edge, so class or object numbers get smeared into wrong ones.", lossy[0],
             fix="Save masks as PNG or TIFF (lossless), from the original annotation if you still have it.")
    if report.n_images and empty >= report.n_images:
        _add(report, ERROR, f"Every mask in {dataset.root / MASKS} is empty (background only): there is nothing "
                            f"to learn.", dataset.root / MASKS,
             fix="Draw the objects in the masks (0 for background, 1, 2 … for the classes or objects). A mask that "
                 "looks black in a viewer may still hold 1, 2 …: check its values in Fiji (Image > Show Info).")
    for path, numbers in split[:SHOWN]:
        shown = ", ".join(str(n) for n in numbers[:SHOWN]) + (" …" if len(numbers) > SHOWN else "")
        _add(report, WARNING, f"In the mask '{path.name}', object number(s) {shown} are made of separate pieces: "
                              f"each number should be one object, so these count as one object in training and "
                              f"scoring.", path,
             fix="Give each separate piece its own number (in Fiji: MorphoLibJ's 'Connected Components Labeling'), "
                 "or join the pieces if they are one cell.")
    if len(split) > SHOWN:
        _add(report, WARNING, f"{len(split) - SHOWN} more masks have object numbers in separate pieces.",
             split[SHOWN][0], fix="Give each separate piece its own number.")
