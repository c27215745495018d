"""What comes after the probability maps: object and pixel scores, tiled prediction, post-processing,
measurements and overlays. Known answers are counted by hand in the comments."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from petrilab.prediction.overlay import comparison_overlay, outline_overlay, save_png
from petrilab.prediction.tiling import predict_tiled, tile_plan
from petrilab.settings import PostprocessSettings
from petrilab.tasks.segmentation.measurements import image_summary, measure_objects, write_table
from petrilab.tasks.segmentation.metrics import (ObjectTally, PixelTally, match_objects, matched_pairs,
                                              pixel_scores)
from petrilab.tasks.segmentation.postprocess import (clean_mask, instance_labels, semantic_mask, split_by_distance,
                                             tune_threshold)


def at(result: dict, threshold: float) -> dict:
    return next(p for p in result["per_threshold"] if p["iou_threshold"] == threshold)


def squares(shape, boxes) -> np.ndarray:
    """A label image with box i (top, left, height, width) labelled i + 1."""
    labels = np.zeros(shape, dtype=np.int32)
    for i, (y, x, h, w) in enumerate(boxes):
        labels[y:y + h, x:x + w] = i + 1
    return labels


# ---------------------------------------------------------------- object matching

THREE = [(2, 2, 6, 6), (2, 20, 5, 8), (15, 5, 7, 7)]


def test_perfect_match_scores_one_at_every_threshold():
    truth = squares((30, 30), THREE)
    pred = np.where(truth > 0, truth * 10 + 3, 0)  # other label values, same objects
    result = match_objects(truth, pred)
    assert result["n_true"] == result["n_pred"] == 3
    assert len(result["per_threshold"]) == 10
    for p in result["per_threshold"]:
        assert (p["tp"], p["fp"], p["fn"]) == (3, 0, 0)
        assert p["precision"] == p["recall"] == p["f1"] == p["average_precision"] == 1.0
        assert p["mean_matched_iou"] == pytest.approx(1.0)
    assert result["summary"]["average_precision_50_95"] == 1.0


def test_one_missed_object():
    truth = squares((30, 30), THREE)
    pred = np.where(truth == 3, 0, truth)
    s = match_objects(truth, pred)["summary"]
    # tp 2, fp 0, fn 1: precision 1, recall 2/3, F1 = 4/5, AP = 2/3
    assert (s["tp"], s["fp"], s["fn"]) == (2, 0, 1)
    assert s["precision"] == 1.0
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(0.8)
    assert s["average_precision"] == pytest.approx(2 / 3)


def test_one_object_split_in_two():
    truth = squares((20, 30), [(2, 2, 4, 5), (10, 10, 5, 5)])  # A: 20 px, B: 25 px
    pred = squares((20, 30), [(2, 2, 4, 3), (2, 5, 4, 2), (10, 10, 5, 5)])  # A cut into 12 + 8 px
    result = match_objects(truth, pred)
    # IoU(A, left half) = 12/20 = 0.6: matched up to 0.6; the right half (8 px, IoU 0.4) is a false positive
    for t in (0.5, 0.55, 0.6):
        p = at(result, t)
        assert (p["tp"], p["fp"], p["fn"]) == (2, 1, 0)
        assert p["average_precision"] == pytest.approx(2 / 3)
        assert p["mean_matched_iou"] == pytest.approx((0.6 + 1.0) / 2)
    p = at(result, 0.65)
    assert (p["tp"], p["fp"], p["fn"]) == (1, 2, 1)
    assert p["average_precision"] == pytest.approx(1 / 4)
    # AP over 0.5:0.95 = (3 × 2/3 + 7 × 1/4) / 10
    assert result["summary"]["average_precision_50_95"] == pytest.approx((3 * 2 / 3 + 7 / 4) / 10)


def test_two_objects_merged_into_one():
    truth = squares((10, 20), [(2, 2, 4, 6), (2, 8, 4, 4)])  # A 24 px and B 16 px, side by side
    pred = squares((10, 20), [(2, 2, 4, 10)])  # one object of 40 px over both
    result = match_objects(truth, pred)
    # IoU(A) = 24/40 = 0.6, IoU(B) = 16/40 = 0.4: one match up to 0.6, B is missed
    p = at(result, 0.5)
    assert (p["tp"], p["fp"], p["fn"]) == (1, 0, 1)
    assert p["precision"] == 1.0 and p["recall"] == 0.5
    assert p["average_precision"] == pytest.approx(0.5)
    assert p["mean_matched_iou"] == pytest.approx(0.6)
    assert (at(result, 0.65)["tp"], at(result, 0.65)["fp"], at(result, 0.65)["fn"]) == (0, 1, 2)


@pytest.mark.parametrize("shift, matched", [(3, True), (4, False)])
def test_shifted_object_just_above_and_below_half(shift, matched):
    truth = squares((20, 30), [(5, 5, 10, 10)])
    pred = squares((20, 30), [(5, 5 + shift, 10, 10)])
    # IoU = 10 (10 - s) / 10 (10 + s): s = 3 → 7/13 = 0.538; s = 4 → 6/14 = 0.429
    s = match_objects(truth, pred)["summary"]
    if matched:
        assert (s["tp"], s["fp"], s["fn"]) == (1, 0, 0)
        assert s["mean_matched_iou"] == pytest.approx(7 / 13)
    else:
        assert (s["tp"], s["fp"], s["fn"]) == (0, 1, 1)
        assert s["average_precision"] == 0.0 and s["f1"] == 0.0


def test_matching_is_optimal_not_greedy():
    # one row of pixels: T1 = [0, 10), T2 = [10, 20); P1 = [4, 14), P2 = [0, 4)
    truth = np.zeros((1, 24), int)
    truth[0, 0:10], truth[0, 10:20] = 1, 2
    pred = np.zeros((1, 24), int)
    pred[0, 4:14], pred[0, 0:4] = 1, 2
    # IoU(T1, P1) = 6/14 = 0.43, IoU(T2, P1) = 4/16 = 0.25, IoU(T1, P2) = 4/10 = 0.4.
    # Greedy (best IoU first) takes T1-P1 and leaves one match; the optimum pairs T1-P2 and T2-P1.
    p = match_objects(truth, pred, thresholds=(0.25,))["summary"]
    assert (p["tp"], p["fp"], p["fn"]) == (2, 0, 0)
    assert p["mean_matched_iou"] == pytest.approx((0.25 + 0.4) / 2)
    assert sorted(matched_pairs(truth, pred, 0.25)) == [(1, 2, pytest.approx(0.4)), (2, 1, pytest.approx(0.25))]


def test_empty_images_and_no_predictions():
    empty = np.zeros((8, 8), int)
    s = match_objects(empty, empty)["summary"]
    assert (s["tp"], s["fp"], s["fn"]) == (0, 0, 0) and s["f1"] is None  # nothing to find, nothing found: no score
    assert s["precision"] is None and s["f1_50_95"] is None and s["average_precision_50_95"] is None
    s = match_objects(squares((8, 8), [(1, 1, 3, 3)]), empty)["summary"]
    assert (s["tp"], s["fp"], s["fn"]) == (0, 0, 1) and s["f1"] == 0.0 and s["precision"] == 0.0


def test_tally_sums_counts_over_images():
    truth_a = squares((30, 30), THREE)
    pred_a = np.where(truth_a == 3, 0, truth_a)  # tp 2, fn 1
    truth_b = squares((20, 30), [(5, 5, 10, 10)])
    pred_b = squares((20, 30), [(5, 9, 10, 10), (0, 25, 3, 3)])  # tp 0, fp 2, fn 1
    tally = ObjectTally()
    first = tally.add(truth_a, pred_a)
    tally.add(truth_b, pred_b)
    assert first["summary"]["tp"] == 2
    s = tally.scores()["summary"]
    assert (s["tp"], s["fp"], s["fn"]) == (2, 2, 2)
    assert s["average_precision"] == pytest.approx(2 / 6)
    assert tally.scores()["n_images"] == 2 and tally.scores()["n_true"] == 4


def test_thousands_of_objects_are_matched():
    rng = np.random.default_rng(0)
    truth = np.zeros((1024, 1024), np.int32)
    cells = [(y, x) for y in range(0, 1020, 12) for x in range(0, 1020, 12)]  # 7225 squares of 8×8
    for i, (y, x) in enumerate(cells):
        truth[y:y + 8, x:x + 8] = 60000 - i  # large, unordered label values
    pred = np.roll(truth, rng.integers(1, 3), axis=1)  # shifted by 1 or 2 pixels: IoU 0.78 or 0.6
    s = match_objects(truth, pred)["summary"]
    assert s["tp"] == len(cells) and s["fp"] == s["fn"] == 0


# ---------------------------------------------------------------- pixel scores


def test_pixel_scores_against_hand_counts():
    true = np.array([[0, 0, 1, 1],
                     [0, 0, 1, 1],
                     [0, 2, 2, 0]])
    pred = np.array([[0, 1, 1, 1],
                     [0, 0, 0, 1],
                     [0, 2, 1, 0]])
    result = pixel_scores(true, pred, ["background", "cell", "debris"])
    m = result["metrics"]
    cell, debris = m["per_class"]["cell"], m["per_class"]["debris"]
    # cell: tp 3, fn 1, fp 2 (one background, one debris) → IoU 3/6, Dice 6/9
    assert (cell["support"], cell["predicted"]) == (4, 5)
    assert cell["iou"] == pytest.approx(0.5)
    assert cell["dice"] == pytest.approx(6 / 9)
    assert cell["precision"] == pytest.approx(3 / 5) and cell["recall"] == pytest.approx(3 / 4)
    # debris: tp 1, fn 1, fp 0 → IoU 1/2, Dice 2/3
    assert debris["iou"] == pytest.approx(0.5) and debris["dice"] == pytest.approx(2 / 3)
    assert m["mean_iou"] == pytest.approx(0.5)
    assert m["mean_dice"] == pytest.approx((6 / 9 + 2 / 3) / 2)
    assert m["pixel_accuracy"] == pytest.approx(9 / 12)
    assert m["foreground_share"] == pytest.approx(6 / 12)
    assert result["confusion_matrix"][1] == [1, 3, 0] and result["confusion_matrix"][0] == [5, 1, 0]
    assert result["warnings"] == []


def test_rare_foreground_warns_that_accuracy_misleads():
    true = np.zeros((100, 100), int)
    true[40:52, 40:50] = 1  # 120 px: 1.2 % foreground
    pred = np.zeros_like(true)  # a model that found nothing
    result = pixel_scores(true, pred, ["background", "bacteria"])
    m = result["metrics"]
    assert m["pixel_accuracy"] == pytest.approx(0.988)
    assert m["per_class"]["bacteria"]["iou"] == 0.0
    (warning,) = result["warnings"]
    assert "99 %" in warning and "0 % of the 'bacteria' pixels" in warning and "IoU" in warning


def test_pixel_tally_sums_images_and_skips_absent_classes():
    tally = PixelTally(["background", "a", "b"])
    tally.add(np.array([[0, 1]]), np.array([[0, 1]]))
    tally.add(np.array([[1, 1]]), np.array([[0, 1]]))
    m = tally.scores()["metrics"]
    assert m["per_class"]["a"]["iou"] == pytest.approx(2 / 3)
    assert m["per_class"]["b"]["iou"] is None  # neither present nor predicted: not scored
    assert m["mean_iou"] == pytest.approx(2 / 3)
    assert any("no 'b'" in w for w in tally.scores()["warnings"])
    with pytest.raises(ValueError):
        tally.add(np.array([[3]]), np.array([[0]]))


# ---------------------------------------------------------------- tiled prediction


@pytest.fixture(scope="module")
def nets():
    """Small fully convolutional Keras nets (random weights) that pool twice: sizes must be multiples of 4."""
    import keras

    keras.utils.set_random_seed(3)
    made = {}

    def make(channels: int, outputs: int = 3):
        if (channels, outputs) not in made:
            inputs = keras.Input((None, None, channels))
            x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
            skip = x
            x = keras.layers.MaxPooling2D()(x)
            x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
            x = keras.layers.MaxPooling2D()(x)
            x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
            x = keras.layers.UpSampling2D(4)(x)
            x = keras.layers.Concatenate()([x, skip])
            x = keras.layers.Conv2D(outputs, 3, padding="same", activation="softmax")(x)
            model = keras.Model(inputs, x)
            made[(channels, outputs)] = lambda batch: keras.ops.convert_to_numpy(model(batch, training=False))
        return made[(channels, outputs)]

    return make


def untiled(predict, image: np.ndarray, multiple: int) -> np.ndarray:
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, -h % multiple), (0, -w % multiple), (0, 0)), mode="reflect")
    return predict(padded[np.newaxis])[0, :h, :w]


@pytest.mark.slow  # Keras nets (loads TensorFlow)
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_tiled_prediction_equals_untiled_away_from_borders(nets, channels):
    predict = nets(channels)
    image = np.random.default_rng(channels).normal(size=(150, 203, channels)).astype(np.float32)
    tiled = predict_tiled(predict, image, (96, 96), 48, 3, batch_size=4, multiple=4)
    whole = untiled(predict, image, 4)
    assert tiled.shape == (150, 203, 3) and tiled.dtype == np.float32
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(tiled[inner] - whole[inner]).max() < 1e-4
    assert np.allclose(tiled.sum(axis=2), 1.0, atol=1e-4)  # blended softmax stays a distribution


@pytest.mark.slow  # Keras nets (loads TensorFlow)
def test_tile_edges_blend_without_seams(nets):
    predict = nets(1)
    image = np.random.default_rng(5).normal(size=(128, 128, 1)).astype(np.float32)
    no_overlap = predict_tiled(predict, image, (64, 64), 0, 3, multiple=4)
    blended = predict_tiled(predict, image, (64, 64), 48, 3, multiple=4)
    whole = untiled(predict, image, 4)
    seam = (slice(4, -4), slice(60, 68))  # columns on both sides of the tile edge without overlap
    assert np.abs(no_overlap[seam] - whole[seam]).max() > 1e-3  # without overlap the edge shows
    assert np.abs(blended[seam] - whole[seam]).max() < 1e-4


@pytest.mark.slow  # Keras nets (loads TensorFlow)
@pytest.mark.parametrize("shape", [(20, 27), (1, 40), (64, 9), (64, 64)])
def test_images_smaller_than_a_tile_or_of_odd_size(nets, shape):
    predict = nets(2, outputs=1 + 1)
    image = np.random.default_rng(1).random((*shape, 2)).astype(np.float32)
    out = predict_tiled(predict, image, (64, 64), 16, 2, multiple=16)
    assert out.shape == (*shape, 2) and np.isfinite(out).all()
    if min(shape) > 1:
        assert np.allclose(out, untiled(predict, image, 16), atol=1e-5)  # one tile, same mirroring


def test_tile_plan_keeps_the_network_grid():
    tile, overlap, rows, cols = tile_plan((1000, 70), (256, 250), 40, multiple=16)
    assert tile[1] == 80 and all(t % 16 == 0 for t in tile)
    assert overlap[0] == 48  # 40 rounded up to the 16-pixel grid
    assert all(y % 16 == 0 for y in rows) and rows[-1] + tile[0] >= 1000 and cols == [0]
    # the fewest 256-pixel tiles that cover 1000 rows (five), each only as large as needed: 240
    assert tile[0] == 240 and len(rows) == 5 and rows[-1] + tile[0] - 1000 < 16 + 48


@pytest.mark.parametrize("length", [600, 1000, 1030, 2048, 4096])
def test_tiles_are_spread_evenly_and_waste_little(length):
    """The overlap's pixels are predicted twice, the part past the image's end for nothing: with
    1024-pixel tiles overlapping by 64, at most 1.2 times the image's pixels (fixed 1024-pixel tiles:
    up to 2.25 times for a 2048-pixel image)."""
    tile, overlap, rows, cols = tile_plan((length, length), (1024, 1024), 64, multiple=16)
    assert tile[0] <= 1024 and overlap == (64, 64) and rows == cols
    assert rows[-1] + tile[0] >= length
    assert (len(rows) * tile[0]) ** 2 / length ** 2 <= 1.2, (tile, rows)


@pytest.mark.slow  # Keras nets (loads TensorFlow)
def test_tiled_prediction_into_a_memmap(nets, tmp_path):
    predict = nets(1)
    image = np.random.default_rng(2).normal(size=(100, 90, 1)).astype(np.float32)
    out = np.lib.format.open_memmap(tmp_path / "probs.npy", mode="w+", dtype=np.float32, shape=(100, 90, 3))
    result = predict_tiled(predict, image, (48, 48), 16, 3, multiple=4, out=out)
    assert result is out
    assert np.allclose(out, predict_tiled(predict, image, (48, 48), 16, 3, multiple=4))


# ---------------------------------------------------------------- post-processing


def two_touching_discs(shape=(64, 80)):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    labels = np.zeros(shape, np.int32)
    labels[(yy - 32) ** 2 + (xx - 26) ** 2 <= 12 ** 2] = 1
    labels[((yy - 32) ** 2 + (xx - 47) ** 2 <= 12 ** 2) & (labels == 0)] = 2  # overlapping: they touch
    return labels


def test_touching_discs_become_two_objects_from_interior_and_boundary():
    from skimage.segmentation import find_boundaries

    truth = two_touching_discs()
    edge = find_boundaries(truth, mode="inner")
    rng = np.random.default_rng(0)
    interior = np.where((truth > 0) & ~edge, 0.85, 0.05) + rng.uniform(0, 0.05, truth.shape)
    boundary = np.where(edge, 0.8, 0.05)
    probs = np.stack([1 - interior - boundary, interior, boundary], axis=2).clip(0, 1)
    post = PostprocessSettings(threshold=0.5)
    labels = instance_labels(probs, post)
    assert labels.dtype == np.int32 and labels.max() == 2
    assert match_objects(truth, labels)["summary"]["f1"] == 1.0
    post.split_touching = False
    assert instance_labels(probs, post).max() == 1


def test_interiors_joined_by_a_neck_are_split_and_specks_without_interior_dropped():
    truth = two_touching_discs()
    interior = np.where(truth > 0, 0.9, 0.02)  # an unsure network: one interior over both discs
    boundary = np.zeros_like(interior)
    boundary[5:8, 70:73] = 0.9  # a speck of boundary with no interior: not an object
    probs = np.stack([1 - interior - boundary, interior, boundary], axis=2)
    labels = instance_labels(probs, PostprocessSettings(threshold=0.5))
    assert labels.max() == 2 and labels[6, 71] == 0
    assert match_objects(truth, labels)["summary"]["f1"] == 1.0


def test_touching_discs_split_from_a_foreground_map():
    truth = two_touching_discs()
    probs = np.where(truth > 0, 0.9, 0.1)[:, :, np.newaxis]
    labels = instance_labels(probs, PostprocessSettings(threshold=0.5))
    assert labels.max() == 2
    s = match_objects(truth, labels)["summary"]
    assert s["f1"] == 1.0 and s["mean_matched_iou"] > 0.9
    assert split_by_distance(np.zeros((5, 5), bool)).max() == 0


def test_instance_clean_up_follows_the_settings():
    truth = squares((40, 40), [(10, 10, 10, 10), (0, 30, 6, 6), (30, 5, 2, 2)])
    truth[14:16, 14:16] = 0  # a hole inside the first square
    probs = np.where(truth > 0, 0.95, 0.02)[:, :, np.newaxis]
    post = PostprocessSettings(threshold=0.5, min_size=10, clear_border=True, fill_holes=True)
    labels = instance_labels(probs, post)
    # the border square and the 4-pixel one are gone; the hole is filled
    assert labels.max() == 1 and (labels == 1).sum() == 100
    post = PostprocessSettings(threshold=0.5, max_size=50, fill_holes=False, split_touching=False)
    assert instance_labels(probs, post).max() == 2  # the 96-pixel square is too large


def test_holes_are_filled_by_the_object_around_them_only():
    from petrilab.tasks.segmentation.postprocess import finish_labels

    labels = np.zeros((12, 20), np.int32)
    labels[1:6, 1:6] = 4
    labels[3, 3] = 0  # a hole in object 4
    labels[1:10, 8:11] = 7
    labels[1:10, 11:14] = 9
    labels[4:6, 10:12] = 0  # a hole between objects 7 and 9: nobody's
    filled = finish_labels(labels, PostprocessSettings(fill_holes=True))
    assert filled[3, 3] == filled[1, 1] and (filled[4:6, 10:12] == 0).all()
    assert filled.max() == 3  # renumbered 1..3


def test_semantic_mask_and_its_clean_up():
    p = np.array([[0.2, 0.6], [0.8, 0.4]], np.float32)[:, :, np.newaxis]
    assert semantic_mask(p, 0.5).tolist() == [[0, 1], [1, 0]]
    assert semantic_mask(p, 0.7).tolist() == [[0, 0], [1, 0]]
    two = np.concatenate([1 - p, p], axis=2)
    assert semantic_mask(two, 0.3).tolist() == [[0, 1], [1, 1]]
    three = np.array([[[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]], np.float32)
    assert semantic_mask(three).tolist() == [[0, 2]]

    mask = np.zeros((20, 20), int)
    mask[5:12, 5:12] = 1
    mask[8, 8] = 0  # a hole
    mask[15:17, 15:17] = 2  # a small piece of class 2
    mask[0:3, 17:20] = 1  # touching the border
    cleaned = clean_mask(mask, PostprocessSettings(fill_holes=True, min_size=5, clear_border=True))
    assert cleaned[8, 8] == 1 and (cleaned == 1).sum() == 49
    assert (cleaned == 2).sum() == 0 and cleaned[0:3, 17:20].sum() == 0
    assert mask[8, 8] == 0  # the input is left as it was


def test_tune_threshold_picks_the_best_score():
    from skimage.segmentation import find_boundaries

    truth = two_touching_discs()
    edge = find_boundaries(truth, mode="inner")
    interior = np.where((truth > 0) & ~edge, 0.35, 0.0)  # a timid network: interiors at 0.35 only
    boundary = np.where(truth > 0, 0.95, 0.0) - interior
    probs = np.stack([1 - interior - boundary, interior, boundary], axis=2)

    def score(t):
        return match_objects(truth, instance_labels(probs, PostprocessSettings(threshold=t)))["summary"]["f1"]

    best = tune_threshold(score, [0.2, 0.3, 0.4, 0.5])
    assert best == 0.3 and score(0.3) == 1.0 and score(0.5) < 1.0  # 0.4 and 0.5 find no seeds
    assert tune_threshold(lambda t: 1.0, [0.1, 0.45, 0.9]) == 0.45  # ties: nearest 0.5


# ---------------------------------------------------------------- measurements


def test_measurements_of_simple_shapes():
    labels = np.zeros((10, 12), np.int32)
    labels[2:5, 3:7] = 1  # 3 × 4 rectangle
    labels[6:10, 8:12] = 7  # 4 × 4 square on the border
    image = np.arange(120, dtype=np.uint16).reshape(10, 12)  # pixel value = 12 y + x
    rows = measure_objects(labels, np.stack([image, 2 * image], axis=2), pixel_size=0.5)
    rect, square = rows
    assert rect["label"] == 1 and square["label"] == 7
    assert rect["area_px"] == 12 and (rect["centroid_y"], rect["centroid_x"]) == (3.0, 4.5)
    assert (rect["bbox_top"], rect["bbox_left"], rect["bbox_height"], rect["bbox_width"]) == (2, 3, 3, 4)
    assert rect["perimeter_px"] == pytest.approx(10.0)  # through the edge pixels' centres: 2 × (2 + 3)
    assert rect["mean_intensity_ch1"] == pytest.approx(12 * 3 + 4.5)
    assert rect["max_intensity_ch1"] == 12 * 4 + 6 and rect["max_intensity_ch2"] == 2 * (12 * 4 + 6)
    assert rect["area_um2"] == pytest.approx(3.0) and rect["perimeter_um"] == pytest.approx(5.0)
    assert square["eccentricity"] == pytest.approx(0.0) and square["solidity"] == 1.0
    assert rect["eccentricity"] == pytest.approx(np.sqrt(1 - (2 / 3) / (5 / 4)))  # variances of 3 and 4 rows
    ell = np.zeros((8, 8), np.int32)
    ell[2:6, 2:4] = 1
    ell[4:6, 4:6] = 1  # an L of 12 pixels; its convex hull also covers the pixel (3, 4): 12/13
    assert measure_objects(ell)[0]["solidity"] == pytest.approx(12 / 13)
    assert "mean_intensity_ch1" not in measure_objects(ell)[0]

    summary = image_summary(rows, image_area=120)
    assert summary["count"] == 2 and summary["mean_area_px"] == 14.0 and summary["total_area_px"] == 28
    assert summary["area_fraction"] == pytest.approx(28 / 120) and summary["mean_area_um2"] == pytest.approx(3.5)
    assert image_summary([])["count"] == 0 and measure_objects(np.zeros((4, 4), int)) == []


def test_measurement_table_opens_as_numbers(tmp_path):
    rows = measure_objects(squares((20, 20), [(1, 1, 5, 3)]), np.full((20, 20), 0.123456, np.float32), 0.1)
    rows[0]["file"] = "noyaux_été.tif"
    assert not write_table(tmp_path / "plain.csv", rows).read_bytes().startswith(b"\xef\xbb\xbf")
    path = write_table(tmp_path / "objects.csv", rows, excel=True)  # predict --excel
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # Excel's UTF-8 mark, Windows line ends
    with open(path, encoding="utf-8-sig", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["file"] == "noyaux_été.tif"
    assert row["area_px"] == "15" and row["mean_intensity_ch1"] == "0.1235"
    assert float(row["area_um2"]) == pytest.approx(0.15)
    assert all("," not in v for v in row.values())


# ---------------------------------------------------------------- overlays


def test_outline_overlay(tmp_path):
    image = (np.random.default_rng(0).random((40, 50)) * 4000).astype(np.uint16)
    labels = squares((40, 50), [(5, 5, 10, 10), (5, 15, 10, 10)])  # two touching squares
    rgb = outline_overlay(image, labels)
    assert rgb.shape == (40, 50, 3) and rgb.dtype == np.uint8
    assert (rgb[30, 40] == rgb[30, 40, 0]).all()  # background stays grey
    left, right = rgb[10, 14], rgb[10, 15]  # the two objects' shared edge, each in its own colour
    assert not (left == left[0]).all() and not (left == right).all()
    assert (rgb[10, 10] == rgb[10, 10, 0]).all()  # inside an object: the image
    mask = outline_overlay(np.random.default_rng(1).random((40, 50, 2)), labels > 0)
    assert tuple(mask[5, 5]) == (255, 230, 0)
    both = comparison_overlay(image, labels, np.roll(labels, 3, axis=1))
    assert both.shape == (40, 50, 3)
    path = save_png(tmp_path / "overlay.png", rgb)
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(path)), rgb)


def test_weights_added_on_the_frame_only_equal_the_full_product():
    """predict_tiled works a tile's weights out only where they ramp: the same as the whole product."""
    from petrilab.prediction.tiling import _add_weighted, _axis_window

    rng = np.random.default_rng(7)
    cases = [((0, 96, 300), (96 - 32, 96, 300), 32), ((200, 100, 300), (0, 100, 100), 48),
             ((0, 40, 40), (0, 40, 40), 16), ((64, 80, 500), (64, 80, 500), 1)]
    for (y, th, h), (x, tw, w), overlap in cases:
        row, col = _axis_window(y, th, h, overlap), _axis_window(x, tw, w, overlap)
        pred = rng.random((th, tw, 3), dtype=np.float32)
        target = np.full((th, tw, 3), 0.25, np.float32)
        _add_weighted(target, pred, row, col)
        expected = 0.25 + pred * np.outer(row, col).astype(np.float32)[:, :, np.newaxis]
        np.testing.assert_allclose(target, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("overlap, multiple", [(0, 4), (1, 1), (2, 4), (16, 4), (48, 4), (3, 1)])
def test_tiles_of_the_identity_give_back_the_image(overlap, multiple):
    """Every pixel's weights sum to one; where they do not (tiles overlapping by one pixel, which have no
    ramp) the sum divides."""
    image = np.random.default_rng(overlap).random((150, 203, 2), dtype=np.float32)
    out = predict_tiled(lambda tiles: tiles, image, (64, 64), overlap, 2, batch_size=3, multiple=multiple)
    np.testing.assert_allclose(out, image, atol=1e-6)


def test_prediction_tiles_follow_the_memory_and_the_patch(monkeypatch):
    """The largest tile memory allows, an overlap of a quarter of the patch (at least 64): 4096 pixels
    take five tiles a side, 1.13 times the pixels."""
    from petrilab.tasks.segmentation import recipe
    from petrilab.training import memory

    monkeypatch.setattr(memory, "available_memory", lambda *a, **k: ("RAM", 16 << 30))
    (side, _), overlap = recipe.prediction_tiles([128, 128], 8)
    assert overlap == 64 and side == recipe.PREDICT_TILE_MAX
    assert recipe.prediction_tiles([512, 384], 8)[1] == 96
    tile, _, rows, cols = tile_plan((4096, 4096), (side, side), overlap, multiple=8)
    assert len(rows) == len(cols) == 5 and (5 * tile[0] / 4096) ** 2 <= 1.14
    monkeypatch.setattr(memory, "available_memory", lambda *a, **k: ("RAM", 1 << 30))
    assert recipe.prediction_tiles([128, 128], 8)[0][0] == recipe.PREDICT_TILE_SMALL
