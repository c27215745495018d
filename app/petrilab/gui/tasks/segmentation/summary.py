"""Plain words for what a segmentation dataset's masks hold (the data page's summary rows).

Pure functions of the engine's DatasetReport (report.masks, filled by
petrilab.tasks.segmentation.masks.check_segmentation) and of the pairing counts the data
page's background check adds up; no Qt, so they are easy to test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from petrilab.tasks import has_objects
from petrilab.tasks.segmentation.masks import DEFAULT_PATCH, MIN_PATCH
from petrilab.tasks.segmentation.stack_blocks import DEFAULT_STACK_PATCH


@dataclass
class Pairing:
    """How the images and masks of a folder pair up (header reads only)."""

    images: int = 0
    masks: int = 0  # images that have a mask of the same name
    missing: int = 0  # images without one
    mismatched: int = 0  # masks whose size differs from their image's
    orphans: int = 0  # masks without an image


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def masks_words(p: Pairing) -> str:
    if p.masks == p.images:
        parts = ["every image has its mask" if p.images != 1 else "the image has its mask"]
    else:
        parts = [f"{p.masks:,} of {_n(p.images, 'image')} have a mask", f"{_n(p.missing, 'mask')} missing"]
    parts.append(f"{_n(p.mismatched, 'mask')} of another size than its image" if p.mismatched
                 else "each the size of its image")
    if p.orphans:
        parts.append(f"{_n(p.orphans, 'mask')} without an image (not used)")
    return " · ".join(parts)


def values_words(report) -> str:
    """What the numbers in the masks mean, with the share of pixels of each class."""
    m = report.masks
    share = m.get("pixel_share", {})
    if has_objects(report.task):
        text = "label images: 0 is background, every object has its own number"
        binary = m.get("binary_masks", 0)
        if binary:
            text += (f". {_n(binary, 'mask is', 'masks are')} binary (one value for all objects): PetriLab "
                     "takes each connected piece as one object, so objects that touch count as one")
        background = share.get(report.classes[0]) if report.classes else None
        if background is not None:
            text += f" · objects cover {1 - background:.1%} of the pixels"
        return text
    classes = ", ".join(f"{value} = {name} ({share.get(name, 0):.1%} of pixels)"
                        for value, name in enumerate(report.classes))
    return f"class numbers: {classes}" if classes else "—"


def objects_words(report) -> str:
    """How many objects, and how many per image."""
    objects = report.masks.get("objects", {})
    if not objects:
        return "—"
    parts = []
    for name, o in objects.items():
        per = o["per_image"]
        noun = "object" if has_objects(report.task) else f"'{name}' region"
        parts.append(f"{_n(o['count'], noun)}, {per['min']:g}–{per['max']:g} per image (median {per['median']:g})")
    if not has_objects(report.task):  # semantic: pieces of a class, not objects
        parts.append("a region is a connected piece of one class")
    return "; ".join(parts)


def sizes_words(report) -> str:
    """Object areas: median, smallest, largest, and the median's width in pixels."""
    objects = report.masks.get("objects", {})
    parts = []
    for name, o in objects.items():
        if not o["count"]:
            continue
        a = o["area"]
        prefix = "" if len(objects) == 1 else f"{name}: "
        if report.dimensions == "3d":
            parts.append(prefix + _volume_words(a, report.voxel))
            continue
        across = 2 * math.sqrt(a["median"] / math.pi)
        parts.append(f"{prefix}median {a['median']:,.0f} pixels (about {across:.0f} pixels across), "
                     f"smallest {a['min']:,}, largest {a['max']:,}")
    return "; ".join(parts) or "no objects in the masks"


def _volume_words(volume: dict, voxel) -> str:
    """Object volumes of a stack: in µm³ when the voxel size is known (and the width of a ball that size)."""
    if not voxel:
        return (f"median {volume['median']:,.0f} voxels, smallest {volume['min']:,}, largest {volume['max']:,} "
                "(the stacks do not say their voxel size)")
    one = voxel[0] * voxel[1] * voxel[2]
    across = (6 * volume["median"] * one / math.pi) ** (1 / 3)
    return (f"median {volume['median'] * one:,.1f} µm³ (a ball about {across:.1f} µm across), smallest "
            f"{volume['min'] * one:,.1f}, largest {volume['max'] * one:,.1f} µm³")


def block_words(setting: list[int], block: list[int] | None) -> str:
    """The training block of z-stacks (stack_patch_control.stack_facts' "block"): the setting, or what 'from
    the data' resolves to."""
    if block is None:
        return "from the data (known once the folder is checked)"
    sides = " × ".join(map(str, block))
    if setting:
        return f"blocks of {sides} voxels (z × y × x, set on the Model page)"
    largest = " × ".join(map(str, DEFAULT_STACK_PATCH))
    return (f"from the data: blocks of {sides} voxels (z × y × x; at most {largest}, cut to the smallest "
            "stack, on the 3-D U-Net's grid)")


def patch_words(setting: list[int], proposal: list[int] | None, filters: list[int] | None = None) -> str:
    """The training patch: the setting, or what 'from the data' resolves to."""
    if setting:
        return f"{setting[0]} × {setting[1]} pixels (set on the Model page)"
    side = resolved_patch(proposal, filters)
    if side is None:
        return "from the data (known once the folder is checked)"
    return (f"from the data: {side[0]} × {side[1]} pixels (the smallest image side, at most {DEFAULT_PATCH}, "
            "a multiple of the U-Net's pooling)")


def resolved_patch(proposal: list[int] | None, filters: list[int] | None = None) -> list[int] | None:
    """What an empty data.patch_size becomes for training: the data's proposal, rounded down to a multiple
    of 2^depth of the U-Net (as the engine's patch_size_for does)."""
    if not proposal:
        return None
    multiple = 2 ** max(1, len(filters or [16, 32, 64]))

    def fit(n: int) -> int:
        return max(multiple, int(n) // multiple * multiple)

    return [fit(max(MIN_PATCH, proposal[0])), fit(max(MIN_PATCH, proposal[1]))]


def unet_words(settings, proposal: list[int] | None = None) -> str:
    """The U-Net's shape in the workshop's words: levels (depth), filters, batch norm, dropout, patches."""
    m = settings.model
    filters = list(m.filters) or [16, 32, 64]
    depth = len(filters)
    small = depth <= 3 and max(filters) <= 64
    name = "a small U-Net" if small else "a larger U-Net"
    steps = " → ".join(str(f) for f in filters)
    text = (f"<b>U-Net:</b> {name} of depth {depth} (one level per entry of the filters): {steps} filters on "
            f"the way down, {2 * filters[-1]} at the bottom, then back up; base filters {filters[0]}. "
            f"Batch normalisation {'on' if m.batch_norm else 'off'}; ")
    text += (f"dropout {m.dropout:.0%} at the bottom." if m.dropout > 0 else "no dropout.")
    side = settings.data.patch_size or resolved_patch(proposal, filters)
    if settings.data.patch_size:
        patches = f"patches of {side[0]} × {side[1]} pixels"
    elif side:
        patches = f"patches of {side[0]} × {side[1]} pixels, a size chosen from the data"
    else:
        patches = "patches whose size is chosen from the data (once it is checked on the Data page)"
    text += f" Trains on {patches}; image sides are handled in multiples of {2 ** depth} (2 per level)."
    return text
