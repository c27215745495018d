"""An experiment is a settings file.

One dataclass tree (task, data, split, model, augmentation, training), the
defaults for each task, validation with plain-language errors that name the
key (a value's type is checked by settings_types.py), and TOML load/save that
round-trips. The GUI edits a `Settings`; the engine reads one; the run folder
keeps the one that ran.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from petrilab import SETTINGS_FORMAT, __version__
from petrilab import settings_files
from petrilab.errors import UserError
from petrilab.data.network_depth import DEFAULT_FILTERS
from petrilab.settings_types import coerce
from petrilab.tasks import DEFAULT_TASK, TASKS


@dataclass
class TaskSettings:
    kind: str = DEFAULT_TASK


@dataclass
class DataSettings:
    folder: str = ""
    test_folder: str = ""  # empty: the split makes a test set
    classes: list[str] = field(default_factory=list)  # empty: the sub-folder names
    image_size: list[int] = field(default_factory=lambda: [64, 64])  # height, width the model sees
    channels: int = 0  # 0: decided from the data; 1 grey; 3 RGB; 2 or 4 kept as they are
    normalisation: str = "scale"  # scale | mean_std | percentile
    percentile_low: float = 1.0
    percentile_high: float = 99.8
    class_weights: bool = False  # weigh rare classes up during training
    load: str = "auto"  # auto | memory | stream (read from disk batch by batch)
    patch_size: list[int] = field(default_factory=list)  # segmentation: [height, width] of training patches; empty: from the data
    target_columns: list[str] = field(default_factory=list)  # regression: the targets.csv columns to learn; empty: all
    # regression, decided from the training images: each target's mean and spread (targets are standardised)
    target_mean: list[float] = field(default_factory=list)
    target_std: list[float] = field(default_factory=list)
    # regression: what each target column is, for flips and turns (data/target_geometry.py):
    # invariant | position_x | position_y | angle | other; a column not listed is decided by a probe
    target_kinds: dict[str, str] = field(default_factory=dict)


@dataclass
class SplitSettings:
    validation_fraction: float = 0.2
    test_fraction: float = 0.15
    seed: int = 42
    stratify: bool = True


@dataclass
class ModelSettings:
    architecture: str = "convnet"  # dense | convnet | vgg | transfer
    activation: str = "relu"
    dense_layers: list[int] = field(default_factory=lambda: [32, 16])  # dense: neurons per hidden layer
    filters: list[int] = field(default_factory=lambda: list(DEFAULT_FILTERS))  # convnet / vgg: filters per block
    head_units: list[int] = field(default_factory=lambda: [64])  # dense layers after the convolutions
    dropout: float = 0.0
    batch_norm: bool = False
    l1: float = 0.0
    l2: float = 0.0
    backbone: str = "mobilenetv2"  # transfer: mobilenetv2 | vgg16
    weights: str = "imagenet"  # transfer: imagenet | random | path to a weights file
    fine_tune_layers: int = 0  # transfer: 0 keeps the pretrained base frozen
    start_from: str = ""  # a trained model to continue from (.keras file or run folder); "" = from scratch


@dataclass
class AugmentationSettings:
    # whether flips and turns keep the answer (the user's question, not the task's): auto (a short probe
    # decides, training/geometry_probe.py) | yes | no (no flips, turns, free rotation or zoom)
    geometric: str = "auto"
    flip_horizontal: bool = True
    flip_vertical: bool = True
    rotate_90: bool = True
    rotation: float = 0.0  # largest free rotation, degrees
    brightness: float = 0.0  # largest change, fraction of the range
    contrast: float = 0.0  # largest change, fraction
    noise: float = 0.0  # Gaussian noise standard deviation, fraction of the range
    zoom: float = 0.0  # largest zoom in or out, fraction
    elastic: float = 0.0  # segmentation: strength of elastic deformation (0 = off)


@dataclass
class TrainingSettings:
    epochs: int = 200  # with early stopping: the most epochs (a cap), not a guess
    batch_size: int = 32
    learning_rate: float | str = "auto"  # a number, or "auto": a short range test chooses it (training/lr_finder.py)
    optimizer: str = "adam"  # sgd | momentum | adam | rmsprop
    loss: str = "auto"  # auto: the task's loss
    early_stopping: bool = True  # stop when validation loss stops improving; the best epoch's weights are kept
    patience: int = 10
    # filled in the run's settings.toml: the settings PetriLab chose itself ("auto" at the start), e.g.
    # ["training.learning_rate", "augmentation.geometric"]; their "auto" is in the experiment's own file
    decided_automatically: list[str] = field(default_factory=list)
    device: str = "auto"  # auto | cpu | gpu
    devices: str = "auto"  # auto (every GPU shares the training) | one
    mixed_precision: str = "auto"  # auto | on | off
    seed: int = 42
    backend: str = "auto"  # auto (KERAS_BACKEND, else tensorflow) | tensorflow | torch (PyTorch: GPU on Windows)


@dataclass
class PostprocessSettings:
    """Turning probability maps into masks and objects (segmentation)."""

    threshold: float = 0.5  # foreground probability above which a pixel is foreground
    tune_threshold: bool = True  # choose the threshold that scores best on the validation images
    fill_holes: bool = True
    min_size: int = 0  # objects smaller than this (pixels) are removed; 0 keeps all
    max_size: int = 0  # objects larger than this (pixels) are removed; 0 keeps all
    clear_border: bool = False  # remove objects touching the image border
    split_touching: bool = True  # separate touching objects by watershed (instance segmentation)
    label_thresholds: list[float] = field(default_factory=list)  # multi-label: one per label; empty: threshold for all


@dataclass
class Settings:
    name: str = "experiment"
    task: TaskSettings = field(default_factory=TaskSettings)
    data: DataSettings = field(default_factory=DataSettings)
    split: SplitSettings = field(default_factory=SplitSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    augmentation: AugmentationSettings = field(default_factory=AugmentationSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    postprocess: PostprocessSettings = field(default_factory=PostprocessSettings)

    def to_dict(self) -> dict:
        body = dataclasses.asdict(self)
        return {"format": SETTINGS_FORMAT, "petrilab_version": __version__, **body}

    def copy(self) -> "Settings":
        return from_dict(self.to_dict())


SECTIONS = ("task", "data", "split", "model", "augmentation", "training", "postprocess")

CHOICES = {
    "task.kind": tuple(TASKS),
    "data.normalisation": ("scale", "mean_std", "percentile"),
    "data.load": ("auto", "memory", "stream"),
    "data.channels": (0, 1, 2, 3, 4),
    "model.architecture": ("dense", "convnet", "vgg", "transfer", "unet"),
    "model.activation": ("relu", "sigmoid", "tanh", "gelu", "silu"),
    "model.backbone": ("mobilenetv2", "vgg16"),
    "training.optimizer": ("sgd", "momentum", "adam", "rmsprop"),
    "training.loss": ("auto", "binary_crossentropy", "categorical_crossentropy", "weighted_crossentropy", "dice",
                      "crossentropy_dice", "focal", "mse", "mae", "huber"),
    "training.device": ("auto", "cpu", "gpu"),
    "training.devices": ("auto", "one"),
    "training.mixed_precision": ("auto", "on", "off"),
    "training.backend": ("auto", "tensorflow", "torch"),
    "augmentation.geometric": ("auto", "yes", "no"),
}
TARGET_KINDS = ("invariant", "position_x", "position_y", "angle", "other")

# (smallest, largest) allowed, both included
RANGES = {
    "data.percentile_low": (0.0, 50.0),
    "data.percentile_high": (50.0, 100.0),
    "split.validation_fraction": (0.01, 0.5),
    "split.test_fraction": (0.0, 0.5),
    "model.dropout": (0.0, 0.9),
    "model.l1": (0.0, 1.0),
    "model.l2": (0.0, 1.0),
    "model.fine_tune_layers": (0, 10_000),
    "augmentation.rotation": (0.0, 180.0),
    "augmentation.brightness": (0.0, 1.0),
    "augmentation.contrast": (0.0, 1.0),
    "augmentation.noise": (0.0, 1.0),
    "augmentation.zoom": (0.0, 0.9),
    "augmentation.elastic": (0.0, 1.0),
    "postprocess.threshold": (0.0, 1.0),
    "postprocess.min_size": (0, 100_000_000),
    "postprocess.max_size": (0, 100_000_000),
    "training.epochs": (1, 100_000),
    "training.batch_size": (1, 65_536),
    "training.learning_rate": (1e-8, 10.0),
    "training.patience": (1, 100_000),
}


AUTO_NUMBERS = ("training.learning_rate",)  # number settings that may also be "auto"

# Settings whose default depends on the task: each task's `defaults` in tasks.py. (Flips and turns are on
# for every task: augmentation.geometric and data.target_kinds say whether they keep the answer, and move a
# position target with the image.)
TASK_DEFAULTS = {key: task.defaults for key, task in TASKS.items() if task.defaults}


def task_defaults(task: str) -> dict[str, object]:
    """For every key some task sets its own way: its default value for `task` (the general default otherwise).

    Applying all of them when the user changes task leaves no other task's choice behind.
    """
    keys = {key for overrides in TASK_DEFAULTS.values() for key in overrides}
    general = Settings()
    return {key: TASK_DEFAULTS.get(task, {}).get(key, get_value(general, key)) for key in sorted(keys)}


def defaults_for(task: str) -> Settings:
    """A new experiment with the defaults for `task`."""
    settings = Settings()
    settings.task.kind = task
    for key, value in task_defaults(task).items():
        apply_override(settings, key, value)
    return settings


# ---------------------------------------------------------------- types


def _section_types(section: str) -> dict[str, typing.Any]:
    cls = type(getattr(Settings(), section))
    return typing.get_type_hints(cls)


# ---------------------------------------------------------------- dict / TOML


def from_dict(raw: dict, source: str | None = None) -> Settings:
    """Build Settings from a parsed TOML dict, reporting unknown keys and wrong types by name."""
    where = f" in {source}" if source else ""
    raw = dict(raw)
    version = raw.pop("format", SETTINGS_FORMAT)
    written_by = raw.pop("petrilab_version", None)
    if not isinstance(version, int) or version > SETTINGS_FORMAT:
        raise UserError(
            f"This settings file was written by a newer PetriLab ({written_by or 'unknown version'}); "
            f"this is PetriLab {__version__}.",
            file=source,
            fix="Update PetriLab, or start a new experiment in this version.",
        )
    settings = Settings()
    if "name" in raw:
        settings.name = coerce("name", raw.pop("name"), str)
    for section in SECTIONS:
        values = raw.pop(section, {})
        if not isinstance(values, dict):
            raise UserError(f"'{section}' must be a section ([{section}]){where}.", file=source)
        target = getattr(settings, section)
        types = _section_types(section)
        for key, value in values.items():
            full = f"{section}.{key}"
            if key not in types:
                known = ", ".join(types)
                raise UserError(
                    f"Unknown setting '{full}'{where}.",
                    file=source,
                    fix=f"Check its spelling. The settings of [{section}] are: {known}.",
                )
            setattr(target, key, coerce(full, value, types[key]))
    if raw:
        unknown = ", ".join(sorted(raw))
        raise UserError(
            f"Unknown section or setting '{unknown}'{where}.",
            file=source,
            fix=f"The sections are: {', '.join(SECTIONS)} (and 'name' at the top).",
        )
    return settings


def load(path: str | Path) -> Settings:
    """Read and validate a settings file; relative data folders are relative to the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"The settings file {path} does not exist.", file=path,
                        fix="Check the path, or create one with 'petrilab init'.")
    try:
        raw = tomllib.loads(settings_files.decode(path.read_bytes()))  # a BOM or UTF-16 (Notepad) too
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"The settings file {path} is not valid TOML: {exc}.", file=path,
                        fix="Fix the line it names, or save the experiment again from PetriLab.") from None
    try:
        settings = from_dict(raw, source=str(path))
    except UserError as exc:
        exc.file = exc.file or str(path)  # a wrong type names the key: say in which file too
        raise
    from petrilab.file_names import from_shown

    settings.data.classes = [from_shown(c) for c in settings.data.classes]  # the folders' real names
    settings.model.start_from = from_shown(settings.model.start_from or "") or settings.model.start_from
    for attr in ("folder", "test_folder"):
        value = from_shown(getattr(settings.data, attr) or "") or getattr(settings.data, attr)
        value = settings_files.local_path(value)  # data\\cells written on Windows
        setattr(settings.data, attr, value)
        if value and not Path(value).is_absolute() and not settings_files.is_windows_absolute(value):
            setattr(settings.data, attr, str((path.parent / value).resolve()))
    start_from = settings.model.start_from
    if start_from and not Path(start_from).is_absolute():
        settings.model.start_from = str((path.parent / start_from).resolve())
    weights = settings.model.weights
    if weights not in ("imagenet", "random") and not Path(weights).is_absolute():
        settings.model.weights = str((path.parent / weights).resolve())
    validate(settings, source=str(path))
    return settings


