"""Noise2Void's refinements, on known arrays: the N2V2 blind-spot fill (the median of the neighbourhood, never the
hidden pixel itself) and test-time augmentation (the average of the restored image over flips and turns)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from petrilab import settings as settings_io
from petrilab.tasks.restoration.blind_spot import hide_pixels, neighbourhood_median
from petrilab.tasks.restoration.orientations import ALL, apply, averaged, orientations, undo, wanted

KIND = "restoration"


# ---------------------------------------------------------------- the blind spot's median fill


def test_the_median_fill_never_uses_the_hidden_pixel():
    patch = np.zeros((9, 9, 1), dtype=np.float32)
    patch[4, 4] = 1000.0  # the hidden pixel: far off, so its own value would pull any statistic
    patch[3:6, 3:6, 0] += np.array([[1, 2, 3], [4, 0, 5], [6, 7, 8]], dtype=np.float32)
    median = neighbourhood_median(patch, np.array([4]), np.array([4]), 3)
    assert median[0, 0] == pytest.approx(4.5)  # the median of 1..8, the centre left out
    # a 5 × 5 square: 16 zeros around those 8 values, so the median is 0 whatever the centre holds
    assert neighbourhood_median(patch, np.array([4]), np.array([4]), 5)[0, 0] == 0.0


def test_the_median_fill_mirrors_at_the_border_and_keeps_channels_apart():
    patch = np.stack([np.arange(16, dtype=np.float32).reshape(4, 4), -np.ones((4, 4), np.float32)], axis=-1)
    median = neighbourhood_median(patch, np.array([0]), np.array([0]), 3)
    # the corner's 3 × 3 square mirrored back inside: rows (1, 0, 1) × columns (1, 0, 1) without the corner
    expected = np.median([5, 4, 5, 1, 1, 5, 4, 5])
    assert median[0, 0] == expected and median[0, 1] == -1.0


def test_hide_pixels_with_the_median_fill_on_a_known_array():
    patch = (np.random.default_rng(5).random((24, 24, 1)) * 100).astype(np.float32)
    masked, weights = hide_pixels(patch, 2.0, 5, np.random.default_rng(6), fill="median")
    hidden = np.argwhere(weights[..., 0] == 1)
    assert len(hidden) == 16  # 2 %: one pixel in each 7 × 7 box, 4 × 4 of them (the last cut short)
    padded = np.pad(patch[..., 0], 2, mode="reflect")  # -1 → 1: the border mirrored as the fill does
    for r, c in hidden:
        square = padded[r:r + 5, c:c + 5].ravel()
        around = np.delete(square, 12)  # without the centre
        assert masked[r, c, 0] == pytest.approx(np.median(around))
    shown = weights[..., 0] == 0
    assert np.array_equal(masked[shown], patch[shown])  # every other pixel as it was
    with pytest.raises(ValueError, match="fill"):
        hide_pixels(patch, 2.0, 5, np.random.default_rng(6), fill="mean")


# ---------------------------------------------------------------- test-time augmentation


def test_each_orientation_is_undone_exactly():
    image = np.random.default_rng(7).random((5, 7, 2))
    assert len({apply(image, o).tobytes() for o in ALL}) == 8  # eight different images
    for orientation in ALL:
        assert np.array_equal(undo(apply(image, orientation), orientation), image)


def test_the_orientations_are_those_training_showed():
    assert orientations(True, True, True) == list(ALL)
    assert len(orientations(True, True, False)) == 4  # none, either flip, both (a half turn)
    assert orientations(True, False, False) == [(0, False), (0, True)]
    assert orientations(False, False, True) == [(k, False) for k in range(4)]
    assert orientations(False, False, False) == [(0, False)]
    augmentation = SimpleNamespace(geometric="auto", flip_horizontal=True, flip_vertical=True, rotate_90=True)
    assert len(wanted("auto", augmentation)) == 8 and wanted("no", augmentation) == [(0, False)]
    augmentation.geometric = "no"  # no flips in training: none at prediction, unless asked for
    assert wanted("auto", augmentation) == [(0, False)] and len(wanted("yes", augmentation)) == 8


def box_blur(image: np.ndarray) -> np.ndarray:
    """A 3 × 3 mean with mirrored borders: the same function in every orientation."""
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="symmetric")
    return sum(padded[dy:dy + image.shape[0], dx:dx + image.shape[1]] for dy in range(3) for dx in range(3)) / 9


def test_averaging_a_flip_and_turn_invariant_function_changes_nothing():
    image = np.random.default_rng(8).random((12, 10, 1)).astype(np.float32)
    assert np.allclose(averaged(box_blur, image, list(ALL)), box_blur(image), atol=1e-6)


def test_averaging_a_one_sided_function_makes_it_symmetric():
    image = np.random.default_rng(9).random((12, 12, 1)).astype(np.float32)

    def shift_right(x):  # looks only at the left neighbour: not the same when flipped
        return np.pad(x, ((0, 0), (1, 0), (0, 0)), mode="edge")[:, :-1]

    one_way = shift_right(image)
    both_ways = averaged(shift_right, image, orientations(True, False, False))
    assert not np.allclose(both_ways, one_way)
    inner = image[:, 1:-1]
    assert np.allclose(both_ways[:, 1:-1], (image[:, :-2] + image[:, 2:]) / 2)  # left and right neighbours
    assert inner.shape == both_ways[:, 1:-1].shape


@pytest.mark.slow  # builds a U-Net
def test_restore_averages_the_network_over_the_eight_orientations():
    from petrilab.data.preprocess import Preprocessing
    from petrilab.models.build import build_model
    from petrilab.recipes import get_recipe
    from petrilab.tasks.restoration.normalise import prepare

    settings = settings_io.defaults_for(KIND)
    settings.model.filters = [8, 16]
    settings.data.patch_size = [32, 32]
    settings.data.channels = 1
    recipe = get_recipe(KIND)
    model = build_model(settings, (32, 32, 1), recipe.head(settings))  # random weights: not symmetric at all
    prep = Preprocessing.from_settings(settings.data, 1)
    trained = SimpleNamespace(settings=settings, prep=prep, model=model, predicted=lambda n: None)
    image = (np.random.default_rng(10).random((48, 64)) * 4000).astype(np.uint16)
    x, stretch = prepare(image, prep)

    def whole(z):
        return np.asarray(model.predict_on_batch(z[np.newaxis]))[0]

    settings.restoration.test_time_augmentation = "no"
    plain = recipe.restore(trained, image)
    assert np.allclose(plain, stretch.back(whole(x)), atol=1e-3 * float(np.abs(plain).max()))
    settings.restoration.test_time_augmentation = "yes"
    expected = stretch.back(np.mean([undo(whole(np.ascontiguousarray(apply(x, o))), o) for o in ALL], axis=0))
    flipped = recipe.restore(trained, image)
    assert np.allclose(flipped, expected, atol=1e-3 * float(np.abs(expected).max()))
    assert not np.allclose(flipped, plain, atol=1e-3 * float(np.abs(plain).max()))  # the average is not the plain


# ---------------------------------------------------------------- training and old settings files


def test_noise2void_counts_any_fall_of_its_loss_and_halves_the_rate_on_plateaus():
    from petrilab.recipes import get_recipe

    recipe = get_recipe(KIND)
    settings = settings_io.defaults_for(KIND)
    settings.restoration.way = "noise2void"
    settings.training.patience = 15
    assert recipe.min_improvement(settings) == 0.0
    (plateau,) = recipe.callbacks(settings)
    assert type(plateau).__name__ == "ReduceLROnPlateau" and plateau.factor == 0.5 and plateau.patience == 7
    settings.restoration.way = "pairs"  # pairs: the trainer's usual rule, no callback of its own
    assert recipe.min_improvement(settings) == 1e-4 and recipe.callbacks(settings) == []


def test_an_older_restoration_settings_file_opens_with_the_new_keys_at_their_defaults(tmp_path):
    settings = settings_io.defaults_for(KIND)
    text = settings_io.dumps(settings)
    old = "\n".join(line for line in text.splitlines()
                    if not line.startswith(("blind_spot_fill", "test_time_augmentation")))
    assert old != text
    path = tmp_path / "old.toml"
    path.write_text(old.replace("masked_percent = 2.0", "masked_percent = 0.5"), encoding="utf-8")
    loaded = settings_io.load(path)
    assert loaded.restoration.masked_percent == 0.5  # what the file says stays
    assert loaded.restoration.blind_spot_fill == "median" and loaded.restoration.test_time_augmentation == "auto"


@pytest.mark.slow  # builds four U-Nets and saves one
def test_noise2void_gets_blurred_down_sampling_and_pairs_the_plain_unet(tmp_path):
    import keras

    from petrilab.models.build import build_model
    from petrilab.recipes import get_recipe

    recipe = get_recipe(KIND)
    settings = settings_io.defaults_for(KIND)
    settings.model.filters = [8, 16]
    settings.data.channels = 1
    settings.restoration.way = "noise2void"

    def layers(network: str, way: str = "noise2void"):
        settings.restoration.way, settings.restoration.blind_spot_network = way, network
        model = build_model(settings, (32, 32, 1), recipe.head(settings))
        return model, {layer.name: layer for layer in model.layers}

    assert settings.restoration.blind_spot_network == "blur"  # the default
    blurred, names = layers("blur")
    assert "up1_join" in names and "up2_join" in names  # every shortcut kept
    blur = names["down1_pool"]
    kernel = blur.get_weights()[0]
    assert not blur.trainable and kernel.shape == (3, 3, 8, 1)
    assert np.allclose(kernel[..., 0, 0], np.outer([1, 2, 1], [1, 2, 1]) / 16) and np.isclose(kernel.sum(), 8.0)
    x = np.random.default_rng(11).random((1, 40, 48, 1)).astype(np.float32)
    assert blurred.predict_on_batch(x).shape == (1, 40, 48, 1)  # any size on the grid, as before
    path = tmp_path / "blurred.keras"
    blurred.save(path)
    again = keras.models.load_model(path, compile=False)
    assert np.allclose(again.predict_on_batch(x), blurred.predict_on_batch(x), atol=1e-6)  # a saved run alike

    _, names = layers("n2v2")  # N2V2: no shortcut at the finest level only
    assert "up1_join" not in names and "up2_join" in names and not names["down2_pool"].trainable
    for network, way in (("plain", "noise2void"), ("n2v2", "pairs")):  # pairs: always the plain U-Net
        _, names = layers(network, way)
        assert "up1_join" in names and type(names["down1_pool"]).__name__ == "MaxPooling2D"
