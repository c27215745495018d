"""Instance segmentation quality on a real 3-D nuclei stack (issue #18): PetriLab 3-D, PetriLab 2-D slice by
slice, Otsu + 3-D watershed and StarDist 3-D.

The data is the 3-D nuclei stack that the `stardist` package ships with its labels
(`stardist.data.test_image_nuclei_3d`, a (31, 61, 57) uint16 crop of StarDist's 3-D demo data). It is read
from the installed package at run time and never copied into this repository:

    .venv/bin/pip install -e ".[bench]"      # stardist (and csbdeep), only for the benchmarks

The stack carries no voxel size. Its nuclei are about 7 planes deep and 15 pixels wide (median extent of
the labels, as StarDist's own notebook measures anisotropy), so the planes are taken to be 2× farther
apart than the pixels: a voxel of 2 × 1 × 1 (written as µm; only the ratio matters to any method here).

Split in space along x: columns 0-27 train, 28-31 are a gap nobody sees, 32-56 test (objects cut by the
lines stay cut, in the truth and in every method's input alike). The training region is cut along y
into three stacks written as a PetriLab data folder (images/ + masks/) in a temporary directory, the test
region as a second folder given as the test folder; PetriLab's split puts one training stack aside for
validation, and StarDist gets the very same training and validation stacks.

- PetriLab 3-D: `petrilab init --task instance --data TRAIN --test-data TEST` and `petrilab train` with the
  settings init writes (the 3-D U-Net it proposes for stacks, defaults otherwise; only `training.seed`
  changes per seed), stopped by its STOP file once it has used the budget of processor time; the engine
  then tunes its thresholds on the validation stack. `petrilab predict` on the test stack.
- PetriLab 2-D slice by slice: every plane of the training stacks (and their label planes) as a 2-D image,
  `petrilab init` + `petrilab train` as above (init's settings, the 2-D U-Net), `petrilab predict --slices`
  on the test stack: planes predicted one by one, joined into 3-D objects.
- Classical: Gaussian smoothing, Otsu threshold, holes filled plane by plane, small objects removed, the
  3-D distance transform in µm, seeds its h-maxima, watershed (scikit-image); smoothing, seed depth and
  smallest size chosen by F1 on the whole training region.
- StarDist 3-D: `StarDist3D`, a small configuration for a processor (U-Net backbone, depth 2, 16 base
  filters, 64 rays on a golden spiral with the anisotropy measured from the training labels, grid
  (1, 2, 2)), patches 16 × 16 × 16, batch 2, flips, quarter turns in x-y and intensity scaling as in
  StarDist's example; the same budget of processor time; thresholds optimised on the validation stack.

Every method is scored on the test region by PetriLab's one-to-one matching
(`petrilab.tasks.segmentation.metrics.match_objects`, any number of axes): F1 at IoU 0.5 and AP averaged
over IoU 0.5:0.95. Trained methods run with several seeds (mean ± standard deviation); the classical
baseline has no randomness.

    .venv/bin/python benchmarks/stack_quality.py [--budget 240] [--seeds 3] [--quick] [--json FILE]
                                                 [--skip-2d] [--skip-3d] [--skip-stardist]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from itertools import product
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from nuclei_quality import budget_callbacks, relabel, scores  # noqa: E402  (run as a script: benchmarks/ is on the path)

VOXEL = (2.0, 1.0, 1.0)  # assumed (z, y, x): planes 2× farther apart than pixels (see the docstring)
TRAIN_X, TEST_X = (0, 28), (32, 57)  # columns: training region, test region; 28-31 a gap
TRAIN_Y_CUTS = (0, 20, 40, 61)  # the training region's three stacks along y


def load_stack():
    try:
        from stardist.data import test_image_nuclei_3d
    except ImportError:
        raise SystemExit("This benchmark needs the stardist package: .venv/bin/pip install -e \".[bench]\"") from None
    image, labels = test_image_nuclei_3d(return_mask=True)
    return np.asarray(image), np.asarray(labels).astype(np.int32)


def write_stack(path: Path, data: np.ndarray) -> None:
    """A ZYX ImageJ TIFF with the assumed voxel size, as a microscope's stack would carry it."""
    import tifffile

    z, y, x = VOXEL
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / x, 1 / y),
                     metadata={"spacing": z, "unit": "micron", "axes": "ZYX"})


