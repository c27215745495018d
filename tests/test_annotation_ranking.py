"""Which images next (annotation/ranking.py) and the corrections a run records (annotation/corrections.py).

The ranking is checked on made-up probabilities and images whose right order is known; the record in real
tiny trainings on an annotation folder, the second one fine-tuned from the first (`model.start_from`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.annotation import corrections, ranking
from petrilab.annotation.folder import AnnotationFolder
from petrilab.annotation.model_proposal import ModelProposer, useful_order
from petrilab.errors import UserError

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "instance"


def test_uncertainty_is_zero_when_sure_and_one_at_even_odds():
    sure = np.zeros((8, 8, 3))
    sure[..., 1] = 1
    assert ranking.uncertainty(sure) == pytest.approx(0, abs=1e-9)
    assert ranking.uncertainty(np.full((8, 8, 3), 1 / 3)) == pytest.approx(1)
    assert ranking.uncertainty(np.full((8, 8), 0.5)) == pytest.approx(1)  # one channel: the foreground's
    half = np.full((8, 8), 0.99)
    half[:4] = 0.5  # unsure on half the image: between the two
    assert ranking.uncertainty(np.full((8, 8), 0.99)) < ranking.uncertainty(half) < 1
    with pytest.raises(ValueError):
        ranking.uncertainty(np.zeros((8, 8, 1)))


def test_the_most_unsure_image_comes_first_and_ties_go_by_name():
    feats = np.zeros((3, 4))
    assert ranking.rank(["c", "b", "a"], [0.2, 0.9, 0.2], feats, []) == ["b", "a", "c"]
    assert ranking.rank(["c", "b", "a"], [0.2, 0.9, 0.2], feats, []) == ["b", "a", "c"]  # the same again


def test_among_equally_unsure_images_the_one_unlike_the_labelled_comes_first():
    rng = np.random.default_rng(0)
    labelled = rng.normal(0.3, 0.05, (64, 64))
    alike = labelled + rng.normal(0, 0.01, labelled.shape)
    unlike = rng.normal(0.8, 0.2, (64, 64))
    lo, hi = ranking.intensity_range([labelled, alike, unlike])
    feats = [ranking.features(im, lo, hi) for im in (alike, unlike)]
    known = [ranking.features(labelled, lo, hi)]
    assert ranking.choose(["alike", "unlike"], [0.5, 0.5], feats, known, 1) == ["unlike"]
    assert ranking.choose(["alike", "unlike"], [0.5, 0.5], feats, known, 1, weight=0) == ["alike"]  # by name


def test_a_batch_does_not_hold_two_copies_of_one_unsure_image():
    rng = np.random.default_rng(1)
    a = rng.normal(0.2, 0.05, (32, 32))
    b = rng.normal(0.7, 0.1, (32, 32))
    lo, hi = ranking.intensity_range([a, b])
    feats = [ranking.features(x, lo, hi) for x in (a, a.copy(), b)]
    # the two copies are the most unsure; the second pick is the other image, not the copy
    assert ranking.choose(["a1", "a2", "b"], [0.9, 0.9, 0.7], feats, [], 2, weight=1.0) == ["a1", "b"]
    assert ranking.choose(["a1", "a2", "b"], [0.9, 0.9, 0.7], feats, [], 3, weight=1.0) == ["a1", "b", "a2"]


def test_the_features_are_shares_of_pixels():
    f = ranking.features(np.linspace(0, 1, 100).reshape(10, 10), 0.0, 1.0)
    assert f.shape == (2 * ranking.HISTOGRAM_BINS,)
    assert f[:ranking.HISTOGRAM_BINS].sum() == pytest.approx(1) and f[ranking.HISTOGRAM_BINS:].sum() == pytest.approx(1)
    assert ranking.features(np.zeros((4, 4, 3)), 0, 1).shape == f.shape  # colour averaged


def _annotations(tmp_path, n_images: int):
    """An instance annotation folder over the demo nuclei; the first `n_images` labelled from their masks."""
    images = tmp_path / "nuclei"
    shutil.copytree(DEMO / "images", images)
    folder = AnnotationFolder.create(tmp_path / "labels", images, "instance")
    for entry in folder.entries[:n_images]:
        folder.save_mask(entry, tifffile.imread(DEMO / "masks" / f"{entry.stem}.tif"))
    return images, folder


def test_the_record_says_what_is_new_since_the_run_started_from(tmp_path):
    _, folder = _annotations(tmp_path, 2)
    assert corrections.record(tmp_path / "nuclei") is None  # not an annotation folder: nothing recorded
    (tmp_path / "run1").mkdir()
    first = corrections.write(tmp_path / "run1", folder.root)
    assert json.loads((tmp_path / "run1" / runs.CORRECTIONS).read_text()) == first
    assert first["n_labelled"] == 2 and first["n_new"] == 2 and first["start_from"] is None
    assert [i["name"] for i in first["images"]] == [e.name for e in folder.entries[:2]]
    assert all(i["saved"] and i["status"] == "saved" and len(i["sha256"]) == 64 for i in first["images"])
    third = folder.entries[2]
    folder.save_mask(third, tifffile.imread(DEMO / "masks" / f"{third.stem}.tif"))
    second = corrections.record(folder.root, tmp_path / "run1")
    assert second["n_labelled"] == 3 and [i["name"] for i in second["images"] if i["new"]] == [third.name]


@pytest.mark.slow
def test_a_retraining_from_a_run_records_the_corrections_made_since(tmp_path):
    from petrilab.training.trainer import train

    images, folder = _annotations(tmp_path, 4)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in images.iterdir()}

    def settings(start_from=""):
        s = settings_io.defaults_for("instance")
        s.data.folder, s.data.patch_size = str(folder.root), [64, 64]
        s.model.filters, s.model.start_from = [4, 8], start_from
        s.training.epochs, s.training.batch_size, s.split.test_fraction = 1, 2, 0.0
        s.training.learning_rate, s.augmentation.geometric = 0.001, "no"  # helpers.FIXED_CHOICES: not tested here
        s.postprocess.tune_threshold = False  # the tuned threshold and minimum size have their own tests
        return s

    first = train(settings(), run_dir=tmp_path / "first", echo=False)
    record = json.loads((first / runs.CORRECTIONS).read_text())
    assert record["n_labelled"] == record["n_new"] == 4 and record["start_from"] is None
    assert record["annotation_folder"] == str(folder.root)

    # the run as the annotator's helper: its prediction as the mask to correct, and which images next
    proposer = ModelProposer(first, folder)
    image = folder.read_image(folder.entries[4])
    proposed = proposer.propose(image)
    assert proposed.shape == image.shape[:2] and proposed.dtype.kind in "iu"
    order = useful_order(proposer, folder)
    assert sorted(name for name, _ in order) == sorted(e.name for e in folder.entries[4:])
    assert all(0 <= u <= 1 for _, u in order) and order == useful_order(proposer, folder)  # deterministic
    other = AnnotationFolder.create(tmp_path / "classes", images, "semantic", ["background", "nucleus"])
    with pytest.raises(UserError, match="trained for 'instance'") as refused:
        ModelProposer(first, other)
    assert refused.value.file == str(first) and refused.value.fix

    corrected = folder.entries[4]  # the user corrects one more image and retrains from the first run
    folder.save_mask(corrected, tifffile.imread(DEMO / "masks" / f"{corrected.stem}.tif"))
    second = train(settings(str(first)), run_dir=tmp_path / "second", echo=False)
    record = json.loads((second / runs.CORRECTIONS).read_text())
    assert record["start_from"] == str(first) and record["n_labelled"] == 5
    assert [(i["name"], i["new"]) for i in record["images"] if i["new"]] == [(corrected.name, True)]
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in images.iterdir()} == before


def test_uncertainty_asks_about_each_class_not_how_much_of_the_image_it_covers():
    """Two images with the same doubt along their objects' outlines, one crowded and one with a single
    object: the plain mean over pixels called the crowded one twice as unsure; per class they are alike,
    and an image whose one object is in doubt throughout comes first."""
    def image(n_objects: int, doubt_inside: float) -> np.ndarray:
        p = np.full((64, 64), 0.01)  # sure background
        for k in range(n_objects):
            r, c = 4 + 15 * (k // 4), 4 + 15 * (k % 4)
            p[r:r + 10, c:c + 10] = 0.55  # the outline: near even odds
            p[r + 2:r + 8, c + 2:c + 8] = doubt_inside
        return p

    crowded, single, doubtful = image(16, 0.99), image(1, 0.99), image(1, 0.6)
    assert ranking.uncertainty(crowded) == pytest.approx(ranking.uncertainty(single), rel=1e-6)
    assert ranking.uncertainty(doubtful) > ranking.uncertainty(crowded)
    feats = np.zeros((3, 4))
    assert ranking.rank(["crowded", "doubtful", "single"], [ranking.uncertainty(x) for x in (crowded, doubtful, single)],
                        feats, [])[0] == "doubtful"


def _group(rng, centre, n, spread=0.01):
    return [centre + rng.normal(0, spread, centre.shape) for _ in range(n)]


def test_coverage_prefers_a_representative_of_a_big_unlabelled_group_over_an_outlier():
    """Equally unsure: a member of a group of ten images unlike the labelled one comes before a lone
    image even farther from it (it stands for ten images, the outlier for itself)."""
    rng = np.random.default_rng(2)
    labelled = np.zeros(8)
    group = _group(rng, np.full(8, 1.0), 10)
    outlier = np.full(8, 3.0)
    names = [f"g{i}" for i in range(10)] + ["outlier"]
    order = ranking.rank(names, [0.5] * 11, group + [outlier], [labelled])
    assert order[0].startswith("g") and order.index("outlier") == 1  # then the group is covered: the outlier
    assert ranking.rank(names, [0.5] * 11, group + [outlier], [labelled], weight=0)[0] == "g0"  # by name


def test_with_nothing_labelled_the_first_pick_is_the_most_typical_image():
    rng = np.random.default_rng(3)
    big, small = _group(rng, np.zeros(6), 8), _group(rng, np.ones(6), 3)
    names = [f"big{i}" for i in range(8)] + [f"small{i}" for i in range(3)]
    first = ranking.choose(names, [0.5] * 11, big + small, [], 2)
    assert first[0].startswith("big") and first[1].startswith("small")  # the big group, then the other one


def test_the_weight_trades_coverage_against_uncertainty_and_the_order_is_deterministic():
    """Group a is like the labelled images and the model is unsure of it; group b is like nothing labelled
    and the model is fairly sure of it. Coverage at twice the uncertainty puts b first, at half a."""
    rng = np.random.default_rng(4)
    feats = _group(rng, np.zeros(6), 6) + _group(rng, np.ones(6), 6)
    labelled = _group(rng, np.zeros(6), 6)
    names = [f"a{i}" for i in range(6)] + [f"b{i}" for i in range(6)]
    unsure = np.r_[rng.uniform(0.8, 0.9, 6), rng.uniform(0.1, 0.2, 6)]
    order = ranking.rank(names, unsure, feats, labelled)
    assert order[0].startswith("b") and sorted(order) == sorted(names)
    assert order == ranking.rank(list(names), unsure.copy(), list(feats), list(labelled))  # the same again
    assert ranking.rank(names, unsure, feats, labelled, weight=0.5)[0].startswith("a")


def test_many_images_rank_and_a_batch_is_the_start_of_the_order():
    rng = np.random.default_rng(5)
    n = 3 * ranking.REFERENCES  # more than the coverage counts over
    feats = rng.random((n, 8))
    names = [f"im{i:05d}" for i in range(n)]
    unsure = rng.random(n)
    order = ranking.rank(names, unsure, feats, feats[:10])
    assert sorted(order) == names
    assert ranking.choose(names, unsure, feats, feats[:10], 5) == order[:5]


def test_coverage_counts_the_images_the_model_is_unsure_of():
    """Two groups as big and as far from the labelled image: the model is unsure of all of group a, sure
    of group b but for one image, its most unsure of all. Standing for group a is worth more."""
    rng = np.random.default_rng(6)
    feats = _group(rng, np.zeros(6), 6) + _group(rng, np.ones(6), 6)
    names = [f"a{i}" for i in range(6)] + [f"b{i}" for i in range(6)]
    unsure = [0.6] * 6 + [1.0] + [0.05] * 5
    assert ranking.choose(names, unsure, feats, [np.full(6, 0.5)], 1)[0].startswith("a")
    assert ranking.choose(names, unsure, feats, [np.full(6, 0.5)], 1, weight=0) == ["b0"]
