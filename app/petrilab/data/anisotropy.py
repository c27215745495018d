"""How a 3-D U-Net pools and convolves a stack whose planes are farther apart than its pixels.

Kept apart from models/unet3d.py (the models package imports Keras) so the data check, tiling and tests can ask for the
grid a stack needs without loading TensorFlow. `anisotropy` is the plane spacing over the pixel size:
4.0 when planes are 4× farther apart than pixels.
"""

from __future__ import annotations

DEFAULT_FILTERS_3D = [8, 16]  # the 3-D U-Net's default for stacks: trains on a processor in minutes


def anisotropy_of(voxel) -> float:
    """The plane spacing over the pixel size of a (z, y, x) voxel size; 1.0 when it is unknown (empty)."""
    if not voxel or len(voxel) != 3 or min(float(v) for v in voxel) <= 0:
        return 1.0
    z, y, x = (float(v) for v in voxel)
    return z / ((y + x) / 2)


def pool_sizes(levels: int, anisotropy: float = 1.0) -> list[tuple[int, int, int]]:
    """(z, y, x) pooling per level; `anisotropy` is the plane spacing over the pixel size (4.0: planes 4× apart)."""
    z, xy = max(float(anisotropy), 1e-6), 1.0
    sizes = []
    for _ in range(levels):
        pool_z = 2 if z < 2 * xy else 1
        sizes.append((pool_z, 2, 2))
        z, xy = z * pool_z, xy * 2
    return sizes


def kernel_sizes(levels: int, anisotropy: float = 1.0) -> list[tuple[int, int, int]]:
    """(z, y, x) convolution kernel per level and for the bottleneck: flat (1 × 3 × 3) while z is 2× or more
    coarser than y, x."""
    z, xy = max(float(anisotropy), 1e-6), 1.0
    sizes = []
    for pool in pool_sizes(levels, anisotropy) + [(1, 1, 1)]:
        sizes.append((1 if z >= 2 * xy else 3, 3, 3))
        z, xy = z * pool[0], xy * pool[1]
    return sizes


def size_multiples(levels: int, anisotropy: float = 1.0) -> tuple[int, int, int]:
    """The stack's (z, y, x) sides must be multiples of these for the poolings to halve them evenly."""
    z = y = x = 1
    for pz, py, px in pool_sizes(levels, anisotropy):
        z, y, x = z * pz, y * py, x * px
    return z, y, x
