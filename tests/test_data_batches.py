"""Augmentation, arrays and batch streams, class weights in training."""

from __future__ import annotations

import hashlib

import keras
import numpy as np
import pytest

from petrilab.data.augment import Augmenter, _rotate_zoom
from petrilab.data.batches import (AugmentedArrays, BatchStream, class_weights, encode_labels, fits_in_memory,
                                   load_arrays, make_inputs)
from petrilab.data.discovery import discover
from petrilab.data.preprocess import Preprocessing
from petrilab.settings import AugmentationSettings

pytestmark = pytest.mark.slow  # loads TensorFlow (Keras), and two tests train through it


def hashes(folder):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def no_augmentation(**changes) -> AugmentationSettings:
    settings = AugmentationSettings(flip_horizontal=False, flip_vertical=False, rotate_90=False)
    for key, value in changes.items():
        setattr(settings, key, value)
    return settings


@pytest.fixture
def tiny(tiny_classification_dir):
    dataset = discover("classification", tiny_classification_dir)
    prep = Preprocessing(image_size=(24, 24), channels=1, normalisation="scale")
    return dataset, prep


def concat(dataset_batches, n_batches):
    parts = [dataset_batches[i] for i in range(n_batches)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# ---------------------------------------------------------------- labels, weights, memory


def test_encode_labels():
    np.testing.assert_array_equal(encode_labels(np.array([0, 1, 1]), 2), [[0], [1], [1]])
    three = encode_labels(np.array([2, 0]), 3)
    assert three.dtype == np.float32
    np.testing.assert_array_equal(three, [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError):
        encode_labels(np.array([3]), 3)


def test_class_weights_are_balanced():
    weights = class_weights(np.array([0, 0, 0, 1]), 2)
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})
    # each class then weighs the same in total
    assert 3 * weights[0] == pytest.approx(1 * weights[1])
    assert class_weights(np.array([0, 0]), 3)[1] == 1.0  # a class absent from training: neutral


def test_fits_in_memory():
    prep = Preprocessing(image_size=(64, 64), channels=3)
    assert fits_in_memory(100, prep)
    assert not fits_in_memory(10**9, prep)  # 49 TB of float32


# ---------------------------------------------------------------- arrays and streams


def test_load_arrays_shapes_values_and_input_files_untouched(tiny, tiny_classification_dir):
    dataset, prep = tiny
    before = hashes(tiny_classification_dir)
    seen = []
    x, y = load_arrays(dataset.samples, prep, 3, progress=lambda done, total: seen.append(done))
    assert hashes(tiny_classification_dir) == before
    assert x.shape == (24, 24, 24, 1) and x.dtype == np.float32
    assert y.shape == (24, 3) and y.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.3  # 8-bit images scaled by 255
    np.testing.assert_array_equal(y.argmax(axis=1), dataset.labels())
    assert seen[-1] == 24


def test_two_classes_give_one_column(tiny):
    dataset, prep = tiny
    two = [s for s in dataset.samples if s.label < 2]
    _, y = load_arrays(two, prep, 2)
    assert y.shape == (16, 1)
    np.testing.assert_array_equal(y[:, 0], [s.label for s in two])


def test_batch_stream_gives_what_load_arrays_gives(tiny, tiny_classification_dir):
    dataset, prep = tiny
    before = hashes(tiny_classification_dir)
    x, y = load_arrays(dataset.samples, prep, 3)
    stream = BatchStream(dataset.samples, prep, 3, batch_size=10)
    assert len(stream) == 3
    assert stream[2][0].shape == (4, 24, 24, 1)  # the last batch holds the rest
    xs, ys = concat(stream, len(stream))
    np.testing.assert_array_equal(xs, x)
    np.testing.assert_array_equal(ys, y)
    assert hashes(tiny_classification_dir) == before


