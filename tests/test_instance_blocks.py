"""Instance post-processing one group of objects at a time gives the labels the whole-image recipe gave.

Not always to the pixel: where two seeds reach a pixel at exactly the same height (distance maps are full of
such ties), skimage's watershed gives it to the seed its heap pops first, and the heap's order depends on every
object in the image. The whole-image recipe and the block-by-block one then break the tie each its own way: a
pixel or two on the line between two touching objects (6 of 4 million pixels on the mirrored nuclei image).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.segmentation import relabel_sequential, watershed

from petrilab.settings import PostprocessSettings
from petrilab.tasks.segmentation import postprocess
from petrilab.tasks.segmentation.demo import render_nuclei
from petrilab.tasks.segmentation.object_blocks import object_groups
from petrilab.tasks.segmentation.targets import encode_instances


def whole_image_labels(probs: np.ndarray, post: PostprocessSettings) -> np.ndarray:
    """The boundary-mode recipe as it ran on the whole image before it went block by block (2026-12-06)."""
    interior = probs[:, :, 1]
    foreground = (interior + probs[:, :, 2]) > postprocess.FOREGROUND_THRESHOLD
    cores = ndi.binary_fill_holes((interior > post.threshold) & foreground)
    distance = ndi.gaussian_filter(ndi.distance_transform_edt(cores), 1.0)
    seeds, _ = ndi.label(postprocess._distance_peaks(cores, distance))
    split = watershed(-distance, markers=seeds, mask=cores)
    labels = watershed(1.0 - interior, markers=split, mask=foreground).astype(np.int32)
    holes = ndi.binary_fill_holes(labels > 0) & (labels == 0)  # a hole inside one object becomes that object
    hole_ids, n = ndi.label(holes)
    around = ndi.grey_dilation(hole_ids, size=3)
    rim = (around > 0) & (labels > 0)
    pairs = np.unique(np.stack([around[rim], labels[rim]]).astype(np.int64), axis=1)
    owners = np.bincount(pairs[0], minlength=n + 1)
    single = pairs[:, owners[pairs[0]] == 1]
    owner_of = np.zeros(n + 1, dtype=np.int32)
    owner_of[single[0]] = single[1]
    labels = np.where(holes, owner_of[hole_ids], labels)
    return relabel_sequential(labels)[0].astype(np.int32)


def nuclei_probabilities(size: int, seed: int) -> np.ndarray:
    """(size, size, 3) probabilities a network could give for a field of nuclei: the targets blurred, with
    noise (fewer ties), a large ring-shaped object across several blocks with a hole in it."""
    rng = np.random.default_rng(seed)
    fields, so_far = [], 0  # 4 × 4 fields of nuclei side by side, numbered apart
    for _ in range(16):
        field = render_nuclei(size // 4, rng)[1]
        fields.append(np.where(field > 0, field + so_far, 0))
        so_far = max(so_far, int(fields[-1].max()))
    labels = np.block([fields[row * 4:row * 4 + 4] for row in range(4)])
    labels = relabel_sequential(np.pad(labels, ((0, size - labels.shape[0]), (0, size - labels.shape[1]))))[0]
    yy, xx = np.mgrid[:size, :size]
    ring = (np.hypot(yy - size / 2, xx - size / 3) < size / 4) & (np.hypot(yy - size / 2, xx - size / 3) > 12)
    labels = np.where(ring, labels.max() + 1, labels)
    probs = ndi.gaussian_filter(encode_instances(labels, 2), (1.2, 1.2, 0))
    probs = probs + rng.normal(0, 0.05, probs.shape)
    probs = np.clip(probs, 1e-3, None)
    return (probs / probs.sum(axis=2, keepdims=True)).astype(np.float32)


def assert_same_objects(labels: np.ndarray, expected: np.ndarray) -> None:
    """The same objects, numbered alike, differing only at a few tied pixels between touching objects (which
    may be most of a sliver of a few pixels that the split cut off a larger object)."""
    assert labels.max() == expected.max()
    assert np.sum(labels != expected) <= 1e-3 * np.sum(expected > 0)
    ids = np.arange(1, expected.max() + 1)
    sizes = ndi.sum_labels(np.ones_like(expected), expected, ids)
    same = ndi.sum_labels(labels == expected, expected, ids)
    assert (same[sizes >= 20] >= 0.95 * sizes[sizes >= 20]).all()  # numbered alike, nearly every pixel kept


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_block_by_block_labels_equal_the_whole_image_labels(seed):
    probs = nuclei_probabilities(700, seed)  # 700 > 2 blocks of 256: objects in groups, some across two
    post = PostprocessSettings(threshold=0.5, fill_holes=True)
    expected = whole_image_labels(probs, post)
    labels = postprocess.instance_labels(probs, post, "boundary")
    assert expected.max() > 50
    assert_same_objects(labels, expected)


def test_split_by_distance_equals_the_whole_image_split():
    rng = np.random.default_rng(3)
    foreground = ndi.gaussian_filter(rng.random((600, 600)), 5) > 0.5  # blobs of every shape, near each other
    distance = ndi.gaussian_filter(ndi.distance_transform_edt(foreground), 1.0)
    seeds, _ = ndi.label(postprocess._distance_peaks(foreground, distance))
    assert_same_objects(postprocess.split_by_distance(foreground), watershed(-distance, markers=seeds, mask=foreground))


def test_holes_filled_and_labels_renumbered_as_scipy_and_skimage_do():
    rng = np.random.default_rng(4)
    for threshold in (0.3, 0.5, 0.7):
        mask = ndi.gaussian_filter(rng.random((300, 200)), 3) > threshold
        np.testing.assert_array_equal(postprocess._fill_holes_binary(mask), ndi.binary_fill_holes(mask))
    labels = rng.integers(0, 40, (50, 60)) * 7
    np.testing.assert_array_equal(postprocess._renumbered(labels), relabel_sequential(labels)[0])
    assert postprocess._renumbered(np.zeros((3, 3), int)).max() == 0


def test_object_groups_hold_every_object_once_inside_its_crop():
    rng = np.random.default_rng(5)
    pieces, count = ndi.label(ndi.gaussian_filter(rng.random((520, 530)), 3) > 0.55)
    seen = np.zeros(pieces.shape, dtype=int)
    for crop, own in object_groups(pieces, count, margin=10, block=128):
        assert own.shape == pieces[crop].shape
        seen[crop] += own
    np.testing.assert_array_equal(seen, pieces > 0)  # every object pixel in exactly one group
