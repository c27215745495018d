"""Predicting a z-stack of any size with a fully convolutional 3-D network, tile by tile.

The same plan as the 2-D tiling (tiling.py), along three axes: along each of z, y and x the fewest
overlapping tiles on the network's grid (`multiples`, from models/unet3d.size_multiples) that cover the
stack; each tile's output weighted by the product of three 1-D windows (zero next to an inner edge, a
raised cosine over the overlap, one elsewhere and on the stack's own border), summed, and divided by the
summed weights. A stack smaller than a tile, or not on the grid, is mirrored to the tile's size; the
mirror never reaches the output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from petrilab.prediction.tiling import _axis_window, tile_plan


def axis_plan(length: int, tile: int, overlap: int, multiple: int) -> tuple[int, int, list[int]]:
    """(tile used, overlap used, starts) along one axis, as the 2-D plan decides them."""
    (t, _), (o, _), starts, _ = tile_plan((length, 1), (tile, 1), overlap, multiple)
    return t, o, starts


def _cut(stack: np.ndarray, corner, tile) -> np.ndarray:
    piece = stack[tuple(slice(c, c + t) for c, t in zip(corner, tile))]
    pads = [(0, t - n) for t, n in zip(tile, piece.shape[:3])]
    if any(p for _, p in pads):
        mode = "reflect" if min(stack.shape[:3]) > 1 else "edge"
        piece = np.pad(piece, pads + [(0, 0)], mode=mode)
    return piece.astype(np.float32, copy=False)


def predict_tiled_3d(predict_batch: Callable[[np.ndarray], np.ndarray], stack: np.ndarray, tile, overlap,
                     n_outputs: int, batch_size: int = 2, *, multiples=(1, 16, 16),
                     out: np.ndarray | None = None) -> np.ndarray:
    """The network's output for a whole (Z, Y, X, C) stack, as (Z, Y, X, n_outputs) float32.

    `predict_batch` takes (N, tz, ty, tx, C) float32 tiles and returns (N, tz, ty, tx, n_outputs);
    `tile` and `overlap` are (z, y, x). Memory: besides `out`, a batch of tiles and one plane of weights.
    `out` may be given, zero-filled (Z, Y, X, n_outputs) float32, e.g. a memory-mapped file for a stack
    larger than memory; `stack` may be memory-mapped too (only each tile is read)."""
    stack = np.asarray(stack)
    if stack.ndim == 3:
        stack = stack[..., np.newaxis]
    if stack.ndim != 4:
        raise ValueError(f"a stack must be (Z, Y, X, C), not {stack.shape}")
    shape = stack.shape[:3]
    plans = [axis_plan(n, t, o, m) for n, t, o, m in zip(shape, tile, overlap, multiples)]
    tiles = tuple(p[0] for p in plans)
    windows = [{s: _axis_window(s, t, n, o)[:n - s] for s in starts}
               for (t, o, starts), n in zip(plans, shape)]
    sums = []
    for axis_windows, n in zip(windows, shape):
        total = np.zeros(n)
        for s, w in axis_windows.items():
            total[s:s + len(w)] += w
        sums.append(total)
    if out is None:
        out = np.zeros(shape + (n_outputs,), np.float32)
    elif out.shape != shape + (n_outputs,):
        raise ValueError(f"out is {out.shape}; the stack needs {shape + (n_outputs,)}")
    corners = [(z, y, x) for z in plans[0][2] for y in plans[1][2] for x in plans[2][2]]
    for first in range(0, len(corners), batch_size):
        chunk = corners[first:first + batch_size]
        result = np.asarray(predict_batch(np.stack([_cut(stack, c, tiles) for c in chunk])))
        if result.shape != (len(chunk),) + tiles + (n_outputs,):
            raise ValueError(f"predict_batch returned {result.shape}; expected {(len(chunk),) + tiles + (n_outputs,)}")
        for corner, pred in zip(chunk, result):
            wz, wy, wx = (windows[a][corner[a]] for a in range(3))
            weight = (wz[:, None, None] * wy[None, :, None] * wx[None, None, :]).astype(np.float32)
            box = tuple(slice(c, c + len(w)) for c, w in zip(corner, (wz, wy, wx)))
            out[box] += pred[:len(wz), :len(wy), :len(wx)] * weight[..., None]
    # the summed weights are a product of three 1-D sums: divided plane by plane, never held whole
    plane = np.maximum(np.outer(sums[1], sums[2]), 1e-12)
    for z in range(shape[0]):
        out[z] /= (max(sums[0][z], 1e-12) * plane).astype(np.float32)[..., None]
    return out