def write_planes(stack, truth, folder: Path, name: str) -> None:
    """Each plane of a stack and of its label stack as a 2-D image of its own (<name>_zNN.tif)."""
    import tifffile

    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for z, (plane, mask) in enumerate(zip(stack, truth)):
        tifffile.imwrite(folder / "images" / f"{name}_z{z:02d}.tif", plane)
        tifffile.imwrite(folder / "masks" / f"{name}_z{z:02d}.tif", relabel(mask).astype(np.uint16))


def write_folders(image, labels, work: Path) -> dict:
    """The PetriLab data folders: training stacks, the test stack, and the same as 2-D planes."""
    train_image, train_truth = image[:, :, slice(*TRAIN_X)], labels[:, :, slice(*TRAIN_X)]
    names = []
    for top, bottom in zip(TRAIN_Y_CUTS[:-1], TRAIN_Y_CUTS[1:]):
        name = f"train_y{top:02d}"
        stack, truth = train_image[:, top:bottom], relabel(train_truth[:, top:bottom])
        write_stack(work / "stacks" / "images" / f"{name}.tif", stack)
        write_stack(work / "stacks" / "masks" / f"{name}.tif", truth.astype(np.uint16))
        write_planes(stack, truth, work / "planes", name)
        names.append(name)
    test_image, test_truth = image[:, :, slice(*TEST_X)], relabel(labels[:, :, slice(*TEST_X)])
    write_stack(work / "test" / "images" / "test.tif", test_image)
    write_stack(work / "test" / "masks" / "test.tif", test_truth.astype(np.uint16))
    write_planes(test_image, test_truth, work / "test_planes", "test")
    return {"names": names, "train_image": train_image, "train_truth": relabel(train_truth),
            "test_image": test_image, "test_truth": test_truth}


# ---------------------------------------------------------------- classical baseline


def otsu_watershed_3d(image, sigma: float, depth: float, min_size: int) -> np.ndarray:
    from scipy import ndimage as ndi
    from skimage.filters import threshold_otsu
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    smooth = image.astype(np.float32)
    if sigma:  # sigma in pixels along y, x; fewer planes along z, as they are farther apart
        smooth = ndi.gaussian_filter(smooth, (sigma * VOXEL[1] / VOXEL[0], sigma, sigma))
    foreground = smooth > threshold_otsu(smooth)
    foreground = np.stack([ndi.binary_fill_holes(plane) for plane in foreground])
    pieces, _ = ndi.label(foreground)
    foreground &= np.bincount(pieces.ravel())[pieces] >= min_size
    distance = ndi.distance_transform_edt(foreground, sampling=VOXEL)
    seeds, _ = ndi.label(h_maxima(distance, depth) & foreground)
    return relabel(watershed(-distance, seeds, mask=foreground))


def classical(train_image, train_truth, test_image) -> tuple[np.ndarray, dict]:
    """Otsu + 3-D watershed with the parameters that score best (F1 at 0.5) on the training region."""
    best, chosen = -1.0, None
    for sigma, depth, min_size in product((0.0, 1.0, 2.0), (0.5, 1.0, 2.0, 3.0), (0, 50, 200)):
        f1 = scores(train_truth, otsu_watershed_3d(train_image, sigma, depth, min_size))["f1"]
        if f1 > best:
            best, chosen = f1, {"sigma": sigma, "depth_um": depth, "min_size": min_size}
    return otsu_watershed_3d(test_image, chosen["sigma"], chosen["depth_um"], chosen["min_size"]), \
        {**chosen, "train_f1": round(best, 4)}


# ---------------------------------------------------------------- PetriLab through its command line


