"""Image restoration (issue #19), the parts that need no training: the blind spot on known arrays, the loss that
looks at the hidden pixels only, the data check's plain words (unmatched names, sizes) with the inputs untouched,
the scores beside non-local means, and the tiled prediction against the whole image."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import tifffile

from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.recipes import get_recipe
from petrilab.tasks.restoration.blind_spot import blind_spot_positions, grid_side, hide_pixels, neighbour_positions
from petrilab.tasks.restoration.demo import make_restoration_demo
from petrilab.tasks.restoration.scores import compare_to_target, noise_level

KIND = "restoration"


def sha(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- the blind spot


def test_hidden_pixels_are_spread_one_per_box_of_the_grid():
    rng = np.random.default_rng(0)
    side = grid_side(1.0)  # 1 % of the pixels: one per 10 × 10 box
    assert side == 10
    rows, cols = blind_spot_positions((40, 30), 1.0, rng)
    assert len(rows) == 4 * 3  # 4 rows of boxes, 3 columns
    boxes = sorted(zip(rows // side, cols // side))
    assert boxes == sorted((r, c) for r in range(4) for c in range(3))  # exactly one in each box
    # a border box cut short keeps its pixel inside the image
    rows, cols = blind_spot_positions((25, 25), 1.0, rng)
    assert rows.max() < 25 and cols.max() < 25 and len(rows) == 9


def test_a_hidden_pixel_takes_a_neighbours_value_never_its_own():
    rng = np.random.default_rng(1)
    shape = (16, 16)
    rows = np.array([0, 0, 15, 7] * 200)
    cols = np.array([0, 15, 15, 7] * 200)
    from_rows, from_cols = neighbour_positions(rows, cols, shape, 5, rng)
    assert not np.any((from_rows == rows) & (from_cols == cols))  # never itself, corners included
    assert np.all(np.abs(from_rows - rows) <= 2) and np.all(np.abs(from_cols - cols) <= 2)  # within the 5 × 5
    assert from_rows.min() >= 0 and from_cols.max() <= 15  # mirrored back inside at the borders
    assert len(set(zip(from_rows[3::4], from_cols[3::4]))) == 24  # the inner pixel: every one of its 24 neighbours


def test_hide_pixels_on_a_known_array():
    # every pixel has its own value, so where each hidden pixel's value came from can be read back
    patch = np.arange(20 * 20, dtype=np.float32).reshape(20, 20, 1)
    masked, weights = hide_pixels(patch, 2.0, 3, np.random.default_rng(2))
    hidden = np.argwhere(weights[..., 0] == 1)
    assert grid_side(2.0) == 7 and len(hidden) == 9  # 2 %: one per 7 × 7 box, 3 × 3 boxes on 20 × 20
    changed = np.argwhere(masked[..., 0] != patch[..., 0])
    assert {tuple(p) for p in changed} == {tuple(p) for p in hidden}  # only the hidden pixels changed
    for r, c in hidden:
        source = int(masked[r, c, 0])
        sr, sc = divmod(source, 20)
        assert (sr, sc) != (r, c) and abs(sr - r) <= 1 and abs(sc - c) <= 1  # a 3 × 3 neighbour
    assert patch[0, 0, 0] == 0  # the input patch itself is untouched


@pytest.mark.slow  # loads Keras
def test_the_loss_looks_at_the_hidden_pixels_only():
    from petrilab.tasks.restoration.losses import WeightedPixelLoss, WeightedPixelMAE

    target = np.zeros((1, 8, 8, 1), np.float32)
    weights = np.zeros_like(target)
    weights[0, 2, 3, 0] = weights[0, 5, 5, 0] = 1.0
    prediction = np.full_like(target, 7.0)  # wrong everywhere the loss does not look …
    prediction[0, 2, 3, 0], prediction[0, 5, 5, 0] = 1.0, 3.0  # … and off by 1 and 3 where it does
    packed = np.concatenate([target, weights], axis=-1)
    assert float(WeightedPixelLoss("mse")(packed, prediction)) == pytest.approx((1 + 9) / 2)
    assert float(WeightedPixelLoss("mae")(packed, prediction)) == pytest.approx(2.0)
    metric = WeightedPixelMAE()
    metric.update_state(packed, prediction)
    assert float(metric.result()) == pytest.approx(2.0)
    # pairs: every pixel weighs 1
    assert float(WeightedPixelLoss("mse")(np.concatenate([target, np.ones_like(target)], -1), prediction)) == \
        pytest.approx(float(np.mean(prediction ** 2)))


# ---------------------------------------------------------------- data


def test_the_check_names_unmatched_files_and_size_mismatches_and_leaves_the_data_alone(tmp_path):
    data = make_restoration_demo(tmp_path / "data", n_images=5, size=32)
    (data / "targets" / "field_002.tif").rename(data / "targets" / "field_two.tif")  # a name that matches nothing
    tifffile.imwrite(data / "targets" / "field_003.tif", np.zeros((30, 32), np.uint16))  # another size
    before = sha(data)
    recipe = get_recipe(KIND)
    report = recipe.check(recipe.discover(settings_io.defaults_for(KIND), data))
    text = report.to_text()
    assert not report.ok
    assert "'field_002.tif' has no target" in text and str(data / "targets" / "field_002.tif") in text
    assert "'field_two.tif'" in text  # the target without an image is named
    assert "30 × 32" in text and "32 × 32" in text and "field_003.tif" in text
    assert text.startswith("3 readable images.\n  image pairs  3") and "1 classes" not in text  # pairs: not classes
    assert sha(data) == before


def test_pairs_without_a_targets_folder_are_refused_in_plain_words(tmp_path):
    data = make_restoration_demo(tmp_path / "data", n_images=3, size=32)
    for p in (data / "targets").iterdir():
        p.unlink()
    (data / "targets").rmdir()
    settings = settings_io.defaults_for(KIND)
    settings.restoration.way = "pairs"
    with pytest.raises(UserError, match="needs a 'targets' sub-folder") as refused:
        get_recipe(KIND).discover(settings, data)
    assert "noise2void" in refused.value.fix
    settings.restoration.way = "auto"  # automatic: the noisy images alone
    dataset = get_recipe(KIND).discover(settings, data)
    assert dataset.classes == ["noisy images"] and get_recipe(KIND).check(dataset).ok


# ---------------------------------------------------------------- scores


def test_scores_put_the_input_and_non_local_means_beside_the_network():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:64, 0:64]
    clean = (np.sin(xx / 5.0) * np.cos(yy / 7.0) + 1)[..., None].astype(np.float32) * 100
    noisy = clean + rng.normal(0, 20, clean.shape).astype(np.float32)
    assert noise_level(noisy) == pytest.approx(20, rel=0.15)
    found = compare_to_target(noisy, clean, 3 * clean + 50)  # a perfect restoration, target in other units
    assert found["psnr"]["network"] > 60 and found["ssim"]["network"] > 0.99  # the straight-line fit
    assert found["psnr"]["non_local_means"] > found["psnr"]["input"]
    assert found["ssim"]["input"] < 0.9


# ---------------------------------------------------------------- tiled prediction


@pytest.mark.slow  # builds a U-Net
def test_tiled_prediction_equals_the_whole_image_away_from_its_borders():
    from types import SimpleNamespace

    from petrilab.data.preprocess import Preprocessing
    from petrilab.models.build import build_model
    from petrilab.tasks.restoration.normalise import prepare

    settings = settings_io.defaults_for(KIND)
    settings.model.filters = [8, 16]
    settings.data.patch_size = [64, 64]
    settings.data.channels = 1
    settings.restoration.test_time_augmentation = "no"  # the tiles alone (the average over flips: test_restoration_n2v)
    recipe = get_recipe(KIND)
    model = build_model(settings, (64, 64, 1), recipe.head(settings))  # random weights: any function will do
    prep = Preprocessing.from_settings(settings.data, 1)
    trained = SimpleNamespace(settings=settings, prep=prep, model=model, predicted=lambda n: None)
    image = (np.random.default_rng(4).random((700, 520)) * 4000).astype(np.uint16)
    tiled = recipe.restore(trained, image, tile=192)  # 192-pixel tiles: many seams across the image
    x, stretch = prepare(image, prep)
    whole = stretch.back(np.asarray(model.predict_on_batch(x[np.newaxis]))[0])  # 700 and 520: multiples of 4
    inner = (slice(32, -32), slice(32, -32))
    scale = float(np.abs(whole[inner]).max())
    assert np.abs(tiled[inner] - whole[inner]).max() <= 1e-4 * scale
    assert tiled.shape == (700, 520, 1)


def test_noise2void_validation_hides_enough_pixels_the_same_way_every_epoch():
    from petrilab.tasks.restoration.patches import VALIDATION_HIDDEN_PIXELS, BlindSpot, fixed_patches

    images = [np.random.default_rng(k).random((128, 192, 1)).astype(np.float32) for k in range(2)]
    x, y = fixed_patches(images, None, (64, 64), BlindSpot(0.5, 5))
    assert y[..., 1].sum() >= VALIDATION_HIDDEN_PIXELS  # 12 places masked 16 times, 20 pixels each
    assert not np.array_equal(x[0], x[1]) and np.array_equal(y[0, ..., 0], y[1, ..., 0])  # one place, two maskings
    again, _ = fixed_patches(images, None, (64, 64), BlindSpot(0.5, 5))
    assert np.array_equal(x, again)  # the same hidden pixels at every epoch
    pairs_x, pairs_y = fixed_patches(images, images, (64, 64), None)
    assert len(pairs_x) == 12 and pairs_y[..., 1].min() == 1  # pairs: each place once, every pixel counts
