"""How many convolution blocks a per-image network needs to see the whole image at once.

Each block of the ConvNet and the VGG-like network halves the map. With the default three blocks a
64 × 64 image ends as an 8 × 8 map whose cells each see about 22 pixels: an elongated cell 35 pixels
long is never seen whole, and the head gets the average of the map. One block more ends at 4 × 4 —
small enough to flatten, so the head also knows where each feature was (the workshop's MNIST ConvNet
ends at 3 × 3). Measured on the classification demo (240 images of 64 × 64, seed 42): three blocks
80.6 % test accuracy, four blocks 100 %. The data check proposes the deeper network; segmentation's
U-Net works per pixel and is not concerned.
"""

from __future__ import annotations

import math

FLATTEN_MAX_SIDE = 4  # a last map at most this many cells a side is flattened, a larger one averaged
DEFAULT_FILTERS = (16, 32, 64)  # settings.ModelSettings.filters' default
MAX_BLOCKS = 6  # 256 pixels a side; larger images are shrunk by the image size proposal anyway


def blocks_to_see_whole(image_size: list[int]) -> int:
    """The fewest blocks after which the last map is at most FLATTEN_MAX_SIDE cells a side."""
    side = max(image_size)
    return min(MAX_BLOCKS, max(1, math.ceil(math.log2(side / FLATTEN_MAX_SIDE))))


def proposed_filters(image_size: list[int]) -> list[int] | None:
    """The default filters with as many blocks as `blocks_to_see_whole` asks (the added ones as wide as the
    last, so the network stays small), or None when the default's three blocks already suffice."""
    blocks = blocks_to_see_whole(image_size)
    if blocks <= len(DEFAULT_FILTERS):
        return None
    return [*DEFAULT_FILTERS, *[DEFAULT_FILTERS[-1]] * (blocks - len(DEFAULT_FILTERS))]
