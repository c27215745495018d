"""Segmentation training side: data checks, patches and augmentation, losses and metrics, and real (tiny)
trainings of semantic (binary, multi-class) and instance segmentation from the command line to the files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile
from PIL import Image

from petrilab import runs
from petrilab.cli import main
from petrilab.demo import make_segmentation_demo, render_nuclei
from petrilab.errors import UserError
from petrilab.tasks.segmentation.masks import check_segmentation, discover_segmentation, read_label_mask

# ---------------------------------------------------------------- helpers


def errors(report) -> list:
    return [f for f in report.findings if f.level == "error"]


def notes(report, level) -> str:
    return " ".join(f.message for f in report.findings if f.level == level)


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".tif":
        tifffile.imwrite(path, array)
    else:
        Image.fromarray(array).save(path)
    return path


@pytest.fixture
def instance_dir(tmp_path):
    return make_segmentation_demo(tmp_path / "nuclei", "instance", n_images=6, size=64, seed=3)


def checked(folder, task):
    return check_segmentation(discover_segmentation(task, folder))


# ---------------------------------------------------------------- data: discovery and check


def test_demo_is_found_paired_and_counted(instance_dir):
    report = checked(instance_dir, "instance")
    assert report.ok, report.to_text()
    assert report.n_images == 6 and report.classes == ["background", "object"]
    truth = [read_label_mask(p)[0] for p in sorted((instance_dir / "masks").iterdir())]
    objects = report.masks["objects"]["object"]
    assert objects["count"] == sum(int(t.max()) for t in truth)
    assert objects["area"]["min"] == min(int(np.bincount(t.ravel())[1:].min()) for t in truth)
    assert 0 < report.masks["pixel_share"]["object"] < 0.5
    assert report.proposals["data.patch_size"] == [64, 64]
    assert report.masks["binary_masks"] == 0


def test_an_image_without_mask_is_named(instance_dir):
    (instance_dir / "masks" / "nuclei_004.tif").unlink()
    report = checked(instance_dir, "instance")
    [error] = errors(report)
    assert "'nuclei_004.png' has no mask" in error.message
    assert error.file.endswith("masks/nuclei_004.png") and "same name" in error.fix


def test_a_mask_of_another_size_is_named(instance_dir):
    save(instance_dir / "masks" / "nuclei_002.tif", np.zeros((60, 64), np.uint16))
    [error] = errors(checked(instance_dir, "instance"))
    assert "'nuclei_002.tif' is 60 × 64 pixels but its image 'nuclei_002.png' is 64 × 64" in error.message
    assert error.file.endswith("nuclei_002.tif")


def test_unexpected_mask_values_are_explained(tmp_path):
    image = np.full((32, 32), 50, np.uint8)
    for i in range(4):
        save(tmp_path / "d" / "images" / f"a{i}.png", image)
        save(tmp_path / "d" / "masks" / f"a{i}.png", (np.arange(32 * 32).reshape(32, 32) % 4).astype(np.uint8))
    labels = np.zeros((32, 32), np.uint16)
    labels[:, :] = np.arange(32)[None, :] * 7  # values up to 217: one number per object, not classes
    save(tmp_path / "d" / "masks" / "a1.png", labels.astype(np.uint8))
    [error] = errors(checked(tmp_path / "d", "semantic"))
    assert "'a1.png' has values up to 217" in error.message and "instance segmentation" in error.fix
    assert error.file.endswith("a1.png")

    save(tmp_path / "d" / "masks" / "a1.tif", np.full((32, 32), 0.5, np.float32))
    (tmp_path / "d" / "masks" / "a1.png").unlink()
    [error] = errors(checked(tmp_path / "d", "semantic"))
    assert "fractional values (e.g. 0.5)" in error.message and error.file.endswith("a1.tif")

    colour = np.zeros((32, 32, 3), np.uint8)
    colour[:, :16] = (255, 0, 0)
    colour[:, 16:] = (0, 0, 255)
    save(tmp_path / "d" / "masks" / "a1.png", colour)
    (tmp_path / "d" / "masks" / "a1.tif").unlink()
    [error] = errors(checked(tmp_path / "d", "semantic"))
    assert "colour image" in error.message and error.file.endswith("a1.png")


def test_binary_masks_for_instances_become_connected_pieces(instance_dir):
    for path in (instance_dir / "masks").iterdir():
        labels = tifffile.imread(path)
        save(path.with_suffix(".png"), ((labels > 0) * 255).astype(np.uint8))
        path.unlink()
    report = checked(instance_dir, "instance")
    assert report.ok
    assert report.masks["binary_masks"] >= 1
    assert "each connected piece is taken as one object" in notes(report, "info")
    labels, was_binary = read_label_mask(instance_dir / "masks" / "nuclei_001.png")
    from skimage.measure import label
    assert was_binary and labels.max() == label(labels > 0, connectivity=2).max()


def test_semantic_classes_named_from_the_masks_and_black_and_white_read_as_one(tmp_path):
    for i in range(4):
        mask = np.zeros((32, 32), np.uint8)
        mask[4:12, 4:12] = 255
        save(tmp_path / "d" / "images" / f"c{i}.png", mask // 2)
        save(tmp_path / "d" / "masks" / f"c{i}.png", mask)
    report = checked(tmp_path / "d", "semantic")
    assert report.ok and report.classes == ["background", "foreground"]
    assert "black and white" in notes(report, "info")
    assert report.masks["pixel_share"]["foreground"] == pytest.approx(64 / 1024)
    save(tmp_path / "d" / "masks" / "c0.png", np.where(np.eye(32, dtype=bool), 2, 0).astype(np.uint8))
    assert checked(tmp_path / "d", "semantic").classes == ["background", "class 1", "class 2"]


def test_layout_mistakes_are_refused_in_plain_words(tmp_path):
    (tmp_path / "d" / "images").mkdir(parents=True)
    with pytest.raises(UserError, match="no 'masks' sub-folder"):
        discover_segmentation("semantic", tmp_path / "d")


def test_cli_init_writes_a_unet_experiment_and_check_names_the_file(instance_dir, tmp_path, capsys):
    out = tmp_path / "exp.toml"
    assert main(["init", "--task", "instance", "--data", str(instance_dir), "-o", str(out)]) == 0
    text = out.read_text()
    assert 'architecture = "unet"' in text and 'loss = "crossentropy_dice"' in text
    assert "patch_size = [\n    64,\n    64,\n]" in text
    (instance_dir / "masks" / "nuclei_003.tif").unlink()
    capsys.readouterr()
    assert main(["check", str(instance_dir), "--task", "instance"]) == 2
    assert "'nuclei_003.png' has no mask" in capsys.readouterr().out


# ---------------------------------------------------------------- patches and augmentation


def test_patch_size_is_a_multiple_of_the_unet_and_small_images_are_padded():
    from petrilab.tasks.segmentation.patches import RandomPatches, fixed_patches, grid_corners, patch_size_for

    assert patch_size_for([], [(300, 500), (200, 90)], 8) == (88, 88)
    assert patch_size_for([100, 70], [], 16) == (96, 64)
    assert grid_corners(100, 64, (48, 64)) == [(0, 0), (26, 0), (52, 0)]
    images = [np.random.rand(40, 50, 2).astype(np.float32), np.random.rand(80, 64, 2).astype(np.float32)]
    masks = [np.ones((40, 50), np.int32), np.zeros((80, 64), np.int32)]
    onehot = lambda m: np.eye(2, dtype=np.float32)[m]  # noqa: E731
    batches = RandomPatches(images, masks, onehot, (48, 48), batch_size=4, seed=1)
    x, y = batches[0]
    assert x.shape == (4, 48, 48, 2) and y.shape == (4, 48, 48, 2)
    assert len(batches) == 16  # at least 16 batches an epoch, however few the images
    x, y = fixed_patches(images, masks, onehot, (48, 48))
    assert len(x) == 2 + 4  # 40 × 50: padded in height, 2 patches across; 80 × 64: 2 × 2
    assert np.all(y[0, :40, :, 1] == 1) and np.all(y[1, :40, :, 1] == 1)


def test_image_and_mask_are_bent_together():
    from petrilab.tasks.segmentation.patches import JointAugmenter

    labels = render_nuclei(96, np.random.default_rng(4))[1]
    image = labels.astype(np.float32)[:, :, None]  # the image shows its own labels: they must stay aligned
    aug = JointAugmenter(SimpleNamespace(flip_horizontal=True, flip_vertical=True, rotate_90=True, rotation=30.0,
                                         zoom=0.1, elastic=0.5, brightness=0.0, contrast=0.0, noise=0.0), seed=0)
    for k in range(5):
        bent_image, bent_mask = aug(image, labels, np.random.default_rng(k))
        assert bent_mask.dtype == labels.dtype and set(np.unique(bent_mask)) <= set(np.unique(labels))
        assert not np.array_equal(bent_mask, labels)
        assert np.mean(np.round(bent_image[:, :, 0]) == bent_mask) > 0.9  # only object edges may differ
    noisy = JointAugmenter(SimpleNamespace(flip_horizontal=False, flip_vertical=False, rotate_90=False, rotation=0.0,
                                           zoom=0.0, elastic=0.0, brightness=0.2, contrast=0.2, noise=0.1), seed=0)
    bent_image, bent_mask = noisy(image, labels)
    assert np.array_equal(bent_mask, labels) and not np.allclose(bent_image, image)


def test_unet_depth_filters_and_batch_norm_follow_the_settings():
    import keras

    from petrilab import settings as settings_io
    from petrilab.models import build_model
    from petrilab.recipes import get_recipe

    settings = settings_io.defaults_for("semantic")
    assert (settings.model.architecture, settings.model.batch_norm, settings.training.loss) == \
        ("unet", True, "crossentropy_dice")
    settings.model.filters = [4, 8, 16]
    settings.data.classes = ["background", "a", "b"]
    model = build_model(settings, (64, 64, 2), get_recipe("semantic").head(settings))
    assert tuple(model.input.shape) == (None, None, None, 2) and tuple(model.output.shape) == (None, None, None, 3)
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(pools) == 3 and len(norms) == 2 * 7 and all(n.momentum == 0.9 for n in norms)
    assert model.get_layer("bottleneck_conv1").filters == 32
    out = keras.ops.convert_to_numpy(model(np.zeros((1, 40, 56, 2), np.float32)))
    assert out.shape == (1, 40, 56, 3) and np.allclose(out.sum(-1), 1, atol=1e-5)  # any multiple of 8
    settings.task.kind = "classification"
    with pytest.raises(UserError, match="U-Net cannot do image classification"):
        build_model(settings, (64, 64, 2), get_recipe("semantic").head(settings))


def test_touching_objects_are_kept_apart_by_their_boundaries():
    from scipy import ndimage

    from petrilab.tasks.segmentation.targets import boundary_width_for, encode_instances, instance_classes

    labels = np.zeros((20, 30), np.int32)
    labels[5:15, 3:15] = 1
    labels[5:15, 15:27] = 2  # touching along a whole side
    classes = instance_classes(labels)
    assert ndimage.label(classes == 1)[1] == 2  # two interiors, separated
    assert ndimage.label(labels > 0)[1] == 1  # though one piece of foreground
    assert np.all(classes[5:15, 14:16] == 2)
    assert encode_instances(labels).shape == (20, 30, 3)
    wide = instance_classes(labels, 2)
    assert np.all(wide[6:14, 13:17] == 2) and ndimage.label(wide == 1)[1] == 2
    # a third of the median inscribed radius: these 10 × 12 boxes (radius 5) → 2, 4-pixel-thin rods → 1,
    # discs of radius 9 → 3, the most
    assert boundary_width_for([labels]) == 2
    rods = np.zeros((20, 30), np.int32)
    rods[2:6, 2:28], rods[6:10, 2:28] = 1, 2
    assert boundary_width_for([rods]) == 1
    yy, xx = np.mgrid[:40, :40]
    assert boundary_width_for([((yy - 20) ** 2 + (xx - 20) ** 2 < 81).astype(np.int32)]) == 3


# ---------------------------------------------------------------- losses and metrics


def test_iou_and_dice_metrics_count_pixels_like_numpy():
    import keras

    from petrilab.tasks.segmentation.losses import SegmentationScore, make_loss, make_metrics

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, (4, 16, 16))
    probs = rng.random((4, 16, 16, 3)).astype(np.float32)
    predicted = probs.argmax(-1)
    onehot = np.eye(3, dtype=np.float32)[truth]
    metrics = make_metrics(["background", "nucleus", "spot"], 3)
    assert [m.name for m in metrics] == ["iou", "dice", "iou_nucleus", "iou_spot"]
    for m in metrics:
        m.update_state(onehot, probs)
    ious = [np.sum((truth == c) & (predicted == c)) / np.sum((truth == c) | (predicted == c)) for c in (1, 2)]
    assert float(metrics[0].result()) == pytest.approx(np.mean(ious), abs=1e-5)
    assert float(metrics[2].result()) == pytest.approx(ious[0], abs=1e-5)
    dice = [2 * i / (1 + i) for i in ious]
    assert float(metrics[1].result()) == pytest.approx(np.mean(dice), abs=1e-5)
    objects = SegmentationScore([[1, 2]], 3, "iou", name="iou")  # instance: interior + boundary = object
    objects.update_state(onehot, probs)
    fg_t, fg_p = truth > 0, predicted > 0
    assert float(objects.result()) == pytest.approx(np.sum(fg_t & fg_p) / np.sum(fg_t | fg_p), abs=1e-5)

    perfect = onehot * 0.98 + 0.01
    for name in ("crossentropy_dice", "dice", "focal", "categorical_crossentropy"):
        loss = make_loss(name)
        assert float(loss(onehot, perfect)) < float(loss(onehot, probs)), name
    weighted = make_loss("weighted_crossentropy", [1.0, 10.0, 10.0])
    plain = make_loss("categorical_crossentropy")
    assert float(weighted(onehot, probs)) > float(plain(onehot, probs))
    with pytest.raises(UserError, match="'mse' is for numbers"):
        make_loss("mse")
    again = keras.losses.deserialize(keras.losses.serialize(weighted))
    assert again.kind == "weighted_crossentropy" and again.class_weights == [1.0, 10.0, 10.0]


# ---------------------------------------------------------------- real trainings

# Tiny and quick: no batch norm (half the graph Keras must trace before the first step), a higher learning rate.
FAST = ["--set", "model.filters=[8, 16]", "--set", "model.dropout=0.0", "--set", "model.batch_norm=false",
        "--set", "training.learning_rate=0.003", "--set", "training.batch_size=4",
        "--set", "data.patch_size=[64, 64]", "--set", "split.validation_fraction=0.2",
        "--set", "split.test_fraction=0.2", "--set", "augmentation.elastic=0.0"]


def train_cli(data, tmp_path, task, *extra) -> "Path":  # noqa: F821
    settings = tmp_path / f"{task}.toml"
    assert main(["init", "--task", task, "--data", str(data), "-o", str(settings)]) == 0
    assert main(["train", str(settings), "--quiet", "--run-dir", str(tmp_path / f"run-{task}"), *FAST, *extra]) == 0
    return tmp_path / f"run-{task}"


def read_events(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / runs.EVENTS).read_text().splitlines()]


def otsu_objects(image: np.ndarray) -> np.ndarray:
    """The classical baseline: Otsu's threshold, then one object per connected piece."""
    from skimage.filters import threshold_otsu
    from skimage.measure import label

    grey = image[:, :, 0] if image.ndim == 3 else image
    return label(grey > threshold_otsu(grey), connectivity=2)