def test_batch_stream_shuffles_each_epoch_and_covers_every_image(tiny):
    dataset, prep = tiny
    stream = BatchStream(dataset.samples, prep, 3, batch_size=8, shuffle=True, seed=1)
    reference = load_arrays(dataset.samples, prep, 3)[0]
    orders = []
    for _ in range(2):
        xs, _ = concat(stream, len(stream))
        # find each streamed image among the reference ones
        order = [int(np.argmin(((reference - img) ** 2).sum(axis=(1, 2, 3)))) for img in xs]
        assert sorted(order) == list(range(24))
        orders.append(order)
        stream.on_epoch_end()
    assert orders[0] != orders[1] and orders[0] != list(range(24))


def test_batch_stream_with_sample_weights(tiny):
    dataset, prep = tiny
    stream = BatchStream(dataset.samples, prep, 3, batch_size=24, sample_weights={0: 0.5, 1: 1.0, 2: 2.0})
    _, y, w = stream[0]
    np.testing.assert_allclose(w, np.array([0.5, 1.0, 2.0])[y.argmax(axis=1)])


def test_augmented_arrays_leave_the_arrays_alone(tiny):
    dataset, prep = tiny
    x, y = load_arrays(dataset.samples, prep, 3)
    kept = x.copy()
    arrays = AugmentedArrays(x, y, batch_size=8, augmenter=Augmenter(no_augmentation(noise=0.1), seed=0))
    batch_x, batch_y = arrays[0]
    assert batch_x.shape == (8, 24, 24, 1) and batch_y.shape == (8, 3)
    np.testing.assert_array_equal(x, kept)
    originals = x[[int(np.argmin(np.abs(y - row).sum(axis=1) + ((x - bx) ** 2).sum(axis=(1, 2, 3))))
                   for row, bx in zip(batch_y, batch_x)]]
    assert not np.allclose(batch_x, originals)  # noise was added
    assert np.abs(batch_x - originals).mean() < 0.2


def test_make_inputs_paths(tiny):
    dataset, prep = tiny
    memory = make_inputs(dataset.samples, prep, 3, batch_size=8, load="memory")
    assert memory["in_memory"] and isinstance(memory["x"], np.ndarray)
    assert memory["y"].shape == (24, 3) and memory["batch_size"] == 8 and memory["steps"] == 3

    auto = make_inputs(dataset.samples, prep, 3, batch_size=8, load="auto")
    assert auto["in_memory"] and isinstance(auto["x"], np.ndarray)
    np.testing.assert_array_equal(auto["x"], memory["x"])

    stream = make_inputs(dataset.samples, prep, 3, batch_size=8, load="stream", shuffle=True)
    assert isinstance(stream["x"], BatchStream) and stream["y"] is None and stream["batch_size"] is None
    assert not stream["in_memory"] and stream["steps"] == 3

    augmented = make_inputs(dataset.samples, prep, 3, batch_size=16, load="memory",
                            augmenter=Augmenter(AugmentationSettings(), seed=0), shuffle=True)
    assert isinstance(augmented["x"], AugmentedArrays) and augmented["in_memory"] and augmented["steps"] == 2

    inactive = make_inputs(dataset.samples, prep, 3, batch_size=8, load="memory",
                           augmenter=Augmenter(no_augmentation(), seed=0))
    assert isinstance(inactive["x"], np.ndarray)  # nothing to augment: the fast path


# ---------------------------------------------------------------- class weights reach training


def tiny_model(input_shape, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="categorical_crossentropy")
    return model


def weights_after_one_epoch(inputs, class_weight):
    model = tiny_model((24, 24, 1))
    before = [w.copy() for w in model.get_weights()]
    model.fit(inputs, epochs=1, verbose=0, class_weight=class_weight)
    return before, model.get_weights()


