"""Test-time augmentation: restore the image in several orientations (flips, quarter turns) and average the
answers, each turned back first. In numpy; the recipe passes the network's prediction in.

A trained network does not answer exactly the same for an image and its mirror image: part of what it adds is
its own error, which differs from one orientation to another, so the average of the orientations keeps the
signal and thins the error (Noise2Void's checkerboard-like residues most of all). It costs one prediction per
orientation. Only the orientations the network was shown in training are used (augmentation.flip_horizontal,
flip_vertical, rotate_90), so images whose orientation matters are never turned.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# an orientation: (quarter turns, mirror left–right first); the 8 of them make every flip and turn of a square
Orientation = tuple[int, bool]
ALL: tuple[Orientation, ...] = tuple((k, m) for m in (False, True) for k in range(4))
CHOICES = ("auto", "yes", "no")


def apply(image: np.ndarray, orientation: Orientation) -> np.ndarray:
    """(H, W, ...) image mirrored left–right (if asked), then turned by k quarter turns."""
    turns, mirror = orientation
    if mirror:
        image = image[:, ::-1]
    return np.rot90(image, turns, axes=(0, 1))


def undo(image: np.ndarray, orientation: Orientation) -> np.ndarray:
    """The inverse of `apply`: turned back, then mirrored back."""
    turns, mirror = orientation
    image = np.rot90(image, -turns, axes=(0, 1))
    return image[:, ::-1] if mirror else image


def orientations(flip_horizontal: bool, flip_vertical: bool, quarter_turns: bool) -> list[Orientation]:
    """The distinct orientations made of the allowed moves (what training showed the network), identity first.

    Found by composing the moves on a small array of distinct values: e.g. both flips without turns give 4
    (a half turn is both flips), any flip with quarter turns gives all 8."""
    probe = np.arange(12).reshape(3, 4)
    moves = [(0, True)] * bool(flip_horizontal) + [(2, True)] * bool(flip_vertical)  # up–down = mirror + half turn
    moves += [(1, False)] * bool(quarter_turns)
    found = {(0, False): probe}
    frontier = [probe]
    while frontier:
        grown = []
        for seen in frontier:
            for move in moves:
                candidate = apply(seen, move)
                key = _which(candidate, probe)
                if key not in found:
                    found[key] = candidate
                    grown.append(candidate)
        frontier = grown
    return sorted(found, key=ALL.index)


def _which(candidate: np.ndarray, probe: np.ndarray) -> Orientation:
    return next(o for o in ALL
                if apply(probe, o).shape == candidate.shape and np.array_equal(apply(probe, o), candidate))


def wanted(setting: str, augmentation) -> list[Orientation]:
    """restoration.test_time_augmentation → the orientations: "no" the image as it is, "yes" all 8, "auto" those
    of the training's flips and turns (none when augmentation.geometric = "no")."""
    if setting == "no":
        return [ALL[0]]
    if setting == "yes":
        return list(ALL)
    if augmentation.geometric == "no":
        return [ALL[0]]
    return orientations(augmentation.flip_horizontal, augmentation.flip_vertical, augmentation.rotate_90)


def averaged(predict: Callable[[np.ndarray], np.ndarray], image: np.ndarray,
             chosen: list[Orientation]) -> np.ndarray:
    """The mean of `predict` over the orientations of the (H, W, C) image, each answer turned back."""
    total = None
    for orientation in chosen:
        answer = undo(predict(np.ascontiguousarray(apply(image, orientation))), orientation)
        total = answer.astype(np.float32) if total is None else total + answer
    return total / float(len(chosen))
