"""Instance segmentation tunes the minimum object size on the validation images, with the threshold.

When postprocess.min_size is left at 0, the sizes 0 and fractions of the validation objects' median area
are tried with every threshold; the pair with the best object F1 is saved in the run's settings (and told
in the `tuned` event), and prediction then drops objects under that size.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.cli import main
from petrilab.events import read_all
from petrilab.tasks.segmentation.masks import discover_segmentation
from petrilab.tasks.segmentation.recipe import InstanceRecipe, SemanticRecipe


def write_pair(folder: Path, name: str, labels: np.ndarray) -> None:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    Image.fromarray((labels > 0).astype(np.uint8) * 200).save(folder / "images" / f"{name}.png")
    tifffile.imwrite(folder / "masks" / f"{name}.tif", labels.astype(np.uint16))


def squares(seed: int) -> np.ndarray:
    """Four 10 × 10 objects (median area 100) apart from each other."""
    labels = np.zeros((64, 64), np.int32)
    for k, (y, x) in enumerate([(5, 5), (5, 40), (40, 5), (40, 40)], start=1):
        labels[y + seed:y + seed + 10, x:x + 10] = k
    return labels


class SpeckledNetwork(InstanceRecipe):
    """The instance recipe with a stand-in for the network: perfect probabilities for the true objects,
    plus 5 × 5 specks of confident interior in the background (what an undertrained network finds)."""

    def probabilities(self, trained, image):
        objects = image[:, :, 0] > 0
        probs = np.zeros((*objects.shape, 3), np.float32)
        probs[..., 0] = 1.0
        edge = objects & ~np.pad(objects, 1)[2:, 1:-1] | objects & ~np.pad(objects, 1)[:-2, 1:-1] \
            | objects & ~np.pad(objects, 1)[1:-1, 2:] | objects & ~np.pad(objects, 1)[1:-1, :-2]
        inside = objects & ~edge
        probs[inside] = (0.0, 1.0, 0.0)
        probs[edge] = (0.0, 0.0, 1.0)
        for y, x in [(24, 24), (28, 55), (55, 27)]:
            probs[y:y + 5, x:x + 5] = (0.0, 1.0, 0.0)
        return probs


class Trained:
    def __init__(self, settings):
        self.settings = settings
        self.classes = list(settings.data.classes)


def validation_samples(tmp_path):
    folder = tmp_path / "validation"
    for seed in range(3):
        write_pair(folder, f"cells_{seed}", squares(seed))
    return discover_segmentation("instance", folder).samples


def instance_settings(**post):
    s = settings_io.defaults_for("instance")
    s.data.classes = ["background", "object"]
    for key, value in post.items():
        setattr(s.postprocess, key, value)
    return s


def test_specks_are_removed_by_a_tuned_minimum_size(tmp_path):
    samples = validation_samples(tmp_path)
    settings = instance_settings()
    tuned = SpeckledNetwork().after_training(Trained(settings), samples)
    assert tuned["min_size_tried"].keys() == {"0", "5", "10", "20", "30", "50"}  # fractions of the median 100
    assert tuned["min_size_tried"]["0"] < 1.0  # the specks are false objects
    assert tuned["min_size_tried"]["20"] == tuned["min_size_tried"]["0"]  # 25-pixel specks are kept below 30
    assert tuned["min_size"] == 30 and tuned["min_size_tried"]["30"] == 1.0  # the smallest size that removes them
    assert settings.postprocess.min_size == 30  # kept in the settings the trainer saves
    assert tuned["values"] == {"postprocess.threshold": settings.postprocess.threshold, "postprocess.min_size": 30}
    assert tuned["key"] == "postprocess.threshold" and tuned["score"] == 1.0


def test_a_minimum_size_the_user_set_is_kept(tmp_path):
    samples = validation_samples(tmp_path)
    settings = instance_settings(min_size=3)
    tuned = SpeckledNetwork().after_training(Trained(settings), samples)
    assert settings.postprocess.min_size == 3 and "min_size" not in tuned


def test_no_tuning_when_tuning_is_off(tmp_path):
    settings = instance_settings(tune_threshold=False)
    assert SpeckledNetwork().after_training(Trained(settings), validation_samples(tmp_path)) == {}
    assert settings.postprocess.min_size == 0


def test_semantic_segmentation_tunes_only_its_threshold():
    post = settings_io.defaults_for("semantic").postprocess
    assert SemanticRecipe().min_size_candidates(post, []) == [0]


@pytest.mark.slow
def test_a_real_instance_training_records_and_uses_the_tuned_minimum_size(finished_run, tmp_path):
    instance = finished_run("instance")  # the demo nuclei, trained once per version of the app
    run, data = instance.run, instance.data
    tuned = next(e for e in read_all(run / runs.EVENTS) if e["event"] == "tuned")
    assert "min_size" in tuned and set(tuned["min_size_tried"]) >= {"0"} and len(tuned["min_size_tried"]) > 1
    saved = settings_io.load(run / runs.SETTINGS)
    assert saved.postprocess.min_size == tuned["min_size"] == tuned["values"]["postprocess.min_size"]
    assert json.loads((run / runs.EVALUATION).read_text())["min_size"] == tuned["min_size"]
    # what was tuned is learnt, apart from what the user asked: training again from this run tunes it again
    asked = settings_io.users_choices(saved).postprocess
    assert (asked.min_size, asked.threshold, saved.postprocess.threshold) == (0, 0.5, tuned["value"])

    # prediction uses the saved size: with it forced to a size above every object, nothing is left
    out = tmp_path / "out"
    assert main(["predict", str(run), str(data / "images"), str(out)]) == 0
    with open(out / "objects.csv", encoding="utf-8-sig") as f:
        areas = [float(r["area_px"]) for r in csv.DictReader(f)]
    assert all(a >= saved.postprocess.min_size for a in areas)
    saved.postprocess.min_size = 10 ** 6  # pixels: more than any demo image holds
    settings_io.save(saved, run / runs.SETTINGS)
    assert main(["predict", str(run), str(data / "images"), str(tmp_path / "none")]) == 0
    with open(tmp_path / "none" / "objects.csv", encoding="utf-8-sig") as f:
        assert list(csv.DictReader(f)) == []
