"""Objects in stacks: the 3-D seeded watershed (postprocess3d.py) and one-to-one matching of 3-D objects."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from petrilab.tasks.segmentation.metrics import match_objects, matched_pairs
from petrilab.tasks.segmentation.postprocess3d import split_by_distance_3d, stack_objects

VOXEL = (1.0, 0.25, 0.25)


def ellipsoid(shape, centre, radii_um, voxel=VOXEL):
    z, y, x = np.indices(shape, dtype=float)
    return sum(((a * v - c * v) / r) ** 2 for a, c, r, v in zip((z, y, x), centre, radii_um, voxel)) <= 1


def test_two_touching_nuclei_split_in_3d_in_microns():
    shape = (12, 40, 64)
    left = ellipsoid(shape, (6, 20, 20), (4, 3, 3))
    right = ellipsoid(shape, (6, 20, 43), (4, 3, 3)) & ~left
    assert ndi.label(left | right)[1] == 1  # they touch: one piece of foreground
    labels = split_by_distance_3d(left | right, VOXEL)
    assert labels.max() == 2
    scores = match_objects(left * 1 + right * 2, labels, thresholds=(0.9,))
    assert scores["summary"]["tp"] == 2 and scores["summary"]["fp"] == 0


def test_stack_objects_drops_small_specks_and_fills_holes():
    shape = (8, 32, 32)
    nucleus = ellipsoid(shape, (4, 16, 16), (3, 2.5, 2.5))
    probability = nucleus * 0.9
    probability[4, 16, 16] = 0.1  # a hole inside
    probability[0, 0, 0] = 0.9  # a speck
    labels = stack_objects(probability, 0.5, VOXEL, min_voxels=10)
    assert labels.max() == 1 and labels[4, 16, 16] == 1 and labels[0, 0, 0] == 0


def test_3d_matching_with_known_answers():
    truth = np.zeros((6, 10, 10), np.uint16)
    truth[0:3, 0:4, 0:4] = 1  # 48 voxels
    truth[3:6, 5:10, 5:10] = 2  # 75 voxels
    truth[0:2, 6:9, 0:3] = 3  # 18 voxels, missed
    predicted = np.zeros_like(truth)
    predicted[0:3, 0:4, 0:3] = 7  # 36 of object 1: IoU 36/48 = 0.75
    predicted[4:6, 5:10, 5:10] = 9  # 50 of object 2: IoU 50/75 = 0.667
    predicted[3:6, 0:2, 6:8] = 4  # invented
    scores = match_objects(truth, predicted, thresholds=(0.5, 0.7))
    at_50, at_70 = scores["per_threshold"]
    assert (at_50["tp"], at_50["fp"], at_50["fn"]) == (2, 1, 1)
    assert (at_70["tp"], at_70["fp"], at_70["fn"]) == (1, 2, 2)
    assert at_50["mean_matched_iou"] == pytest.approx((0.75 + 50 / 75) / 2)
    pairs = matched_pairs(truth, predicted, 0.5)
    assert [(t, p) for t, p, _ in pairs] == [(1, 7), (2, 9)]


def test_one_object_per_plane_would_not_match_one_3d_object():
    """A 2-D slice-by-slice answer (a new number per plane) is not a 3-D object: matching is in 3-D."""
    truth = np.zeros((4, 8, 8), np.uint16)
    truth[:, 2:6, 2:6] = 1
    per_plane = truth * np.arange(1, 5, dtype=np.uint16)[:, None, None]
    scores = match_objects(truth, per_plane, thresholds=(0.5,))
    assert scores["summary"]["tp"] == 0 and scores["summary"]["fp"] == 4
