"""Instance segmentation quality on real nuclei: PetriLab against Otsu + watershed and StarDist.

The data is the 2-D fluorescence nuclei image that the `stardist` package
ships with its hand-made labels (`stardist.data.test_image_nuclei_2d`, from
the 2018 Data Science Bowl, Caicedo et al., Nature Methods 2019). It is read
from the installed package at run time and never copied into this
repository. Install the benchmark's extras first:

    .venv/bin/pip install -e ".[bench]"      # stardist (and csbdeep), only for this benchmark

The 512 × 512 image is split by rows: the top 320 rows train, the bottom
192 rows test (`--fold 1`: the other way round; objects cut by the line
stay cut, in the truth and in every method's input alike). The training rows are cut into tiles written as a PetriLab
dataset (images/ + masks/); PetriLab's split puts some tiles aside for
validation, and StarDist gets the very same training and validation tiles.

- Classical baseline: Gaussian smoothing, Otsu threshold, holes filled,
  small objects removed, distance-transform watershed; its smoothing,
  watershed depth and smallest size are chosen on the training rows.
- PetriLab: `petrilab.training.trainer.train` with the instance task's
  defaults (percentile normalisation for fluorescence), stopped with the
  STOP file once it has used its budget of processor time; the engine then tunes its threshold on
  the validation tiles. The test rows go through the recipe's prediction
  (tiles, post-processing) like `petrilab predict`.
- StarDist: `StarDist2D` with its default configuration (32 rays, grid 2),
  the same processor-time budget, thresholds optimised on the validation tiles.

All three are scored by `petrilab.tasks.segmentation.metrics.match_objects` on
the test rows: F1 and AP at IoU 0.5, AP averaged over 0.5:0.95.

    .venv/bin/python benchmarks/nuclei_quality.py [--budget 480] [--fold 0|1] [--skip-petrilab] [--skip-stardist]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import threading
import time
from itertools import product
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

SPLIT_ROW = 320  # rows above: training and validation; below: test
TILE = (160, 128)  # training tiles (rows, columns): 2 × 4 tiles from 320 × 512


def budget_callbacks(budget: float) -> tuple[list, list[int]]:
    """Keras callbacks that stop StarDist's training after `budget` processor seconds (as PetriLab's runs are
    stopped), and the list of the epochs they saw end."""
    import keras

    epochs_seen: list[int] = []

    class Budget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.process_time()

        def on_train_batch_end(self, batch, logs=None):
            if time.process_time() - self.start > budget:
                self.model.stop_training = True

    class CountEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epochs_seen.append(epoch)

    return [Budget(), CountEpochs()], epochs_seen


def load_nuclei():
    try:
        from stardist.data import test_image_nuclei_2d
    except ImportError:
        raise SystemExit("This benchmark needs the stardist package: .venv/bin/pip install -e \".[bench]\"") from None
    image, labels = test_image_nuclei_2d(return_mask=True)
    return np.asarray(image), np.asarray(labels).astype(np.int32)


def relabel(labels: np.ndarray) -> np.ndarray:
    from skimage.segmentation import relabel_sequential

    return relabel_sequential(labels)[0].astype(np.int32)


def write_dataset(image, labels, folder: Path) -> list[str]:
    """Training tiles as DATA/images/<name>.tif + DATA/masks/<name>.tif; returns the names."""
    import tifffile

    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    names = []
    rows = range(0, image.shape[0] - TILE[0] + 1, TILE[0])
    for r, c in product(rows, range(0, image.shape[1] - TILE[1] + 1, TILE[1])):
        name = f"tile_r{r:03d}_c{c:03d}"
        tifffile.imwrite(folder / "images" / f"{name}.tif", image[r:r + TILE[0], c:c + TILE[1]])
        mask = relabel(labels[r:r + TILE[0], c:c + TILE[1]]).astype(np.uint16)
        tifffile.imwrite(folder / "masks" / f"{name}.tif", mask)
        names.append(name)
    return names


def scores(truth, predicted) -> dict:
    from petrilab.tasks.segmentation.metrics import match_objects

    result = match_objects(truth, predicted)
    s = result["summary"]
    return {"n_true": result["n_true"], "n_pred": result["n_pred"], "tp": s["tp"], "fp": s["fp"], "fn": s["fn"],
            "precision": s["precision"], "recall": s["recall"], "f1": s["f1"],
            "ap50": s["average_precision"], "ap50_95": s["average_precision_50_95"],
            "mean_matched_iou": s["mean_matched_iou"]}


# ---------------------------------------------------------------- classical baseline


def otsu_watershed(image, sigma: float, depth: float, min_size: int) -> np.ndarray:
    from scipy import ndimage as ndi
    from skimage.filters import threshold_otsu
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    smooth = ndi.gaussian_filter(image.astype(np.float32), sigma) if sigma else image.astype(np.float32)
    foreground = ndi.binary_fill_holes(smooth > threshold_otsu(smooth))
    pieces, _ = ndi.label(foreground)
    areas = np.bincount(pieces.ravel())
    foreground &= areas[pieces] >= min_size
    distance = ndi.gaussian_filter(ndi.distance_transform_edt(foreground), 1.0)
    seeds, _ = ndi.label(h_maxima(distance, depth) & foreground)
    labels = watershed(-distance, seeds, mask=foreground)
    return relabel(labels)


def classical(train_image, train_truth, test_image) -> tuple[np.ndarray, dict]:
    """Otsu + watershed with the parameters that score best (F1 at 0.5) on the training rows."""
    best, chosen = -1.0, None
    for sigma, depth, min_size in product((0.0, 1.0, 2.0), (0.5, 1.0, 2.0, 3.0), (0, 20, 50)):
        f1 = scores(train_truth, otsu_watershed(train_image, sigma, depth, min_size))["f1"]
        if f1 > best:
            best, chosen = f1, {"sigma": sigma, "depth": depth, "min_size": min_size}
    return otsu_watershed(test_image, **chosen), {**chosen, "train_f1": round(best, 4)}


# ---------------------------------------------------------------- PetriLab


def stop_after(run_dir: Path, cpu_seconds: float) -> threading.Thread:
    """Create the run's STOP file once training has used `cpu_seconds` of processor time.

    Processor time, not wall-clock time: on a machine shared with other
    work, both networks get the same amount of computation.
    """
    def watch():
        events = run_dir / "events.jsonl"
        while not events.exists() or '"started"' not in events.read_text():
            time.sleep(0.5)
        start = time.process_time()
        while time.process_time() - start < cpu_seconds:
            time.sleep(0.5)
        (run_dir / "STOP").write_text("benchmark budget\n")

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def petrilab_train(data_dir: Path, run_dir: Path, budget: float) -> tuple[float, float]:
    """PetriLab's instance training on DATA, stopped after `budget` processor seconds; (wall, CPU seconds)."""
    from petrilab import settings as settings_io
    from petrilab.training.trainer import train

    settings = settings_io.defaults_for("instance")
    settings.name = "nuclei-benchmark"
    settings.data.folder = str(data_dir)
    settings.data.normalisation = "percentile"
    settings.split.validation_fraction = 0.25
    settings.split.test_fraction = 0.0
    settings.training.epochs = 10_000  # the budget ends it
    stop_after(run_dir, budget)
    t0, c0 = time.perf_counter(), time.process_time()
    train(settings, run_dir=run_dir, echo=False)
    return time.perf_counter() - t0, time.process_time() - c0


