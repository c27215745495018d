"""3-D evaluation and the files of a 3-D prediction, on hand-built label stacks with known answers: the
recipe's evaluate (one-to-one 3-D matching, IoU, object F1, AP 0.5:0.95), its decisions on a stack's
probabilities, label stacks written at their voxel size and read back, and 3-D measurements per object."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from petrilab import settings as settings_io
from petrilab.data.discovery import Sample
from petrilab.tasks.segmentation.demo3d import VOXEL

SHAPE = (6, 24, 40)


def _box(labels, value, z, y, x):
    labels[z[0]:z[1], y[0]:y[1], x[0]:x[1]] = value


def _write(path, stack, voxel=VOXEL):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, stack, imagej=True, resolution=(1 / voxel[2], 1 / voxel[1]),
                     metadata={"spacing": voxel[0], "unit": "micron", "axes": "ZYX"})


def _truth_and_prediction():
    """Two true boxes (4 × 10 × 10 voxels); predicted: the first exactly, the second 2 voxels along x
    (IoU 320 / 480 = 2/3), and one box where nothing is."""
    true, pred = np.zeros(SHAPE, np.uint16), np.zeros(SHAPE, np.uint16)
    _box(true, 1, (1, 5), (2, 12), (2, 12))
    _box(true, 2, (1, 5), (2, 12), (20, 30))
    _box(pred, 1, (1, 5), (2, 12), (2, 12))
    _box(pred, 2, (1, 5), (2, 12), (22, 32))
    _box(pred, 3, (1, 4), (16, 22), (4, 10))
    return true, pred


class _KnownAnswers:
    """The real recipe, whose network is replaced by the answer it should give (what is tested is what
    evaluate makes of it: decisions, matching, scores, files)."""

    def __init__(self, kind, predicted):
        from petrilab.recipes import get_recipe

        self.recipe = get_recipe(kind)
        self.predicted = predicted
        self.recipe.stack_probabilities = self.probabilities

    def probabilities(self, trained, pixels):
        if self.recipe.task == "instance":  # interior where the objects are, background elsewhere
            probs = np.zeros(self.predicted.shape + (3,), np.float32)
            probs[..., 0] = self.predicted == 0
            probs[..., 1] = self.predicted > 0
            return probs
        return (self.predicted > 0).astype(np.float32)[..., None]


def _trained(tmp_path, kind, predicted):
    from types import SimpleNamespace

    settings = settings_io.defaults_for(kind)
    settings.data.dimensions, settings.data.voxel_size = "3d", list(VOXEL)
    settings.data.classes = ["background", "nucleus"]
    settings.postprocess.fill_holes = False
    known = _KnownAnswers(kind, predicted)
    masks_dir = tmp_path / "run" / "test_masks"
    masks_dir.mkdir(parents=True)
    trained = SimpleNamespace(settings=settings, classes=settings.data.classes, run_dir=tmp_path / "run",
                              test_masks_dir=masks_dir, predicted=lambda n: None)
    return known.recipe, trained


@pytest.mark.slow  # evaluate names its metrics as the Keras ones (losses.py): TensorFlow loads
@pytest.mark.parametrize("kind", ["instance", "semantic"])
def test_evaluate_scores_stacks_with_one_to_one_3d_matching(tmp_path, kind):
    true, pred = _truth_and_prediction()
    if kind == "semantic":
        true = (true > 0).astype(np.uint8)
    _write(tmp_path / "data" / "images" / "s.tif", np.full(SHAPE, 100, np.uint8))
    _write(tmp_path / "data" / "masks" / "s.tif", true)
    recipe, trained = _trained(tmp_path, kind, pred)
    result, header, rows = recipe.evaluate(trained, [Sample(tmp_path / "data" / "images" / "s.tif", "0",
                                                            mask=tmp_path / "data" / "masks" / "s.tif")])
    m = result["metrics"]
    # voxels: true 800, predicted 800 + 108, overlap 400 + 320
    assert m["per_class"]["nucleus"]["iou"] == pytest.approx(720 / (800 + 908 - 720))
    o = m["objects"]["summary"]
    assert (o["tp"], o["fp"], o["fn"]) == (2, 1, 0) and m["object_f1"] == pytest.approx(0.8)
    per = {round(p["iou_threshold"], 2): p for p in m["objects"]["per_threshold"]}
    assert per[0.65]["tp"] == 2 and per[0.7]["tp"] == 1  # the shifted box matches up to IoU 2/3
    # AP at a threshold is TP / (TP + FP + FN): 2/3 at 0.5 … 0.65, then 1/4 at 0.7 … 0.95
    assert m["average_precision_50_95"] == pytest.approx((4 * 2 / 3 + 6 * 1 / 4) / 10)
    assert o["mean_matched_iou"] == pytest.approx((1 + 2 / 3) / 2)
    row = dict(zip(header, rows[0]))
    assert row["true_objects"] == 2 and row["predicted_objects"] == 3
    json.dumps(result)  # what evaluation.json holds
    with tifffile.TiffFile(trained.test_masks_dir / row["predicted_mask"].split("/")[-1]) as saved:
        assert saved.series[0].shape == SHAPE and saved.imagej_metadata["spacing"] == VOXEL[0]
        written = saved.asarray()
    assert (written > 0).sum() == 908


def test_instance_decisions_split_two_objects_touching_by_a_neck_in_3d():
    """Interior probabilities of two boxes joined by a one-voxel bridge: two seeds, two objects."""
    from petrilab.tasks.segmentation.postprocess3d import instance_stack

    post = settings_io.defaults_for("instance").postprocess
    objects = np.zeros((8, 32, 48), np.uint8)
    objects[1:7, 4:20, 4:20] = 1
    objects[1:7, 4:20, 28:44] = 1
    objects[3:5, 11:13, 20:28] = 1  # the neck
    probs = np.zeros(objects.shape + (3,), np.float32)
    probs[..., 0], probs[..., 1] = objects == 0, objects > 0
    labels = instance_stack(probs, post, voxel=(1.0, 1.0, 1.0))
    assert labels.max() == 2 and labels[3, 10, 10] != labels[3, 10, 36]
    post.min_size = 2000  # larger than each box (1536 voxels): nothing left
    assert instance_stack(probs, post, voxel=(1.0, 1.0, 1.0)).max() == 0


def test_label_stacks_are_written_at_their_voxel_size_for_fiji_and_napari(tmp_path):
    from petrilab.data.stacks import read_stack
    from petrilab.export.tiff import write_label_stack

    labels = np.zeros(SHAPE, np.int32)
    labels[2, 3, 4] = 300  # above 255: 16 bits
    path = write_label_stack(tmp_path / "out" / "labels.tif", labels, (2.0, 0.5, 0.25))
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej and tif.series[0].axes == "ZYX" and tif.series[0].shape == SHAPE
        assert tif.imagej_metadata["spacing"] == 2.0 and tif.imagej_metadata["unit"] == "micron"
        x_per, y_per = tif.pages[0].tags["XResolution"].value, tif.pages[0].tags["YResolution"].value
        assert x_per[0] / x_per[1] == pytest.approx(4.0) and y_per[0] / y_per[1] == pytest.approx(2.0)
        assert tif.asarray().dtype == np.uint16 and tif.asarray()[2, 3, 4] == 300
    assert read_stack(path).voxel == pytest.approx((2.0, 0.5, 0.25))  # the reader PetriLab itself uses
    bare = write_label_stack(tmp_path / "bare.tif", labels.astype(bool))
    with tifffile.TiffFile(bare) as tif:
        assert tif.series[0].shape == SHAPE and "spacing" not in tif.imagej_metadata


def test_3d_measurements_of_a_box_are_known():
    from petrilab.tasks.segmentation.measurements3d import measure_objects_3d, stack_summary

    labels = np.zeros(SHAPE, np.int32)
    _box(labels, 1, (1, 5), (2, 12), (20, 30))  # 4 × 10 × 10
    labels[0, 0, 0] = 2  # one voxel
    stack = np.zeros(SHAPE + (2,), np.uint16)
    stack[..., 0] = 10
    stack[1:5, 2:12, 20:30, 1] = 1000
    stack[1, 2, 20, 1] = 4000
    rows = measure_objects_3d(labels, stack, VOXEL)
    box = rows[0]
    assert box["label"] == 1 and box["volume_voxels"] == 400
    assert box["volume_um3"] == pytest.approx(400 * 1.0 * 0.25 * 0.25)
    assert (box["centroid_z"], box["centroid_y"], box["centroid_x"]) == pytest.approx((2.5, 6.5, 24.5))
    assert (box["centroid_z_um"], box["centroid_x_um"]) == pytest.approx((2.5, 24.5 * 0.25))
    assert (box["bbox_z"], box["bbox_y"], box["bbox_x"], box["bbox_depth"], box["bbox_height"],
            box["bbox_width"]) == (1, 2, 20, 4, 10, 10)
    assert box["mean_intensity_ch1"] == 10 and box["mean_intensity_ch2"] == pytest.approx((399 * 1000 + 4000) / 400)
    assert box["max_intensity_ch2"] == 4000
    # the mesh's surface lies half a voxel inside the box's faces, corners cut: a little under 4 × 2.5 × 2.5 µm's
    faces = 2 * (4 * 2.5 + 4 * 2.5 + 2.5 * 2.5)
    assert 0.6 * faces < box["surface_um2"] < faces
    summary = stack_summary(rows, int(labels.size))
    assert summary["count"] == 2 and summary["total_volume_voxels"] == 401
    assert summary["total_volume_um3"] == pytest.approx(401 * 0.0625)
    no_scale = measure_objects_3d(labels, None, None)[0]
    assert "volume_um3" not in no_scale and no_scale["surface_px"] > 0
