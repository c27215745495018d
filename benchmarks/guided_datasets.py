"""Seven small public datasets for `guided_quality.py`, written as PetriLab dataset folders.

Every source ships inside an installed wheel; nothing is downloaded:

- scikit-learn's 8 × 8 handwritten digits (`sklearn/datasets/data/digits.csv.gz`; UCI, Alpaydin & Kaynak).
- StarDist's fluorescence nuclei image and its hand-drawn instance mask (`stardist/data/images/img2d.tif`,
  `mask2d.tif`: 512 × 512 pixels, 125 nuclei, from the 2018 Data Science Bowl, Caicedo et al., Nature
  Methods 2019). The files are read from the installed package without importing stardist (which would
  load numba and TensorFlow).

No microscopy classification set ships in any package installed here (scikit-image's microscopy samples
other than `cell.png` and `ihc.png` are fetched by pooch), so the microscopy classes are derived from the
nuclei image's hand-drawn annotation: 24 × 24 patches classified by what the annotator drew at the patch's
centre pixel (background, inside a nucleus, on a nucleus's outline) — the patch classifier of a
sliding-window segmentation, with labels made by a person, not by a formula on the pixels.

Every dataset is written as DATA/train and DATA/test in the same layout, so the test set is the same
file for every way of training (PetriLab reads DATA/test through `--test-data`). Crops for the test set
come from another part of the image than the training crops (no pixel is shared), and the tiles do not
overlap. `flip_invariant` records what an expert knows about the labels: whether flips and quarter turns
keep an image's label (the hand-written notebook uses it to switch its augmentation on or off).
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NAMES = ("digits", "nuclei_patches", "nuclei_patches_few", "nuclei_count", "nuclei_position", "nuclei_semantic",
         "nuclei_instance")
SEED = 0  # the datasets are the same in every run; seeds vary the training only


@dataclass
class GuidedDataset:
    name: str
    kind: str  # orientation classes | microscopy classes | count | position | semantic | instance
    task: str  # PetriLab's task
    metric: str  # the test metric compared (a key of evaluation.json's metrics)
    higher_is_better: bool
    flip_invariant: bool
    train: Path
    test: Path
    n_train: int
    n_test: int
    source: str


def _package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"This benchmark needs the {package} package: .venv/bin/pip install -e \".[bench]\"")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
    if not path.is_file():
        raise SystemExit(f"{path} is missing from the installed {package} package.")
    return path


def nuclei_image() -> tuple[np.ndarray, np.ndarray]:
    """StarDist's 512 × 512 nuclei image (values 0–235, so 8 bits lose nothing) and its label image."""
    import tifffile

    image = tifffile.imread(_package_file("stardist", "data", "images", "img2d.tif"))
    labels = tifffile.imread(_package_file("stardist", "data", "images", "mask2d.tif")).astype(np.int32)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def _save_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _save_tif(path: Path, pixels: np.ndarray) -> None:
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, pixels)


def _write_table(folder: Path, columns: list[str], rows: list[tuple[str, ...]]) -> None:
    with open(folder / "targets.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", *columns])
        writer.writerows(rows)


# ---------------------------------------------------------------- 1. digits: classes that depend on orientation


def digits(root: Path, quick: bool) -> GuidedDataset:
    """scikit-learn's digits (16 grey levels, 8 × 8) enlarged to 32 × 32: a 6 turned is a 9, a 2 flipped a 5."""
    from skimage.transform import resize
    from sklearn.datasets import load_digits

    data = load_digits()
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(data.target))
    n_train, n_test = (200, 150) if quick else (900, 300)  # quick: PetriLab wants 5 images a class
    for subset, indices in (("train", order[:n_train]), ("test", order[n_train:n_train + n_test])):
        for i in indices:
            big = resize(data.images[i] / 16.0, (32, 32), order=1, anti_aliasing=False)
            _save_png(root / subset / str(data.target[i]) / f"digit_{i:04d}.png",
                      np.clip(big * 255 + 0.5, 0, 255).astype(np.uint8))
    return GuidedDataset("digits", "orientation classes", "classification", "accuracy", True, False,
                         root / "train", root / "test", n_train, n_test,
                         "scikit-learn load_digits (8x8, bundled), enlarged to 32x32")


# ---------------------------------------------------------------- 2. microscopy classes from the annotation

PATCH = 24
TRAIN_COLUMNS = (0, 304)  # crops lie entirely inside these columns …
TEST_COLUMNS = (320, 512)  # … or these: no pixel of a test crop was seen in training