def petrilab_run(data_dir: Path, work: Path, budget: float, test_image) -> tuple[np.ndarray, dict, Path]:
    from petrilab.prediction.trained_model import TrainedModel

    run_dir = work / "petrilab-run"
    total, cpu = petrilab_train(data_dir, run_dir, budget)
    trained = TrainedModel(run_dir)
    labels = trained.recipe.predict_image(trained, test_image[:, :, np.newaxis])["labels"]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    epochs = [e for e in events if e["event"] == "epoch_end"]
    tuned = next((e for e in events if e["event"] == "tuned"), {})
    info = {"epochs": len(epochs), "fit_seconds": round(sum(e.get("seconds", 0) for e in epochs), 1),
            "total_seconds": round(total, 1), "total_cpu_seconds": round(cpu, 1),
            "threshold": trained.settings.postprocess.threshold,
            "tuned": tuned.get("tried"), "parameters": next(e for e in events if e["event"] == "started")["parameters"],
            "patch_size": trained.settings.data.patch_size, "batch_size": trained.settings.training.batch_size}
    return labels, info, run_dir


def read_split(run_dir: Path) -> dict[str, str]:
    with open(run_dir / "split.csv", newline="", encoding="utf-8") as f:
        return {Path(row["file"]).stem: row["subset"] for row in csv.DictReader(f)}


# ---------------------------------------------------------------- StarDist


