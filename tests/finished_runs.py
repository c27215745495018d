"""Finished runs for the tests that only read one (evaluate, predict, report, export, the pages showing results).

Each recipe is trained once by the real engine (`petrilab init` + `petrilab train` through `petrilab.cli.main`,
in the test process) and kept in a cache folder named by a hash of the app's sources, this file and the
TensorFlow/Keras versions: a change to any of them trains it again, an unchanged checkout reuses it across
test sessions. The suite's parallel workers share the cache under a file lock (the first trains, the others
wait). A test gets its own copy of the run (`copy_of`), so what it writes never reaches another test; the
data stay in the cache, read only (the engine never writes into a data folder, and tests check that).

PETRILAB_TEST_CACHE moves the cache (default ~/.cache/petrilab-tests); delete it to train everything again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from filelock import FileLock

APP = Path(__file__).resolve().parents[1] / "app"
COMPLETE = "complete.txt"  # written last: a folder without it is a build that died half-way


def _classification_data(folder: Path) -> Path:
    from petrilab.demo import make_classification_demo

    return make_classification_demo(folder / "cell-shapes", n_per_class=8, size=32, seed=1)


def _regression_data(folder: Path) -> Path:
    from petrilab.demo import make_regression_demo

    return make_regression_demo(folder / "bead-positions", n_images=40, size=32, seed=2)


def _bundled(task: str) -> Callable[[Path], Path]:
    def data(folder: Path) -> Path:  # the demo nuclei shipped in resources/ (read where they are)
        from petrilab.resources import demo_data

        return demo_data(task)
    return data


@dataclass(frozen=True)
class Recipe:
    task: str
    data: Callable[[Path], Path]  # makes (or finds) the data, given a folder to make it in
    sets: tuple[str, ...]  # `--set key=value` for `petrilab train`


_TINY_UNET = ("model.filters=[8, 16]", "model.dropout=0.0", "model.batch_norm=false", "training.learning_rate=0.003",
              "training.batch_size=4", "data.patch_size=[64, 64]", "augmentation.elastic=0.0",
              "augmentation.geometric=no", "training.epochs=8")

RECIPES = {
    # 24 grey 32 × 32 cells in 3 classes, a two-block ConvNet (helpers.small_settings), 2 epochs; a training seed
    # other than the split's (42), so a report that mixed them up would show it
    "classification": Recipe("classification", _classification_data, (
        "data.image_size=[32, 32]", "model.filters=[8, 16]", "model.head_units=[16]", "training.batch_size=8",
        "training.epochs=2", "training.learning_rate=0.001", "augmentation.geometric=no", "training.seed=7")),
    # 40 bead images (32 × 32), a bead position per image
    "regression": Recipe("regression", _regression_data, (
        "data.image_size=[32, 32]", "model.filters=[4, 8]", "model.head_units=[8]", "training.batch_size=8",
        "training.epochs=2", "training.learning_rate=0.001", "augmentation.geometric=no")),
    # tiny U-Nets on the bundled demo nuclei: learn enough in 8 epochs for outlines and scores to mean something
    "semantic": Recipe("semantic", _bundled("semantic"), _TINY_UNET),
    "instance": Recipe("instance", _bundled("instance"), _TINY_UNET),
}


@dataclass(frozen=True)
class FinishedRun:
    run: Path  # the test's own copy of the run folder
    data: Path  # the data it was trained on (shared: read only)
    settings: Path  # the settings file `init` wrote (shared: read only)


def cache_root() -> Path:
    return Path(os.environ.get("PETRILAB_TEST_CACHE") or Path.home() / ".cache" / "petrilab-tests")


def version_key() -> str:
    """A hash of what a finished run depends on: the app's sources, these recipes, the deep-learning libraries."""
    digest = hashlib.sha256()
    for path in sorted(APP.rglob("*.py")):
        digest.update(path.relative_to(APP).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(Path(__file__).read_bytes())
    for package in ("tensorflow", "keras", "numpy"):
        try:
            digest.update(f"{package}={importlib.metadata.version(package)}".encode())
        except importlib.metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:16]


def cached(name: str) -> Path:
    """The cache folder of recipe `name` (data/, settings.toml, run/), trained now if it is not there yet."""
    folder = cache_root() / f"{name}-{version_key()}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock", timeout=1800):
        if not (folder / COMPLETE).is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a build that died half-way
            _train(RECIPES[name], folder)
            (folder / COMPLETE).write_text(name + "\n", encoding="utf-8")
            _forget_old(name, folder)
        os.utime(folder)  # its last use: what _forget_old goes by
    return folder


def _forget_old(name: str, kept: Path, days: float = 7) -> None:
    """Versions of this recipe unused for a week go (another checkout may still be using a recent one)."""
    for old in kept.parent.glob(f"{name}-*"):
        if old.is_dir() and old != kept and time.time() - old.stat().st_mtime > days * 86400:
            shutil.rmtree(old, ignore_errors=True)


def _train(recipe: Recipe, folder: Path) -> None:
    from petrilab.cli import main

    folder.mkdir(parents=True)
    data = recipe.data(folder / "data")
    (folder / "data-folder.txt").write_text(str(data), encoding="utf-8")
    settings = folder / "settings.toml"
    assert main(["init", "--task", recipe.task, "--data", str(data), "-o", str(settings)]) == 0
    sets = [word for key_value in recipe.sets for word in ("--set", key_value)]
    assert main(["train", str(settings), "--quiet", "--run-dir", str(folder / "run"), *sets]) == 0


def copy_of(name: str, destination: Path) -> FinishedRun:
    """A copy of recipe `name`'s finished run at `destination` (made; it must not exist yet)."""
    folder = cached(name)
    shutil.copytree(folder / "run", destination)
    data = Path((folder / "data-folder.txt").read_text(encoding="utf-8"))
    return FinishedRun(run=Path(destination), data=data, settings=folder / "settings.toml")