def _outline(labels: np.ndarray, width: int = 2) -> np.ndarray:
    """Pixels of a nucleus within `width` pixels of its edge (background or another nucleus)."""
    from scipy import ndimage as ndi

    inner = np.zeros(labels.shape, bool)
    for value in np.unique(labels)[1:]:
        one = labels == value
        inner |= ndi.binary_erosion(one, iterations=width, border_value=1)
    return (labels > 0) & ~inner


def nuclei_patches(root: Path, quick: bool) -> GuidedDataset:
    """24 × 24 patches; class = the hand annotation at the centre pixel: background, nucleus or outline."""
    return _patches(root, "nuclei_patches", 60 if quick else 250, 25 if quick else 100)


def nuclei_patches_few(root: Path, quick: bool) -> GuidedDataset:
    """The same question with a few dozen labelled images (15 a class), as a biologist starts; same test size."""
    return _patches(root, "nuclei_patches_few", 15, 25 if quick else 100)


def _patches(root: Path, name: str, n_train: int, n_test: int) -> GuidedDataset:
    image, labels = nuclei_image()
    edge = _outline(labels)
    centre_class = np.where(labels == 0, 0, np.where(edge, 2, 1))
    names = ("background", "nucleus", "outline")
    rng = np.random.default_rng(SEED + 1)
    per_class = {"train": n_train, "test": n_test}
    half = PATCH // 2
    for subset, (lo, hi) in (("train", TRAIN_COLUMNS), ("test", TEST_COLUMNS)):
        rows, cols = np.mgrid[half:image.shape[0] - half, lo + half:hi - half]
        for c, class_name in enumerate(names):
            inside = centre_class[rows, cols] == c
            chosen = rng.choice(int(inside.sum()), per_class[subset], replace=False)
            for k in chosen:
                r, q = rows[inside][k], cols[inside][k]
                _save_png(root / subset / class_name / f"patch_r{r:03d}_c{q:03d}.png",
                          image[r - half:r + half, q - half:q + half])
    return GuidedDataset(name, "microscopy classes", "classification", "accuracy", True, True,
                         root / "train", root / "test", 3 * n_train, 3 * n_test,
                         f"stardist img2d.tif + mask2d.tif (bundled): 24x24 patches, class of the centre pixel, "
                         f"{n_train} a class for training")


# ---------------------------------------------------------------- 3. and 4. counts and positions in crops

CROP = 48


def _crops(image_shape, columns: tuple[int, int], n: int, rng) -> list[tuple[int, int]]:
    tops = rng.integers(0, image_shape[0] - CROP + 1, n)
    lefts = rng.integers(columns[0], columns[1] - CROP + 1, n)
    return list(zip(tops.tolist(), lefts.tolist()))


def nuclei_count(root: Path, quick: bool) -> GuidedDataset:
    """48 × 48 crops; target = nuclei in the crop, a nucleus cut by the edge counting for its share inside."""
    image, labels = nuclei_image()
    areas = np.bincount(labels.ravel())
    rng = np.random.default_rng(SEED + 2)
    sizes = {"train": 120 if quick else 600, "test": 40 if quick else 150}
    for subset, columns in (("train", TRAIN_COLUMNS), ("test", TEST_COLUMNS)):
        rows = []
        for i, (top, left) in enumerate(_crops(image.shape, columns, sizes[subset], rng)):
            window = labels[top:top + CROP, left:left + CROP]
            inside = np.bincount(window.ravel(), minlength=len(areas))
            count = float((inside[1:] / np.maximum(areas[1:], 1)).sum())
            name = f"crop_{i:04d}.png"
            _save_png(root / subset / "images" / name, image[top:top + CROP, left:left + CROP])
            rows.append((name, f"{count:.4f}"))
        _write_table(root / subset, ["nuclei"], rows)
    return GuidedDataset("nuclei_count", "count", "regression", "mae", False, True,
                         root / "train", root / "test", sizes["train"], sizes["test"],
                         "stardist img2d.tif + mask2d.tif (bundled): 48x48 crops, nuclei per crop")


