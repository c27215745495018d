"""The 3-D branch's batches (stack_batches.py): stacks prepared as a whole, blocks on the network's grid,
repeatable random blocks with their masks moved along, fixed validation blocks, 3-D targets."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from petrilab.data.preprocess import Preprocessing

pytestmark = pytest.mark.slow  # the training blocks are a Keras PyDataset: TensorFlow loads
from petrilab.tasks.segmentation.stack_batches import (StackPatches, fixed_stack_patches, prepare_stack,
                                                     stack_encoder, stack_instance_classes, stack_patch_size_for)


def test_a_stack_is_normalised_as_a_whole_so_a_dim_plane_stays_dim():
    stack = np.zeros((3, 8, 8, 1), np.uint16)
    stack[0], stack[1], stack[2] = 100, 1000, 2000
    prep = Preprocessing((64, 64), 3, normalisation="percentile", percentile_low=0, percentile_high=100)
    x = prepare_stack(prep, stack)
    assert x.shape == (3, 8, 8, 3) and x.dtype == np.float32  # grey repeated to the run's 3 channels
    assert x[0].max() == pytest.approx(0.0) and x[1].mean() == pytest.approx(900 / 1900) and x[2].min() == 1.0


def test_blocks_come_from_the_settings_or_the_data_on_the_networks_grid():
    assert stack_patch_size_for([], [(16, 64, 64), (12, 100, 40)], (1, 4, 4)) == (8, 40, 40)
    assert stack_patch_size_for([], [(5, 30, 30)], (2, 8, 8)) == (4, 24, 24)
    assert stack_patch_size_for([7, 50, 50], [(16, 64, 64)], (1, 4, 4)) == (7, 48, 48)
    assert stack_patch_size_for([1, 2, 2], [(16, 64, 64)], (2, 8, 8)) == (2, 8, 8)  # never below the grid


def test_random_blocks_are_repeatable_and_keep_mask_and_stack_together():
    rng = np.random.default_rng(0)
    stacks = [rng.random((6, 20, 20, 1)).astype(np.float32) for _ in range(2)]
    masks = [(s[..., 0] > 0.5).astype(np.int32) for s in stacks]
    aug = SimpleNamespace(flip_horizontal=True, flip_vertical=True, rotate_90=True, brightness=0, contrast=0,
                          noise=0)
    batches = [StackPatches(stacks, masks, stack_encoder(2, None), (4, 8, 8), 3, augmentation=aug, seed=5)
               for _ in range(2)]
    x, y = batches[0][1]
    assert x.shape == (3, 4, 8, 8, 1) and y.shape == (3, 4, 8, 8, 1)
    np.testing.assert_array_equal(y[..., 0], (x[..., 0] > 0.5).astype(np.float32))  # flipped and turned alike
    np.testing.assert_array_equal(x, batches[1][1][0])  # the same seed draws the same blocks
    assert len(batches[0]) == 8  # at least 8 steps an epoch, even for two small stacks
    noisy = StackPatches(stacks, masks, stack_encoder(2, None), (4, 8, 8), 3, seed=5,
                         augmentation=SimpleNamespace(**{**vars(aug), "noise": 0.1}))
    assert not np.array_equal(noisy[1][0], x) and np.array_equal(noisy[1][1], y)  # the image only


def test_fixed_blocks_cover_every_stack_and_pad_small_ones():
    stacks = [np.ones((6, 20, 12, 1), np.float32), np.ones((2, 8, 8, 1), np.float32)]
    masks = [np.ones((6, 20, 12), np.int32), np.ones((2, 8, 8), np.int32)]
    x, y = fixed_stack_patches(stacks, masks, stack_encoder(2, None), (4, 8, 8))
    assert x.shape == (2 * 3 * 2 + 1, 4, 8, 8, 1) and y.shape[:-1] == x.shape[:-1]


def test_instance_targets_draw_each_planes_boundary_in_that_plane():
    labels = np.zeros((3, 12, 12), np.int32)
    labels[:, 2:10, 2:10] = 1  # a box through every plane: a boundary across z would leave no interior
    classes = stack_instance_classes(labels, 1)
    assert (classes[:, 5, 5] == 1).all() and (classes[:, 2, 5] == 2).all() and (classes[:, 0, 0] == 0).all()
    assert stack_encoder(None, 1)(labels).shape == (3, 12, 12, 3)


def test_the_model_helper_answers_the_memory_training_on_a_block_needs():
    from petrilab.models import describe_model
    from petrilab.settings import Settings
    from petrilab.tasks import output_head
    from petrilab.tasks.segmentation.demo3d import VOXEL

    settings = Settings()
    settings.task.kind = "instance"
    settings.model.architecture, settings.model.filters = "unet3d", [8, 16]
    settings.data.dimensions, settings.data.voxel_size = "3d", list(VOXEL)
    settings.training.batch_size = 4
    head = output_head("instance", 2)
    plain = describe_model(settings, (64, 64, 1), head)
    assert "memory" not in plain  # asked for with a block only
    small = describe_model(settings, (64, 64, 1), head, (8, 32, 32))["memory"]
    large = describe_model(settings, (64, 64, 1), head, (8, 64, 64))["memory"]
    assert small["block"] == [8, 32, 32] and small["batch"] == 4 and small["where"] == "RAM"
    assert 0 < small["needed"] < large["needed"] and large["available"] > 0
    # weights, gradients and Adam's two moments (float32) whatever the block; the batch's part grows with its voxels
    fixed = 4 * 4 * plain["total"]
    assert large["needed"] - fixed == pytest.approx(4 * (small["needed"] - fixed), rel=1e-6)
    settings.training.batch_size = 8
    doubled = describe_model(settings, (64, 64, 1), head, (8, 32, 32))["memory"]
    assert doubled["needed"] - fixed == pytest.approx(2 * (small["needed"] - fixed), rel=1e-6)


def test_the_model_helper_frees_each_model_it_describes():
    """The window's model helper describes a model at every edit, in one long-lived process: the models must not
    pile up. Python's automatic collector is off here, so the helper has to free each model itself."""
    import gc

    import keras

    from petrilab.models import describe_model
    from petrilab.settings import defaults_for
    from petrilab.tasks import output_head

    settings = defaults_for("classification")
    settings.model.filters, settings.model.head_units = [4, 8], [8]
    head = output_head("classification", 3)

    def live_layers() -> int:
        return sum(isinstance(o, keras.layers.Layer) for o in gc.get_objects())

    automatic = gc.isenabled()
    gc.disable()
    try:
        for _ in range(3):
            describe_model(settings, (32, 32, 1), head)
        after_a_few = live_layers()
        for _ in range(10):
            describe_model(settings, (32, 32, 1), head)
        after_many = live_layers()
    finally:
        if automatic:
            gc.enable()
    assert after_many <= after_a_few, (after_a_few, after_many)