def petrilab(*args: str, cwd: Path) -> subprocess.Popen:
    """`python -m petrilab ARGS` in a child process, at the lowest priority, its output to a log file."""
    log = open(cwd / "commands.log", "a", encoding="utf-8")  # noqa: SIM115 - closed with the process
    log.write(f"\n$ petrilab {' '.join(args)}\n")
    log.flush()
    return subprocess.Popen(["nice", "-n", "19", sys.executable, "-m", "petrilab", *args], cwd=cwd, stdout=log,
                            stderr=subprocess.STDOUT)


def run_checked(*args: str, cwd: Path) -> None:
    process = petrilab(*args, cwd=cwd)
    if process.wait() != 0:
        raise SystemExit(f"petrilab {' '.join(args)} failed; see {cwd / 'commands.log'}")


def stop_after_cpu(process: subprocess.Popen, run_dir: Path, cpu_seconds: float) -> threading.Thread:
    """Create the run's STOP file once the training process has used `cpu_seconds` of processor time since its
    `started` event (processor time, not wall time: on a shared machine both networks get the same
    computation); not once training has ended (the run's `finished` event then says "completed")."""
    import psutil

    events = run_dir / "events.jsonl"

    def cpu() -> float:
        try:
            times = psutil.Process(process.pid).cpu_times()
        except psutil.NoSuchProcess:
            return float("inf")
        return times.user + times.system

    def seen(*names: str) -> bool:
        text = events.read_text() if events.exists() else ""
        return any(f'"{name}"' in text for name in names)

    def watch():
        while process.poll() is None and not seen("started"):
            time.sleep(0.5)
        start = cpu()
        while process.poll() is None and cpu() - start < cpu_seconds:
            time.sleep(0.5)
        if process.poll() is None and not seen("tuned", "evaluation", "finished"):
            (run_dir / "STOP").write_text("benchmark budget\n")

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def petrilab_run(data: Path, test: Path, predict_input: Path, work: Path, name: str, seed: int, budget: float,
                 slices: bool, extra: tuple[str, ...] = ()) -> tuple[np.ndarray, dict]:
    import tifffile

    settings = work / f"{name}.toml"
    if not settings.exists():
        run_checked("init", "--task", "instance", "--data", str(data), "--test-data", str(test), "-o", str(settings),
                    cwd=work)
    run_dir, out = work / f"{name}-seed{seed}", work / f"{name}-seed{seed}-predicted"
    t0 = time.perf_counter()
    overrides = [w for kv in (f"training.seed={seed}", *extra) for w in ("--set", kv)]
    process = petrilab("train", str(settings), "--quiet", "--run-dir", str(run_dir), *overrides, cwd=work)
    watcher = stop_after_cpu(process, run_dir, budget)
    if process.wait() != 0:
        raise SystemExit(f"petrilab train failed; see {work / 'commands.log'}")
    watcher.join(timeout=5)
    total = time.perf_counter() - t0
    run_checked("predict", str(run_dir), str(predict_input), str(out), *(["--slices"] if slices else []), cwd=work)
    labels = tifffile.imread(out / "labels" / "test_labels.tif").astype(np.int32)
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    epochs = [e for e in events if e["event"] == "epoch_end"]
    started = next(e for e in events if e["event"] == "started")
    ran = __import__("petrilab.settings", fromlist=["load"]).load(run_dir / "settings.toml")
    own = json.loads((run_dir / "evaluation.json").read_text()).get("metrics", {}) \
        if (run_dir / "evaluation.json").exists() else {}
    finished = next((e for e in events if e["event"] == "finished"), {})
    info = {"epochs": len(epochs), "stopped_by_budget": finished.get("status") == "stopped",
            "fit_seconds": round(sum(e.get("seconds", 0) for e in epochs), 1), "train_wall_seconds": round(total, 1),
            "parameters": started.get("parameters"), "architecture": ran.model.architecture,
            "filters": list(ran.model.filters), "patch": list(ran.data.stack_patch_size or ran.data.patch_size),
            "batch_size": ran.training.batch_size, "learning_rate": ran.training.learning_rate,
            "threshold": ran.postprocess.threshold, "min_size": ran.postprocess.min_size,
            "voxel_size": list(ran.data.voxel_size), "own_evaluation_f1": own.get("object_f1")}
    return relabel(labels), info