def dumps(settings: Settings) -> str:
    from petrilab.file_names import shown_values  # folder and class names that are not UTF-8: \\xNN

    return tomli_w.dumps(shown_values(settings.to_dict()))


def save(settings: Settings, path: str | Path) -> Path:
    from petrilab.runs import atomic_write_text  # runs imports settings

    path = Path(path)
    atomic_write_text(path, dumps(settings))
    return path


# ---------------------------------------------------------------- overrides and validation


def parse_override(text: str) -> tuple[str, object]:
    """'training.epochs=5' → ('training.epochs', 5). Values are read as TOML, else as text."""
    if "=" not in text:
        raise UserError(f"'--set {text}' needs the form section.key=value, e.g. training.epochs=5.")
    key, value = (part.strip() for part in text.split("=", 1))
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key, parsed


def apply_override(settings: Settings, key: str, value) -> None:
    """Set one 'section.key' (or 'name'), with the same checks as loading a file."""
    if key == "name":
        settings.name = coerce(key, value, str)
        return
    section, _, name = key.partition(".")
    if section not in SECTIONS or not name:
        raise UserError(f"Unknown setting '{key}'.", fix=f"Use section.key with a section among: {', '.join(SECTIONS)}.")
    types = _section_types(section)
    if name not in types:
        raise UserError(f"Unknown setting '{key}'.", fix=f"The settings of [{section}] are: {', '.join(types)}.")
    target_type = types[name]
    if target_type is str and not isinstance(value, str):
        value = str(value)
    setattr(getattr(settings, section), name, coerce(key, value, target_type))


