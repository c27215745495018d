"""Before predicting: where the results go, and whether the new images look like the ones the model learnt from.

A model answers anything it is given: a 32 × 32 bead model reads 128 × 128
nuclei and still writes plausible coordinates. So the Predict page compares a
few new images with the run's record of its training data (dataset_check.json,
settings.toml) and points out what differs before predicting. Image headers
only, a few dozen of them: cheap enough for the window's own thread, and never
TensorFlow.

Results go to a new folder named after the model and the moment
(`<experiment folder>/predictions/<run name>_<date>_<time>`), so one model's
results never land on top of another's.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.data.images import image_info, is_image_file
from petrilab.errors import UserError
from petrilab.output_folders import is_inside
from petrilab.resources import user_data_dir
from petrilab.tasks import TASKS, is_per_pixel

SAMPLE = 40  # new images whose headers are read
MAX_FOLDERS = 200  # folders looked into at most (a folder typed half-way, e.g. '/', must not walk the disk)
MAX_ENTRIES = 500  # entries of one sub-folder looked at to tell a folder of images
SCALE_LIMIT = 2.0  # sides more than this many times larger or smaller than in training: pointed out
PREDICTIONS_FOLDER = "predictions"


def default_output(run_dir, runs_dir, avoid=(), now: float | None = None) -> Path:
    """A new results folder for `run_dir`: <runs folder's parent>/predictions/<run name>_<date>_<time>.

    Never one that exists already, never inside the folders in `avoid` (the data, the new images):
    then ~/PetriLab/predictions instead.
    """
    base = Path(runs_dir).parent / PREDICTIONS_FOLDER
    if any(folder and is_inside(base, folder) for folder in avoid):
        base = user_data_dir() / PREDICTIONS_FOLDER
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(now))
    path = base / f"{Path(run_dir).name}_{stamp}"
    n = 2
    while path.exists():
        path = base / f"{Path(run_dir).name}_{stamp}_{n}"
        n += 1
    return path


@dataclass
class FitReport:
    """What differs between the new images and the model's training images, in plain words."""

    problems: list[str] = field(default_factory=list)
    fix: str = ""

    def __bool__(self) -> bool:
        return bool(self.problems)


def _sample_images(folder: Path, limit: int = SAMPLE) -> list[Path]:
    """Up to `limit` images of the folder (sub-folders included, hidden ones skipped), without listing it all."""
    found: list[Path] = []
    for root, dirs, files in itertools.islice(os.walk(folder), MAX_FOLDERS):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if is_image_file(name):
                found.append(Path(root) / name)
                if len(found) >= limit:
                    return found
    return found


def _holds_images(folder: Path) -> bool:
    try:
        return any(is_image_file(q) for q in itertools.islice(folder.iterdir(), MAX_ENTRIES))
    except OSError:
        return False


def _layout_problem(folder: Path, task: str) -> str | None:
    """The folder is laid out as training data of another kind (masks beside images, one folder per class)."""
    try:
        subfolders = {p.name.casefold(): p for p in itertools.islice(folder.iterdir(), 10 * MAX_ENTRIES)
                      if p.is_dir() and not p.name.startswith(".")}
    except OSError:
        return None
    if "images" in subfolders and "masks" in subfolders:
        return (f"The folder '{folder.name}' holds 'images' and 'masks', the layout of segmentation training "
                "data: the masks would be predicted as if they were images.")
    if not (task in TASKS and TASKS[task].data == "folders") and "images" not in subfolders:
        with_images = [p for p in list(subfolders.values())[:MAX_ENTRIES] if _holds_images(p)]
        if len(with_images) >= 2:
            return (f"The folder '{folder.name}' has one sub-folder of images per class "
                    f"({', '.join(sorted(p.name for p in with_images)[:3])}…), the layout of classification data, "
                    f"but this model does {TASKS[task].title.lower() if task in TASKS else task}.")
    return None


def _training_shape(run_dir: Path, settings) -> tuple[tuple[int, int] | None, int | None]:
    """The most common (height, width) and channel count of the training images, from dataset_check.json."""
    try:
        check = json.loads((run_dir / runs.DATASET_CHECK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        check = {}
    size = None
    sizes = check.get("sizes") or {}
    if sizes:
        top = max(sizes.items(), key=lambda kv: kv[1])[0]
        try:
            h, w = (int(v) for v in str(top).lower().split("x"))
            size = (h, w)
        except ValueError:
            size = None
    if size is None and not is_per_pixel(settings.task.kind) and settings.data.image_size:
        size = tuple(settings.data.image_size[:2])
    channels = None
    counts = check.get("channels") or {}
    if counts:
        channels = _colour(int(max(counts.items(), key=lambda kv: kv[1])[0]))
    elif settings.data.channels:
        channels = int(settings.data.channels)
    return size, channels


def _colour(channels: int) -> int:
    return 3 if channels == 4 else channels  # RGBA is a colour image with transparency


def _channel_words(channels: int) -> str:
    return {1: "grey (1 channel)", 3: "colour (3 channels)"}.get(channels, f"{channels} channels")


def check_fit(run_dir, input_dir) -> FitReport:
    """Compare up to SAMPLE new images with what the model in `run_dir` learnt from (headers only)."""
    report = FitReport()
    run_dir, folder = Path(run_dir), Path(input_dir)
    try:
        settings = settings_io.load(run_dir / runs.SETTINGS)
    except UserError:
        return report  # an unreadable run: the engine says why when it starts
    if not folder.is_dir():
        return report
    layout = _layout_problem(folder, settings.task.kind)
    if layout:
        report.problems.append(layout)
    size, channels = _training_shape(run_dir, settings)
    shapes: Counter = Counter()
    for path in _sample_images(folder):
        try:
            info = image_info(path)
        except UserError:
            continue  # the prediction lists unreadable images itself
        shapes[(info.height, info.width, _colour(info.channels))] += 1
    if not shapes:
        return report
    (h, w, c), _n = shapes.most_common(1)[0]
    if size is not None:
        scale = ((h * w) / (size[0] * size[1])) ** 0.5
        if scale > SCALE_LIMIT or scale < 1 / SCALE_LIMIT:
            report.problems.append(
                f"The new images are {h} × {w} pixels; the model learnt from {size[0]} × {size[1]} images "
                f"(things would look {scale:.1f} times {'larger' if scale > 1 else 'smaller'} to it "
                f"than in training)." if is_per_pixel(settings.task.kind) else
                f"The new images are {h} × {w} pixels; the model learnt from {size[0]} × {size[1]} images.")
    if channels is not None and c != channels:
        report.problems.append(f"The new images are {_channel_words(c)}; the model learnt from "
                               f"{_channel_words(channels).split(' (')[0]} images.")
    if report.problems:
        report.fix = ("Check that these are the images this model is for (same microscope, magnification and "
                      "channels), or choose another model or folder. You can still predict: the results may "
                      "be meaningless.")
    return report