# ---------------------------------------------------------------- StarDist 3-D


def stardist_run(work: Path, names: list[str], validation: set[str], seed: int, budget: float,
                 test_image) -> tuple[np.ndarray, dict]:
    import keras
    import tensorflow as tf
    import tifffile
    from csbdeep.utils import normalize
    from stardist import Rays_GoldenSpiral
    from stardist.models import Config3D, StarDist3D

    np.random.seed(seed)
    tf.random.set_seed(seed)

    def load(name):
        x = tifffile.imread(work / "stacks" / "images" / f"{name}.tif")
        return normalize(x, 1, 99.8, axis=(0, 1, 2)), tifffile.imread(work / "stacks" / "masks" / f"{name}.tif")

    train = [load(n) for n in names if n not in validation]
    val = [load(n) for n in names if n in validation]
    # StarDist's anisotropy (its notebooks: the largest object extent over each axis's, in voxels) from the voxel
    # assumed for every method: planes 2× apart → (2, 1, 1)
    anisotropy = tuple(v / min(VOXEL) for v in VOXEL)
    grid = tuple(1 if a > 1.5 else 2 for a in anisotropy)
    config = Config3D(rays=Rays_GoldenSpiral(64, anisotropy=anisotropy), grid=grid, anisotropy=anisotropy,
                      n_channel_in=1, backbone="unet", unet_n_depth=2, unet_n_filter_base=16,
                      train_patch_size=(16, 16, 16), train_batch_size=2, train_tensorboard=False)
    model = StarDist3D(config, name=f"stardist-seed{seed}", basedir=str(work))

    def augment(x, y):  # StarDist's example: flips and quarter turns in x-y, intensity scaling
        rng = np.random.default_rng()
        k = int(rng.integers(4))
        x, y = np.rot90(x, k, axes=(1, 2)), np.rot90(y, k, axes=(1, 2))
        for axis in (1, 2):
            if rng.random() < 0.5:
                x, y = np.flip(x, axis), np.flip(y, axis)
        x = x * rng.uniform(0.6, 2.0) + rng.uniform(-0.2, 0.2)
        return np.ascontiguousarray(x), np.ascontiguousarray(y)

    model.prepare_for_training()
    callbacks, epochs_seen = budget_callbacks(budget)
    model.callbacks += callbacks
    t0, c0 = time.perf_counter(), time.process_time()
    with open(work / "stardist.log", "a", encoding="utf-8") as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):  # its progress bars
        model.train([x for x, _ in train], [y for _, y in train],
                    validation_data=([x for x, _ in val], [y for _, y in val]), augmenter=augment, epochs=10_000,
                    steps_per_epoch=20)
        fit_seconds, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        model.optimize_thresholds([x for x, _ in val], [y for _, y in val])
    labels, _ = model.predict_instances(normalize(test_image, 1, 99.8, axis=(0, 1, 2)), verbose=False)
    info = {"epochs": len(epochs_seen), "steps_per_epoch": 20, "fit_seconds": round(fit_seconds, 1),
            "fit_cpu_seconds": round(fit_cpu, 1), "parameters": int(model.keras_model.count_params()),
            "anisotropy": [round(a, 2) for a in anisotropy], "grid": list(grid),
            "thresholds": {k: round(float(v), 3) for k, v in model.thresholds._asdict().items()}}
    keras.backend.clear_session()
    return relabel(labels), info


# ---------------------------------------------------------------- main


def validation_stacks(run_dir: Path) -> set[str]:
    import csv

    with open(run_dir / "split.csv", newline="", encoding="utf-8") as f:
        return {Path(row["file"]).stem for row in csv.DictReader(f) if row["subset"] == "validation"}