def validate(settings: Settings, source: str | None = None) -> None:
    """Raise a UserError for the first value out of its allowed choices or range."""
    for key, allowed in CHOICES.items():
        value = get_value(settings, key)
        if value not in allowed:
            listed = ", ".join(str(a) for a in allowed)
            raise UserError(f"The setting '{key}' cannot be {value!r}.", file=source, fix=f"Use one of: {listed}.")
    for key, (low, high) in RANGES.items():
        value = get_value(settings, key)
        if isinstance(value, str) and key in AUTO_NUMBERS:
            if value != "auto":
                raise UserError(f"The setting '{key}' cannot be {value!r}.", file=source,
                                fix=f'Use a number between {low} and {high}, or "auto".')
            continue
        if not low <= value <= high:
            raise UserError(f"The setting '{key}' is {value}, outside {low} … {high}.", file=source,
                            fix=f"Choose a value between {low} and {high}.")
    s = settings
    for column, kind in s.data.target_kinds.items():
        if kind not in TARGET_KINDS:
            raise UserError(f"The kind of the target '{column}' in 'data.target_kinds' cannot be {kind!r}.",
                            file=source, fix=f"Use one of: {', '.join(TARGET_KINDS)}.")
    if s.split.validation_fraction + s.split.test_fraction >= 0.9:
        raise UserError("The validation and test fractions leave almost nothing to train on.", file=source,
                        fix="Keep validation + test below 0.9 (typically 0.2 + 0.15).")
    if len(s.data.image_size) != 2 or min(s.data.image_size) < 8 or max(s.data.image_size) > 4096:
        raise UserError(f"'data.image_size' must be [height, width] between 8 and 4096, not {s.data.image_size}.",
                        file=source, fix="For example image_size = [64, 64].")
    if s.data.patch_size and (len(s.data.patch_size) != 2 or min(s.data.patch_size) < 16 or max(s.data.patch_size) > 4096):
        raise UserError(f"'data.patch_size' must be [height, width] between 16 and 4096, not {s.data.patch_size}.",
                        file=source, fix="For example patch_size = [128, 128], or [] to choose from the data.")
    if s.data.percentile_low >= s.data.percentile_high:
        raise UserError("'data.percentile_low' must be below 'data.percentile_high'.", file=source)
    if any(not 0.0 <= t <= 1.0 for t in s.postprocess.label_thresholds):
        raise UserError("Every entry of 'postprocess.label_thresholds' must be between 0 and 1.", file=source)
    if len(s.data.target_mean) != len(s.data.target_std) or any(not sd > 0 for sd in s.data.target_std):
        raise UserError("'data.target_mean' and 'data.target_std' must have one entry per target, and every "
                        "spread must be above 0.", file=source,
                        fix="Leave both empty: training computes them from the training images.")
    for key in ("model.dense_layers", "model.filters", "model.head_units"):
        if any(n < 1 or n > 8192 for n in get_value(settings, key)):
            raise UserError(f"Every entry of '{key}' must be between 1 and 8192.", file=source)
    if s.model.architecture in ("convnet", "vgg", "unet") and not s.model.filters:
        raise UserError(f"A {s.model.architecture} needs at least one block in 'model.filters'.", file=source,
                        fix="For example filters = [16, 32, 64].")


def get_value(settings: Settings, key: str):
    if key == "name":
        return settings.name
    section, _, name = key.partition(".")
    return getattr(getattr(settings, section), name)
