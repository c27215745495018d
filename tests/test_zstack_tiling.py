"""Tiled prediction of stacks (prediction/tiling3d.py): the same as untiled away from the borders."""

from types import SimpleNamespace

import numpy as np
import pytest

from petrilab.prediction.tiling3d import axis_plan, predict_tiled_3d


def test_tiles_cover_every_voxel_once_in_weight():
    stack = np.random.default_rng(0).normal(size=(10, 50, 70, 2)).astype(np.float32)
    calls = []

    def identity(batch):
        calls.append(batch.shape)
        return batch[..., :1] * 2

    out = predict_tiled_3d(identity, stack, (8, 32, 32), (4, 16, 16), 1, multiples=(2, 8, 8))
    np.testing.assert_allclose(out[..., 0], stack[..., 0] * 2, rtol=1e-5, atol=1e-5)
    assert len(calls) > 1 and all(shape[1:4] == calls[0][1:4] for shape in calls)


def test_small_stack_is_mirrored_not_refused():
    stack = np.ones((3, 10, 12, 1), np.float32)
    out = predict_tiled_3d(lambda b: b, stack, (8, 32, 32), (0, 8, 8), 1, multiples=(1, 16, 16))
    assert out.shape == (3, 10, 12, 1) and np.allclose(out, 1)
    assert axis_plan(100, 32, 16, 8)[2][-1] + axis_plan(100, 32, 16, 8)[0] >= 100


@pytest.mark.slow
def test_tiled_3d_unet_prediction_equals_untiled_away_from_borders():
    import keras

    from petrilab.data.anisotropy import size_multiples
    from petrilab.models.unet3d import build_unet3d
    from petrilab.tasks import OutputHead

    keras.utils.set_random_seed(2)
    settings = SimpleNamespace(filters=[4], batch_norm=False, dropout=0.0, activation="relu", l1=0.0, l2=0.0)
    model = build_unet3d(settings, 1, OutputHead(2, "softmax", "crossentropy", ("iou",), "iou"), anisotropy=4.0)
    stack = np.random.default_rng(3).normal(size=(6, 128, 128, 1)).astype(np.float32)
    whole = model.predict(stack[None], verbose=0)[0]
    tiled = predict_tiled_3d(lambda b: model.predict(b, verbose=0), stack, (6, 64, 64), (0, 32, 32), 2,
                             multiples=size_multiples(1, 4.0))
    inner = (slice(None), slice(12, -12), slice(12, -12))
    np.testing.assert_allclose(tiled[inner], whole[inner], atol=1e-5)


def test_the_output_can_be_a_memory_mapped_file(tmp_path):
    stack = np.random.default_rng(4).normal(size=(9, 40, 36, 1)).astype(np.float32)
    in_memory = predict_tiled_3d(lambda b: b * 3, stack, (4, 16, 16), (2, 8, 8), 1, multiples=(1, 8, 8))
    on_disk = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32, shape=(9, 40, 36, 1))
    result = predict_tiled_3d(lambda b: b * 3, stack, (4, 16, 16), (2, 8, 8), 1, multiples=(1, 8, 8), out=on_disk)
    assert result is on_disk
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), in_memory, atol=1e-6)
    np.testing.assert_allclose(in_memory, stack * 3, atol=1e-5)
    with pytest.raises(ValueError):
        predict_tiled_3d(lambda b: b, stack, (4, 16, 16), (2, 8, 8), 1, out=np.zeros((9, 40, 36, 2), np.float32))
