"""The 3-D U-Net's training block (z, y, x), decided without Keras: the training (stack_recipe.py) and the
window's Model page (which shows what "from the data" gives, and the memory a block needs) ask the same rule."""

from __future__ import annotations

from typing import Sequence

# An unset data.stack_patch_size: blocks of this (z, y, x), or the smallest stack's size where smaller.
DEFAULT_STACK_PATCH = (8, 64, 64)


def stack_patch_size_for(requested: Sequence[int], shapes: Sequence[tuple[int, int, int]],
                         multiples: tuple[int, int, int]) -> tuple[int, int, int]:
    """The training block (z, y, x): data.stack_patch_size, else DEFAULT_STACK_PATCH cut to the smallest stack
    (square in y, x, so quarter turns keep its shape); each side rounded down to its multiple (the 3-D U-Net's
    poolings), never below it."""
    if requested:
        wanted = tuple(int(n) for n in requested)
    else:
        side = min([DEFAULT_STACK_PATCH[1]] + [min(int(s[1]), int(s[2])) for s in shapes])
        wanted = (min([DEFAULT_STACK_PATCH[0]] + [int(s[0]) for s in shapes]), side, side)
    return tuple(max(m, n // m * m) for n, m in zip(wanted, multiples))


def stack_shapes(sizes) -> list[tuple[int, int, int]]:
    """The (z, y, x) shapes of the data check's stack sizes ("16 × 64 × 64" → count)."""
    return [tuple(int(n) for n in size.split(" × ")) for size in sizes]