@pytest.fixture(scope="module")
def semantic_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("semantic")
    data = make_segmentation_demo(tmp / "nuclei", "semantic", n_images=10, size=64, seed=5)
    return SimpleNamespace(data=data, tmp=tmp, run=train_cli(data, tmp, "semantic", "--set", "training.epochs=4"))


@pytest.mark.slow
def test_semantic_binary_learns_tunes_its_threshold_and_predicts_files(semantic_run, capsys, monkeypatch):
    run, data, tmp = semantic_run.run, semantic_run.data, semantic_run.tmp
    events = read_events(run)
    started = next(e for e in events if e["event"] == "started")
    assert started["main_metric"] == "iou" and started["classes"] == ["background", "foreground"]
    assert {"iou", "val_iou", "dice", "val_dice"} <= set(runs.read_history(run / runs.HISTORY)[-1])
    tuned = next(e for e in events if e["event"] == "tuned")
    assert tuned["key"] == "postprocess.threshold" and len(tuned["tried"]) == 9
    assert f"threshold = {tuned['value']}" in (run / runs.SETTINGS).read_text()
    assert events[-1]["event"] == "finished" and events[-1]["status"] == "completed"

    evaluation = json.loads((run / runs.EVALUATION).read_text())
    share = evaluation["metrics"]["foreground_share"]
    with capsys.disabled():
        print(f"semantic binary: IoU {evaluation['metrics']['iou']:.3f} against > {max(0.6, share + 0.3):.3f}")
    # the trivial answer "everything is a nucleus" has IoU = the foreground share
    assert evaluation["metrics"]["iou"] > max(0.6, share + 0.3), evaluation["metrics"]
    assert any("pixel accuracy" in w for w in evaluation["warnings"])
    with open(run / "test_predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == evaluation["n_images"] == 2 and float(rows[0]["iou"]) > 0.3

    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "IoU" in capsys.readouterr().out

    out = tmp / "predicted"
    assert main(["predict", str(run), str(data / "images"), str(out), "--probabilities"]) == 0
    probabilities = tifffile.imread(out / "probabilities" / "nuclei_001_probabilities.tif")
    assert probabilities.shape == (64, 64) and probabilities.dtype == np.float32  # one sigmoid channel
    assert 0 <= probabilities.min() and probabilities.max() <= 1
    mask = tifffile.imread(out / "masks" / "nuclei_001_mask.tif")
    assert mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 1}
    truth = np.array(Image.open(data / "masks" / "nuclei_001.png"))
    assert np.sum((mask > 0) & (truth > 0)) / np.sum((mask > 0) | (truth > 0)) > 0.5
    assert Image.open(out / "overlays" / "nuclei_001_overlay.png").size == (64, 64)
    with open(out / "predictions.csv", encoding="utf-8-sig") as f:
        summary = list(csv.DictReader(f))
    assert len(summary) == 10 and int(summary[0]["count"]) > 0
    with open(out / "objects.csv", encoding="utf-8-sig") as f:
        objects = list(csv.DictReader(f))
    assert sum(r["file"] == "nuclei_001.png" for r in objects) == int(summary[0]["count"])
    assert {"area_px", "centroid_x", "mean_intensity_ch1", "class"} <= set(objects[0])
    assert sorted(p.name for p in (data / "images").iterdir())[0] == "nuclei_001.png"
    assert not any(p.name.endswith("_mask.tif") for p in data.rglob("*"))  # the input folder is untouched


