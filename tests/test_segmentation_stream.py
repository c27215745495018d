"""Segmentation with data.load = stream: the images stay on disk, each batch reads what it cuts patches from.

The streamed batches are the in-memory batches, patch for patch (same seeds, same draws), so choosing
stream changes the memory used and nothing else; a real training on the demo data completes and evaluates.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from petrilab import runs
from petrilab.data.batches import choose_in_memory
from petrilab.events import read_all
from petrilab.settings import AugmentationSettings
from petrilab.tasks.segmentation.patches import (JointAugmenter, RandomPatches, StreamedPatches, fixed_patches,
                                   read_fixed_patches)

from helpers import train_tiny_segmentation

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "semantic"


def pairs(seed: int = 0):
    """Images of different sizes (one smaller than the patch) with rare foreground: patches centre on objects."""
    rng = np.random.default_rng(seed)
    images, masks = [], []
    for h, w in [(70, 90), (40, 30), (100, 64)]:
        images.append(rng.random((h, w, 2), dtype=np.float32))
        mask = np.zeros((h, w), np.int32)
        mask[5:9, 7:12] = 1
        masks.append(mask)
    return images, masks


def onehot(mask):
    return np.eye(2, dtype=np.float32)[mask]


class CountingReader:
    """Reads pair k from the lists, counting the reads (the lists stand for files on disk)."""

    def __init__(self, images, masks):
        self.images, self.masks, self.reads = images, masks, []

    def __call__(self, k):
        self.reads.append(k)
        return self.images[k], self.masks[k]


def test_streamed_patches_are_the_in_memory_patches():
    images, masks = pairs()
    aug = AugmentationSettings(flip_horizontal=True, rotate_90=True, rotation=20.0, elastic=0.3, noise=0.05)
    memory = RandomPatches(images, masks, onehot, (48, 48), batch_size=4, seed=7, augmenter=JointAugmenter(aug, 7))
    reader = CountingReader(images, masks)
    streamed = StreamedPatches(reader, len(images), onehot, (48, 48), batch_size=4, seed=7,
                               augmenter=JointAugmenter(aug, 7))
    assert memory.centre_on_objects and streamed.centre_on_objects
    assert len(streamed) == len(memory) and np.allclose(streamed.weights, memory.weights)
    reader.reads.clear()
    for epoch in range(2):
        for index in (0, 3, len(memory) - 1):
            (xm, ym), (xs, ys) = memory[index], streamed[index]
            assert np.array_equal(xm, xs) and np.array_equal(ym, ys)
        memory.on_epoch_end()
        streamed.on_epoch_end()
    # a batch reads each image it uses once, never all of them up front
    assert len(reader.reads) <= 2 * 3 * len(images)


def test_a_streamed_batch_reads_only_its_images_once_each():
    images, masks = pairs()
    reader = CountingReader(images, masks)
    streamed = StreamedPatches(reader, len(images), onehot, (32, 32), batch_size=8, seed=1,
                               mask_reader=lambda k: masks[k])
    assert reader.reads == []  # the masks alone were read for sizes and foreground
    streamed[0]
    assert len(reader.reads) == len(set(reader.reads)) <= len(images)


def test_streamed_validation_patches_are_the_in_memory_ones_read_once_each():
    images, masks = pairs(3)
    reader = CountingReader(images, masks)
    x, y = read_fixed_patches(reader, [m.shape for m in masks], onehot, (32, 32), limit=7)
    xm, ym = fixed_patches(images, masks, onehot, (32, 32), limit=7)
    assert len(x) == 7 and np.array_equal(x, xm) and np.array_equal(y, ym)
    assert reader.reads == sorted(set(reader.reads))  # in order, each once


def test_load_setting_decides_memory_or_stream():
    asked = []

    def needed():
        asked.append(1)
        return 10 ** 18  # an exabyte: never fits

    assert choose_in_memory("memory", needed) and not asked
    assert not choose_in_memory("stream", needed) and not asked
    assert not choose_in_memory("auto", needed) and asked  # auto streams what does not fit
    assert choose_in_memory("auto", lambda: 1024)
    with pytest.raises(ValueError):
        choose_in_memory("sometimes", needed)


def test_the_segmentation_recipe_estimates_the_prepared_size_from_headers():
    from petrilab.data.preprocess import Preprocessing
    from petrilab.recipes import get_recipe
    from petrilab.tasks.segmentation.masks import discover_segmentation

    samples = discover_segmentation("semantic", DEMO).samples
    prep = Preprocessing((64, 64), channels=1)
    # 128 × 128 grey images: a float32 pixel and an int32 mask value each
    assert get_recipe("semantic").prepared_bytes(samples, prep) == len(samples) * 128 * 128 * 8


@pytest.mark.slow
def test_a_real_training_with_load_stream_completes_and_evaluates(tmp_path):
    data = tmp_path / "semantic"
    shutil.copytree(DEMO, data)
    for extra in sorted((data / "images").iterdir())[12:]:  # 12 images are enough to show it
        extra.unlink()
        (data / "masks" / extra.name).unlink()
    # one epoch of small batches: what is checked is that a streamed training runs through, not what it learns
    run = train_tiny_segmentation(data, "semantic", tmp_path, "data.load=stream", "model.filters=[4, 8]",
                                  "training.epochs=1", "training.batch_size=2")
    events = read_all(run / runs.EVENTS)
    started = next(e for e in events if e["event"] == "started")
    assert started["in_memory"] is False
    assert events[-1]["event"] == "finished" and events[-1]["status"] == "completed"
    assert any(e["event"] == "evaluation" for e in events)
    evaluation = json.loads((run / runs.EVALUATION).read_text())
    assert evaluation["n_images"] == 3 and evaluation["metrics"]["iou"] is not None

    # Evaluating again replaces the predicted test masks and drops those of images no longer tested.
    stale = run / "test_masks" / "an_image_tested_before.tif"
    stale.write_bytes(b"")
    from petrilab.cli import main

    assert main(["evaluate", str(run)]) == 0
    masks = sorted(p.name for p in (run / "test_masks").glob("*.tif"))
    assert not stale.exists() and len(masks) == 3
