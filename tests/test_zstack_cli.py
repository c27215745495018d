"""`petrilab init / train / evaluate / predict` on z-stacks through the real command line: a real tiny 3-D
training for semantic and instance segmentation (slow), the inputs untouched, and a folder mixing stacks and
2-D images refused naming files of each."""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest
import tifffile

from petrilab.tasks.segmentation.demo3d import VOXEL, example_stacks

TINY = ["training.epochs=4", "training.batch_size=4", "training.learning_rate=0.003",
        "data.stack_patch_size=[8, 32, 32]", "model.dropout=0"]


def sha_all(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["instance", "semantic"])
def test_train_evaluate_predict_on_stacks_through_the_command_line(tmp_path, kind):
    import keras

    from petrilab import settings as settings_io
    from petrilab.cli import main
    from petrilab.events import read_all

    instance = kind == "instance"
    data = example_stacks(tmp_path / "data", n=6, classes=not instance)
    new = example_stacks(tmp_path / "new", n=2, seed=40, classes=not instance) / "images"
    before = {**sha_all(data), **sha_all(new)}
    settings = tmp_path / "stacks.toml"
    assert main(["init", "--task", kind, "--data", str(data), "-o", str(settings)]) == 0
    assert settings_io.load(settings).model.architecture == "unet3d"  # the check's proposal, applied
    run = tmp_path / "run"
    assert main(["train", str(settings), "--quiet", "--run-dir", str(run),
                 *[w for kv in TINY for w in ("--set", kv)]]) == 0

    events = read_all(run / "events.jsonl")
    assert events[-1]["event"] == "finished" and events[-1]["status"] == "completed"
    for name in ("history.csv", "diagnosis.json", "model.keras", "evaluation.json", "split.csv", "report.html"):
        assert (run / name).exists(), name
    ran = settings_io.load(run / "settings.toml")
    assert ran.data.dimensions == "3d" and ran.data.voxel_size == pytest.approx(list(VOXEL))
    assert ran.asked["data.dimensions"] == "auto"  # learnt, under [learnt]: the user's "auto" kept
    assert json.loads((run / "dataset_check.json").read_text())["dimensions"] == "3d"
    model = keras.saving.load_model(run / "model.keras", compile=False)
    assert any(isinstance(layer, keras.layers.Conv3D) for layer in model.layers)
    tuned = [e for e in events if e["event"] == "tuned"]
    assert tuned and tuned[0]["n_images"] == 1  # thresholds tuned on the validation stack

    assert main(["evaluate", str(run)]) == 0
    metrics = json.loads((run / "evaluation.json").read_text())["metrics"]
    print(f"{kind}: IoU {metrics['iou']:.3f}, object F1 {metrics['object_f1']}, "
          f"AP 0.5:0.95 {metrics['average_precision_50_95']}")
    assert metrics["iou"] > 0.5
    if instance:
        assert metrics["object_f1"] >= 0.5 and metrics["average_precision_50_95"] is not None
    masks = [r["predicted_mask"] for r in _rows(run / "test_predictions.csv")]
    assert len(masks) == 1 and tifffile.imread(run / masks[0]).shape == (16, 64, 64)

    out = tmp_path / "out"
    assert main(["predict", str(run), str(new), str(out)]) == 0
    folder = "labels" if instance else "masks"
    for path in sorted(new.iterdir()):
        saved = out / folder / f"{path.stem}{'_labels' if instance else '_mask'}.tif"
        with tifffile.TiffFile(saved) as tif:
            assert tif.series[0].axes == "ZYX" and tif.series[0].shape == (16, 64, 64)
            assert tif.imagej_metadata["spacing"] == VOXEL[0] and tif.imagej_metadata["unit"] == "micron"
            x_per = tif.pages[0].tags["XResolution"].value
            assert x_per[0] / x_per[1] == pytest.approx(1 / VOXEL[2])
    objects = _rows(out / "objects.csv")
    assert objects and {"volume_um3", "surface_um2", "centroid_z", "centroid_y", "centroid_x", "bbox_depth",
                        "mean_intensity_ch1"} <= set(objects[0])
    one = objects[0]
    assert float(one["volume_um3"]) == pytest.approx(int(one["volume_voxels"]) * np.prod(VOXEL))
    summaries = _rows(out / "predictions.csv")
    assert len(summaries) == 2 and all(int(r["count"]) >= 1 for r in summaries)
    assert {**sha_all(data), **sha_all(new)} == before


def test_train_refuses_a_folder_mixing_stacks_and_2d_images_naming_files(tmp_path, capsys):
    from petrilab.cli import EXIT_USER_ERROR, main
    from petrilab.events import read_all

    data = example_stacks(tmp_path / "data", n=2, size=(10, 48, 48))
    for sub in ("images", "masks"):
        tifffile.imwrite(data / sub / "flat.tif", np.zeros((48, 48), np.uint8))
    before = sha_all(data)
    settings = tmp_path / "s.toml"
    settings.write_text(f'[task]\nkind = "instance"\n[data]\nfolder = "{data}"\n[model]\narchitecture = "unet3d"\n'
                        'filters = [8, 16]\n', encoding="utf-8")
    assert main(["train", str(settings), "--quiet", "--run-dir", str(tmp_path / "run")]) == EXIT_USER_ERROR
    error = next(e for e in read_all(tmp_path / "run" / "events.jsonl") if e["event"] == "error")
    assert "'flat.tif'" in error["message"] and "'nuclei_00.tif'" in error["message"] and error["fix"]
    assert sha_all(data) == before