@pytest.mark.slow
def test_model_with_custom_losses_and_metrics_loads_in_a_fresh_process(semantic_run):
    code = ("import sys, numpy as np, keras, petrilab.models; m = keras.saving.load_model(sys.argv[1]); "
            "x = np.zeros((1, 64, 64, 1), 'float32'); "
            "scores = m.evaluate(x, np.zeros((1, 64, 64, 1), 'float32'), verbose=0, return_dict=True); "
            "print(type(m.loss).__name__, m.loss.kind, sorted(scores))")
    result = subprocess.run([sys.executable, "-c", code, str(semantic_run.run / runs.BEST_MODEL)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "SegmentationLoss crossentropy_dice ['dice', 'iou', 'loss']" in result.stdout


def make_two_class_nuclei(folder, n: int, size: int = 64):
    """Nuclei of two kinds told apart by brightness: dim ones are class 1, bright ones class 2."""
    for i in range(n):
        rng = np.random.default_rng([11, i])
        _, labels = render_nuclei(size, rng)
        classes = np.zeros_like(labels, dtype=np.uint8)
        image = rng.normal(20, 4, labels.shape)
        for k in range(1, labels.max() + 1):
            bright = rng.random() < 0.5
            classes[labels == k] = 2 if bright else 1
            image[labels == k] += 170 if bright else 70
        save(folder / "images" / f"n{i:02d}.png", np.clip(image, 0, 255).astype(np.uint8))
        save(folder / "masks" / f"n{i:02d}.png", classes)
    return folder


@pytest.mark.slow
def test_semantic_multiclass_learns_each_class(tmp_path):
    data = make_two_class_nuclei(tmp_path / "two", 10)
    run = train_cli(data, tmp_path, "semantic", "--set", "training.epochs=8")
    assert "classes = [\n    \"background\",\n    \"class 1\",\n    \"class 2\",\n]" in (run / runs.SETTINGS).read_text()
    history = runs.read_history(run / runs.HISTORY)
    assert {"iou_class_1", "iou_class_2", "val_iou_class_1"} <= set(history[-1])
    assert not any(e["event"] == "tuned" for e in read_events(run))  # the most probable class: no threshold
    evaluation = json.loads((run / runs.EVALUATION).read_text())
    per_class = evaluation["metrics"]["per_class"]
    print(f"semantic multiclass: IoU class 1 {per_class['class 1']['iou']:.3f}, class 2 {per_class['class 2']['iou']:.3f}"
          " against > 0.4")
    # trivial baseline: every nucleus pixel given the more frequent kind scores 0 on the other kind
    assert per_class["class 1"]["iou"] > 0.4 and per_class["class 2"]["iou"] > 0.4, per_class
    assert len(evaluation["confusion_matrix"]) == 3


@pytest.mark.slow
def test_instance_segmentation_separates_touching_nuclei_better_than_a_threshold(tmp_path):
    from petrilab.prediction.trained_model import TrainedModel
    from petrilab.tasks.segmentation.metrics import ObjectTally

    data = make_segmentation_demo(tmp_path / "nuclei", "instance", n_images=10, size=128, seed=2)
    test = make_segmentation_demo(tmp_path / "test", "instance", n_images=6, size=128, seed=9)
    settings = tmp_path / "instance.toml"
    assert main(["init", "--task", "instance", "--data", str(data), "--test-data", str(test), "-o", str(settings)]) == 0
    run = tmp_path / "run-instance"
    assert main(["train", str(settings), "--quiet", "--run-dir", str(run), *FAST, "--set", "training.epochs=6"]) == 0
    events = read_events(run)
    assert next(e for e in events if e["event"] == "started")["boundary_width"] == 2
    assert next(e for e in events if e["event"] == "tuned")["metric"] == "object F1 at IoU 0.5"
    evaluation = json.loads((run / runs.EVALUATION).read_text())
    assert evaluation["n_images"] == 6

    baseline = ObjectTally()
    for path in sorted((test / "images").iterdir()):
        baseline.add(tifffile.imread(test / "masks" / f"{path.stem}.tif"), otsu_objects(np.array(Image.open(path))))
    otsu_f1 = baseline.scores()["summary"]["f1"]
    print(f"instance: object F1 {evaluation['metrics']['object_f1']:.3f} against > {max(0.8, otsu_f1 + 0.2):.3f}")
    # touching nuclei merge under a threshold (about 0.4 here); the network's boundaries keep them apart
    assert evaluation["metrics"]["object_f1"] > max(0.8, otsu_f1 + 0.2), (evaluation["metrics"], otsu_f1)

    out = tmp_path / "labels-out"
    assert main(["predict", str(run), str(test / "images"), str(out)]) == 0
    labels = tifffile.imread(out / "labels" / "nuclei_001_labels.tif")
    assert labels.dtype in (np.uint8, np.uint16) and labels.max() >= 3
    trained = TrainedModel(run)
    found = trained.recipe.predict_image(trained, np.array(Image.open(test / "images" / "nuclei_001.png")))
    assert np.array_equal(found["labels"], labels)
    with open(out / "objects.csv", encoding="utf-8-sig") as f:
        assert sum(r["file"] == "nuclei_001.png" for r in csv.DictReader(f)) == labels.max()
