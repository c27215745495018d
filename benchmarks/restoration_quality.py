"""Denoising quality: PetriLab without clean images (Noise2Void) and with pairs (CARE) against the noisy input and
non-local means, on a real fluorescence image with synthetic Poisson–Gaussian noise at two levels.

    .venv/bin/python benchmarks/restoration_quality.py [--epochs 80] [--filters 16,32] [--levels moderate,strong]
                                                       [--masked-percent 0.5] [--ways noise2void,pairs]
                                                       [--set KEY=VALUE ...]

The image: the 512 × 512 fluorescence nuclei image StarDist ships with its package (stardist/data/images/img2d.tif,
from the 2018 Data Science Bowl, Caicedo et al., Nature Methods 2019); read from the installed package (the
`bench` extra), nothing is downloaded. It is the "clean" reference: its own faint noise stays in it.
Noise: the image scaled so its brightest pixel collects `photons` photons, then Poisson (shot) noise and Gaussian
read noise of 2 photons; 16-bit files (20 grey levels per photon, offset 100). Two levels: moderate (50 photons
at the brightest) and strong (10 photons).
Regions: columns 0–383 are cut into 8 training tiles of 128 × 192 (images/ + targets/); columns 384–511 are held
out, 4 tiles of 128 × 128 in a separate test folder (data.test_folder), never seen in training. Noise2Void trains
on the same noisy tiles with restoration.way = noise2void (the targets are not read); pairs with way = pairs.
Scores: `petrilab evaluate RUN --data TEST` (scores.py: PSNR and SSIM of scikit-image against the clean tiles,
each candidate's intensities fitted to the target by a straight line), averaged over the 4 held-out tiles; the
noisy input and non-local means (scikit-image, h = 0.8 σ) are scored the same way in the same evaluation.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "app"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

LEVELS = {"moderate": 50.0, "strong": 10.0}  # photons at the brightest pixel
READ_NOISE = 2.0
TRAIN_TILE, TEST_TILE, HELD_OUT_FROM = (128, 192), (128, 128), 384


def clean_image() -> np.ndarray:
    spec = importlib.util.find_spec("stardist")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('This benchmark needs the stardist package: .venv/bin/pip install -e ".[bench]"')
    import tifffile

    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "images" / "img2d.tif"
    return tifffile.imread(path).astype(np.float64)


def noisy(clean: np.ndarray, photons: float, rng: np.random.Generator) -> np.ndarray:
    counts = rng.poisson(clean / clean.max() * photons) + rng.normal(0, READ_NOISE, clean.shape)
    return np.clip(np.round(counts * 20 + 100), 0, 65535).astype(np.uint16)


def write_folder(folder: Path, pairs: list[tuple[str, np.ndarray, np.ndarray]]) -> Path:
    import tifffile

    for sub in ("images", "targets"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for name, noisy_tile, clean_tile in pairs:
        tifffile.imwrite(folder / "images" / name, noisy_tile)
        tifffile.imwrite(folder / "targets" / name, clean_tile.astype(np.uint16))
    return folder


def make_data(root: Path, photons: float, seed: int) -> tuple[Path, Path]:
    clean = clean_image()
    rng = np.random.default_rng(seed)
    noise = noisy(clean, photons, rng)  # one noisy acquisition of the whole field
    th, tw = TRAIN_TILE
    train = [(f"train_{y // th}_{x // tw}.tif", noise[y:y + th, x:x + tw], clean[y:y + th, x:x + tw])
             for y in range(0, 512, th) for x in range(0, HELD_OUT_FROM, tw)]
    sh, sw = TEST_TILE
    test = [(f"test_{y // sh}.tif", noise[y:y + sh, HELD_OUT_FROM:HELD_OUT_FROM + sw],
             clean[y:y + sh, HELD_OUT_FROM:HELD_OUT_FROM + sw]) for y in range(0, 512, sh)]
    return write_folder(root / "train", train), write_folder(root / "test", test)


def train_and_score(data: Path, test: Path, work: Path, way: str, args) -> tuple[dict, float]:
    from petrilab.cli import main

    settings, run = work / f"{way}.toml", work / f"run_{way}"
    if main(["init", "--task", "restoration", "--data", str(data), "-o", str(settings)]) != 0:
        raise SystemExit("init failed")
    start = time.perf_counter()
    overrides = ["--set", f"restoration.way={way}", "--set", f"training.epochs={args.epochs}",
                 "--set", f"model.filters=[{args.filters}]", "--set", f"training.learning_rate={args.learning_rate}",
                 "--set", "training.patience=15", "--set", f"data.test_folder={test}",
                 "--set", "split.validation_fraction=0.2", "--set", "split.test_fraction=0.0"]
    if args.masked_percent is not None:  # else restoration's own default
        overrides += ["--set", f"restoration.masked_percent={args.masked_percent}"]
    for extra in args.set:
        overrides += ["--set", extra]
    if main(["train", str(settings), "--quiet", "--run-dir", str(run), *overrides]) != 0:
        raise SystemExit(f"training {way} failed")
    seconds = time.perf_counter() - start
    result = json.loads((run / "evaluation.json").read_text(encoding="utf-8"))
    result["epochs"] = len((run / "history.csv").read_text(encoding="utf-8").splitlines()) - 1
    return result, seconds


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--masked-percent", type=float, default=None,
                        help="Noise2Void's hidden pixels, in %% (default: restoration.masked_percent's own)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another setting for both trainings (repeat), e.g. restoration.test_time_augmentation=no")
    parser.add_argument("--ways", default="noise2void,pairs")
    parser.add_argument("--filters", default="16,32")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--levels", default="moderate,strong")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="petrilab-restoration-") as tmp:
        for level in args.levels.split(","):
            root = Path(tmp) / level
            data, test = make_data(root, LEVELS[level], args.seed)
            results = {way: train_and_score(data, test, root, way, args) for way in args.ways.split(",")}
            compared = next(iter(results.values()))[0]["compared"]
            line = {"level": level, "photons": LEVELS[level]}
            for metric in ("psnr", "ssim"):
                line[f"{metric}_input"] = compared[metric]["input"]
                line[f"{metric}_nlm"] = compared[metric]["non_local_means"]
                for way, (result, _) in results.items():
                    line[f"{metric}_{way}"] = result["compared"][metric]["network"]
            for way, (result, seconds) in results.items():
                line[f"seconds_{way}"] = seconds
                line[f"epochs_{way}"] = result["epochs"]
            rows.append(line)
            print(json.dumps(line), flush=True)
    print()
    print("| noise (photons at the brightest) | figure | noisy input | non-local means | PetriLab, no clean images "
          "(Noise2Void) | PetriLab, pairs (CARE) |")
    print("|---|---|---|---|---|---|")
    for line in rows:
        for metric, unit, digits in (("psnr", " dB", 2), ("ssim", "", 3)):
            cells = [f"{line[f'{metric}_{k}']:.{digits}f}" if f"{metric}_{k}" in line else "—"
                     for k in ("input", "nlm", "noise2void", "pairs")]
            print(f"| {line['level']} ({line['photons']:g}) | {metric.upper()}{unit} | " + " | ".join(cells) + " |")
    print()
    for line in rows:
        took = [f"{line[f'seconds_{w}']:.0f} s for {line[f'epochs_{w}']} epochs ({w})" for w in args.ways.split(",")]
        print(f"{line['level']}: training took " + " and ".join(took) + ".")


if __name__ == "__main__":
    main_benchmark()