def summarise(per_seed: list[dict]) -> dict:
    keys = ("f1", "ap50", "ap50_95", "precision", "recall", "n_pred")
    return {k: (float(np.mean([r[k] for r in per_seed])), float(np.std([r[k] for r in per_seed])))
            for k in keys}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=240.0,
                        help="processor seconds of training for each network (240: 2 minutes on 2 free cores)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one seed, 8 processor seconds: checks the script")
    parser.add_argument("--skip-3d", action="store_true")
    parser.add_argument("--skip-2d", action="store_true")
    parser.add_argument("--skip-stardist", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="a setting for PetriLab's trainings beyond init's (e.g. training.epochs=400: the budget "
                             "and early stopping end it)")
    args = parser.parse_args()
    if args.quick:
        args.budget, args.seeds = 8.0, 1

    image, labels = load_stack()
    work = Path(tempfile.mkdtemp(prefix="petrilab-stack-"))
    data = write_folders(image, labels, work)
    print(f"stack {image.shape}, {len(np.unique(labels)) - 1} nuclei, voxel assumed {VOXEL}; training columns "
          f"{TRAIN_X[0]}-{TRAIN_X[1] - 1} ({data['train_truth'].max()} objects, {len(data['names'])} stacks), test "
          f"columns {TEST_X[0]}-{TEST_X[1] - 1} ({data['test_truth'].max()} objects); work folder {work}", flush=True)

    results: dict[str, list[dict]] = {}
    t0 = time.perf_counter()
    predicted, info = classical(data["train_image"], data["train_truth"], data["test_image"])
    results["Otsu + 3-D watershed"] = [{**scores(data["test_truth"], predicted), "info": info}]
    print(f"classical baseline done in {time.perf_counter() - t0:.0f} s: {info}", flush=True)

    validation = {data["names"][-1]}  # if PetriLab 3-D is skipped: the stack its split (seed 42) keeps aside
    for seed in range(1, args.seeds + 1):
        if not args.skip_3d:
            predicted, info = petrilab_run(work / "stacks", work / "test", work / "test" / "images", work,
                                           "petrilab-3d", seed, args.budget, slices=False, extra=tuple(args.set))
            validation = validation_stacks(work / f"petrilab-3d-seed{seed}")
            results.setdefault("PetriLab 3-D", []).append({**scores(data["test_truth"], predicted), "info": info})
            print(f"seed {seed} PetriLab 3-D: F1 {results['PetriLab 3-D'][-1]['f1']:.3f} {info}", flush=True)
        if not args.skip_2d:
            predicted, info = petrilab_run(work / "planes", work / "test_planes", work / "test" / "images", work,
                                           "petrilab-2d", seed, args.budget, slices=True, extra=tuple(args.set))
            results.setdefault("PetriLab 2-D slice by slice", []).append(
                {**scores(data["test_truth"], predicted), "info": info})
            print(f"seed {seed} PetriLab 2-D: F1 {results['PetriLab 2-D slice by slice'][-1]['f1']:.3f} {info}",
                  flush=True)
        if not args.skip_stardist:
            predicted, info = stardist_run(work, data["names"], validation, seed, args.budget, data["test_image"])
            results.setdefault("StarDist 3-D", []).append({**scores(data["test_truth"], predicted), "info": info})
            print(f"seed {seed} StarDist 3-D (validation {sorted(validation)}): "
                  f"F1 {results['StarDist 3-D'][-1]['f1']:.3f} {info}", flush=True)
        if args.json:  # after every seed, so that an interrupted run keeps what it measured
            args.json.write_text(json.dumps(results, indent=2, default=str))

    print(f"\ntest region: {data['test_truth'].max()} nuclei; budget {args.budget:.0f} processor seconds of training "
          f"per network; mean ± standard deviation over {args.seeds} seed(s)\n")
    print("| method | seeds | objects found | precision | recall | F1 @0.5 | AP @0.5 | AP 0.5:0.95 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, per_seed in results.items():
        m = summarise(per_seed)

        def cell(key, digits=3):
            mean, sd = m[key]
            return f"{mean:.{digits}f}" if len(per_seed) == 1 else f"{mean:.{digits}f} ± {sd:.{digits}f}"

        print(f"| {name} | {len(per_seed)} | {cell('n_pred', 1)} / {per_seed[0]['n_true']} | {cell('precision')} | "
              f"{cell('recall')} | **{cell('f1')}** | {cell('ap50')} | {cell('ap50_95')} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