def stardist_train(data_dir: Path, names: list[str], subsets: dict[str, str], work: Path, budget: float):
    """StarDist2D (default configuration) trained on the same tiles for `budget` processor seconds, its
    thresholds optimised on the validation tiles; (model, info)."""
    import tifffile
    from csbdeep.utils import normalize
    from stardist.models import Config2D, StarDist2D

    def load(name):
        x = tifffile.imread(data_dir / "images" / f"{name}.tif")
        return normalize(x, 1, 99.8, axis=(0, 1)), tifffile.imread(data_dir / "masks" / f"{name}.tif")

    train_pairs = [load(n) for n in names if subsets.get(n) == "train"]
    val_pairs = [load(n) for n in names if subsets.get(n) == "validation"]
    config = Config2D(n_rays=32, grid=(2, 2), n_channel_in=1, train_patch_size=(128, 128), train_batch_size=4,
                      train_tensorboard=False)
    model = StarDist2D(config, name="stardist", basedir=str(work))

    model.prepare_for_training()
    callbacks, epochs_seen = budget_callbacks(budget)
    model.callbacks += callbacks
    t0, c0 = time.perf_counter(), time.process_time()
    model.train([x for x, _ in train_pairs], [y for _, y in train_pairs],
                validation_data=([x for x, _ in val_pairs], [y for _, y in val_pairs]),
                epochs=10_000, steps_per_epoch=20)
    fit_seconds, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    model.optimize_thresholds([x for x, _ in val_pairs], [y for _, y in val_pairs])
    info = {"epochs": len(epochs_seen), "steps_per_epoch": 20, "fit_seconds": round(fit_seconds, 1),
            "fit_cpu_seconds": round(fit_cpu, 1), "parameters": int(model.keras_model.count_params()),
            "thresholds": dict(model.thresholds._asdict())}
    return model, info


def stardist_run(data_dir: Path, names: list[str], subsets: dict[str, str], work: Path, budget: float,
                 test_image) -> tuple[np.ndarray, dict]:
    from csbdeep.utils import normalize

    model, info = stardist_train(data_dir, names, subsets, work, budget)
    labels, _ = model.predict_instances(normalize(test_image, 1, 99.8, axis=(0, 1)), verbose=False)
    return relabel(labels), info


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=480.0,
                        help="processor seconds of training for each network (480: 4 minutes on 2 cores)")
    parser.add_argument("--skip-petrilab", action="store_true")
    parser.add_argument("--skip-stardist", action="store_true")
    parser.add_argument("--fold", type=int, choices=(0, 1), default=0,
                        help="0: train on the top rows, test the bottom ones; 1: the other way round")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--overlays", type=Path, help="write each method's test overlay (PNG) into this folder")
    args = parser.parse_args()

    image, labels = load_nuclei()
    if args.fold == 1:  # the bottom rows train, the top rows test: the image upside down
        image, labels = image[::-1].copy(), labels[::-1].copy()
    train_image, train_truth = image[:SPLIT_ROW], relabel(labels[:SPLIT_ROW])
    test_image, test_truth = image[SPLIT_ROW:], relabel(labels[SPLIT_ROW:])
    work = Path(tempfile.mkdtemp(prefix="petrilab-nuclei-"))
    data_dir = work / "train"
    names = write_dataset(train_image, train_truth, data_dir)
    print(f"image {image.shape}, {len(np.unique(labels)) - 1} nuclei; training rows 0-{SPLIT_ROW - 1} "
          f"({train_truth.max()} objects, {len(names)} tiles {TILE[0]}×{TILE[1]}), test rows {SPLIT_ROW}-"
          f"{image.shape[0] - 1} ({test_truth.max()} objects); work folder {work}")

    results, predictions = {}, {}
    t0 = time.perf_counter()
    predictions["Otsu + watershed"], info = classical(train_image, train_truth, test_image)
    results["Otsu + watershed"] = {**scores(test_truth, predictions["Otsu + watershed"]), "info": info}
    print(f"classical baseline done in {time.perf_counter() - t0:.0f} s: {info}")

    subsets = {n: ("validation" if i in (2, 5) else "train") for i, n in enumerate(names)}  # if PetriLab is skipped
    if not args.skip_petrilab:
        predictions["PetriLab"], info, run_dir = petrilab_run(data_dir, work, args.budget, test_image)
        subsets = read_split(run_dir)
        results["PetriLab"] = {**scores(test_truth, predictions["PetriLab"]), "info": info}
        print(f"PetriLab done: {info}")
    print("validation tiles:", sorted(n for n, s in subsets.items() if s == "validation"))
    if not args.skip_stardist:
        predictions["StarDist"], info = stardist_run(data_dir, names, subsets, work, args.budget, test_image)
        results["StarDist"] = {**scores(test_truth, predictions["StarDist"]), "info": info}
        print(f"StarDist done: {info}")

    print("\n| method | objects found | TP | FP | FN | precision | recall | F1 @0.5 | AP @0.5 | AP 0.5:0.95 |"
          " mean matched IoU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['n_pred']} / {r['n_true']} | {r['tp']} | {r['fp']} | {r['fn']} | {r['precision']:.3f} | "
              f"{r['recall']:.3f} | **{r['f1']:.3f}** | {r['ap50']:.3f} | {r['ap50_95']:.3f} | "
              f"{r['mean_matched_iou']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.overlays:
        from petrilab.prediction.overlay import comparison_overlay, save_png

        args.overlays.mkdir(parents=True, exist_ok=True)
        for name, predicted in predictions.items():
            slug = name.lower().replace(" + ", "_").replace(" ", "_")
            save_png(args.overlays / f"test_{slug}.png", comparison_overlay(test_image, test_truth, predicted))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
