"""The objects of a large image in groups, each with the small crop that holds it: post-processing block by block.

Distance maps, smoothing and watersheds over a whole 4096 × 4096 image
each walk several 130 MB float64 arrays; the processor's caches hold none
of them, and the time grew 5–6 times for 4 times the pixels (2048² → 4096²)
with 0.9 GB of temporaries. Each of those steps only looks a few pixels
around an object, so it gives the same answer on a crop around a group of
objects, with the other objects in the crop left out of its mask — but for
exact ties: where two seeds reach a pixel at the same height, skimage's
watershed gives it to the one its heap pops first, and that order depends
on every object the heap holds (a few pixels on the line between two
touching objects; tests/test_instance_blocks.py).

Objects are grouped by the block (BLOCK pixels a side) their bounding box
starts in; a group's crop is the union of its objects' boxes, widened by
`margin` and clipped to the image (an object larger than a block brings its
whole box).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

BLOCK = 256  # a group's crop: a few MB of float64, inside a processor's cache


def object_groups(pieces: np.ndarray, count: int, margin: int = 0,
                  block: int = BLOCK) -> Iterator[tuple[tuple[slice, slice], np.ndarray]]:
    """(crop, the group's own pixels in the crop) for groups of the labelled pieces 1..count of a 2-D image."""
    from scipy import ndimage as ndi

    boxes = [(index, box) for index, box in enumerate(ndi.find_objects(pieces, count), start=1) if box is not None]
    if not boxes:
        return
    starts = np.array([(box[0].start // block, box[1].start // block) for _, box in boxes])
    order = np.lexsort((starts[:, 1], starts[:, 0]))
    members_in = np.zeros(count + 1, dtype=bool)
    first = 0
    while first < len(order):
        last = first
        while last + 1 < len(order) and (starts[order[last + 1]] == starts[order[first]]).all():
            last += 1
        group = [boxes[k] for k in order[first:last + 1]]
        crop = tuple(slice(max(0, min(box[axis].start for _, box in group) - margin),
                           min(pieces.shape[axis], max(box[axis].stop for _, box in group) + margin))
                     for axis in range(2))
        members = [index for index, _ in group]
        members_in[members] = True
        yield crop, members_in[pieces[crop]]
        members_in[members] = False
        first = last + 1