def test_class_weight_reaches_training_through_a_py_dataset(tiny):
    dataset, prep = tiny
    stream = BatchStream(dataset.samples, prep, 3, batch_size=12, shuffle=True)
    # weight 0 for every class: no gradient, the model must not move at all
    before, after = weights_after_one_epoch(stream, {0: 0.0, 1: 0.0, 2: 0.0})
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    # real weights: it learns
    before, after = weights_after_one_epoch(stream, class_weights(dataset.labels(), 3))
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_class_weight_only_on_one_class_moves_only_by_that_class(tiny):
    dataset, prep = tiny
    x, y = load_arrays(dataset.samples, prep, 3)
    start = tiny_model((24, 24, 1)).get_weights()
    # one SGD step on all 24 images, counting only 'round' (class 2)...
    _, weighted = weights_after_one_epoch(AugmentedArrays(x, y, 24, shuffle=False), {0: 0.0, 1: 0.0, 2: 1.0})
    # ...moves the model like one step on the 8 'round' images alone, scaled by 8/24 (Keras averages over the batch)
    only_round = [s for s in dataset.samples if s.label == 2]
    _, alone = weights_after_one_epoch(BatchStream(only_round, prep, 3, batch_size=24), None)
    for w, a, s0 in zip(weighted, alone, start):
        np.testing.assert_allclose(w - s0, (a - s0) / 3, rtol=1e-3, atol=1e-6)


# ---------------------------------------------------------------- augmentation


def pattern(n=4, h=16, w=16, c=2):
    return np.random.default_rng(0).random((n, h, w, c)).astype(np.float32)


def test_inactive_augmenter_returns_a_copy():
    batch = pattern()
    augmenter = Augmenter(no_augmentation(), seed=0)
    assert not augmenter.active
    out = augmenter(batch)
    np.testing.assert_array_equal(out, batch)
    assert out is not batch


def test_flips_and_quarter_turns_only_move_pixels():
    batch = pattern(n=32)
    kept = batch.copy()
    out = Augmenter(AugmentationSettings(), seed=3)(batch)
    np.testing.assert_array_equal(batch, kept)  # the input is untouched
    assert out.shape == batch.shape and out.dtype == np.float32
    changed = 0
    for original, new in zip(batch, out):
        variants = [np.rot90(f, k, axes=(0, 1)) for f in (original, original[:, ::-1]) for k in range(4)]
        assert any(np.array_equal(new, v) for v in variants)
        changed += not np.array_equal(new, original)
    assert changed > 16  # 7 of 8 variants differ from the original


def test_rectangular_images_are_only_turned_by_half_turns():
    batch = pattern(n=20, h=8, w=12)
    out = Augmenter(no_augmentation(rotate_90=True), seed=1)(batch)
    assert out.shape == batch.shape
    for original, new in zip(batch, out):
        assert np.array_equal(new, original) or np.array_equal(new, original[::-1, ::-1])


def test_rotate_zoom_geometry():
    batch = pattern(n=2, h=9, w=9, c=1)
    same = _rotate_zoom(batch, np.zeros(2), np.ones(2))
    np.testing.assert_allclose(same, batch, atol=1e-5)
    quarter = _rotate_zoom(batch, np.full(2, np.pi / 2), np.ones(2))
    assert any(np.allclose(quarter[0], np.rot90(batch[0], k, axes=(0, 1)), atol=1e-4) for k in (1, 3))
    # zooming in by 2 about the centre: the centre pixel stays, the image is smoother
    zoomed = _rotate_zoom(batch, np.zeros(2), np.full(2, 2.0))
    assert zoomed[0, 4, 4, 0] == pytest.approx(batch[0, 4, 4, 0], abs=1e-5)
    assert np.abs(np.diff(zoomed[0], axis=0)).mean() < np.abs(np.diff(batch[0], axis=0)).mean()


def test_intensity_changes_are_random_per_image_and_reproducible():
    batch = np.tile(np.linspace(0, 1, 16, dtype=np.float32)[None, None, :, None], (8, 16, 1, 1))
    settings = no_augmentation(brightness=0.2, contrast=0.2, noise=0.05, rotation=20.0, zoom=0.1)
    first = Augmenter(settings, seed=9)(batch)
    again = Augmenter(settings, seed=9)(batch)
    other = Augmenter(settings, seed=10)(batch)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    means = first.mean(axis=(1, 2, 3))
    assert means.std() > 0.01  # each image got its own brightness
    assert np.abs(means - 0.5).max() < 0.35  # within the asked range (0.2 of a range of 1, plus contrast)