def nuclei_position(root: Path, quick: bool) -> GuidedDataset:
    """48 × 48 crops holding at least half of one nucleus; target = x, y of the brightest such nucleus.

    Brightest: the highest mean intensity over the whole hand-drawn nucleus. Its position is the
    centroid of its part inside the crop, in the crop's pixels (x = column, y = row).
    """
    image, labels = nuclei_image()
    areas = np.bincount(labels.ravel())
    brightness = np.bincount(labels.ravel(), weights=image.ravel().astype(float)) / np.maximum(areas, 1)
    rng = np.random.default_rng(SEED + 3)
    sizes = {"train": 120 if quick else 600, "test": 40 if quick else 150}
    for subset, columns in (("train", TRAIN_COLUMNS), ("test", TEST_COLUMNS)):
        rows = []
        while len(rows) < sizes[subset]:
            (top, left), = _crops(image.shape, columns, 1, rng)
            window = labels[top:top + CROP, left:left + CROP]
            inside = np.bincount(window.ravel(), minlength=len(areas))
            whole_enough = np.flatnonzero((inside[1:] > 0) & (inside[1:] >= 0.5 * areas[1:])) + 1
            if not len(whole_enough):
                continue
            best = whole_enough[np.argmax(brightness[whole_enough])]
            ys, xs = np.nonzero(window == best)
            name = f"crop_{len(rows):04d}.png"
            _save_png(root / subset / "images" / name, image[top:top + CROP, left:left + CROP])
            rows.append((name, f"{xs.mean():.3f}", f"{ys.mean():.3f}"))
        _write_table(root / subset, ["x", "y"], rows)
    return GuidedDataset("nuclei_position", "position", "regression", "position_error", False, False,
                         root / "train", root / "test", sizes["train"], sizes["test"],
                         "stardist img2d.tif + mask2d.tif (bundled): 48x48 crops, x, y of the brightest nucleus")


# ---------------------------------------------------------------- 5. and 6. segmentation tiles

TILE = 64
SPLIT_ROW = 320  # tiles above train (and validate), tiles below test


def _tiles(image, target, root: Path, quick: bool) -> tuple[int, int]:
    counts = {"train": 0, "test": 0}
    for subset, (r0, r1) in (("train", (0, SPLIT_ROW)), ("test", (SPLIT_ROW, image.shape[0]))):
        for r in range(r0, r1 - TILE + 1, TILE):
            for c in range(0, image.shape[1] - TILE + 1, TILE):
                if quick and counts[subset] >= (10 if subset == "train" else 4):
                    break
                name = f"tile_r{r:03d}_c{c:03d}.tif"
                _save_tif(root / subset / "images" / name, image[r:r + TILE, c:c + TILE])
                _save_tif(root / subset / "masks" / name, target(r, c))
                counts[subset] += 1
    return counts["train"], counts["test"]


def nuclei_semantic(root: Path, quick: bool) -> GuidedDataset:
    """64 × 64 tiles; pixel classes 0 background, 1 nucleus, 2 nucleus outline (separates touching nuclei)."""
    image, labels = nuclei_image()
    classes = np.where(labels == 0, 0, np.where(_outline(labels), 2, 1)).astype(np.uint8)
    n_train, n_test = _tiles(image, lambda r, c: classes[r:r + TILE, c:c + TILE], root, quick)
    return GuidedDataset("nuclei_semantic", "semantic segmentation", "semantic", "iou", True, True,
                         root / "train", root / "test", n_train, n_test,
                         "stardist img2d.tif + mask2d.tif (bundled): 64x64 tiles, background / nucleus / outline")


def nuclei_instance(root: Path, quick: bool) -> GuidedDataset:
    """64 × 64 tiles with the hand-drawn label image (nuclei cut by a tile's edge stay cut)."""
    from skimage.segmentation import relabel_sequential

    image, labels = nuclei_image()

    def target(r, c):
        return relabel_sequential(labels[r:r + TILE, c:c + TILE])[0].astype(np.uint16)

    n_train, n_test = _tiles(image, target, root, quick)
    return GuidedDataset("nuclei_instance", "instance segmentation", "instance", "object_f1", True, True,
                         root / "train", root / "test", n_train, n_test,
                         "stardist img2d.tif + mask2d.tif (bundled): 64x64 tiles with the nuclei labels")


BUILDERS = {"digits": digits, "nuclei_patches": nuclei_patches, "nuclei_patches_few": nuclei_patches_few,
            "nuclei_count": nuclei_count, "nuclei_position": nuclei_position, "nuclei_semantic": nuclei_semantic,
            "nuclei_instance": nuclei_instance}


def build(name: str, root: Path, quick: bool = False) -> GuidedDataset:
    """Write dataset `name` under root (root/train, root/test) and describe it."""
    if name not in BUILDERS:
        raise SystemExit(f"Unknown dataset {name!r}; choose among: {', '.join(NAMES)}")
    root.mkdir(parents=True, exist_ok=True)
    return BUILDERS[name](root, quick)
