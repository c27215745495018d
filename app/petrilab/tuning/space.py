"""What a tuning may change: one row per dimension, each naming the settings it writes.

A dimension is asked of Optuna by name (its `kind` and `choices` or range), only for the tasks and
architectures it suits (`applies`), and written into the settings by `apply`. The starting settings
stay the reference: a sampled value of "unchanged" (or factor 1) leaves them as the user set them.
To search one more setting, add a row to DIMENSIONS; only keys that exist in settings.py can be set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from petrilab import settings as settings_io
from petrilab.settings import Settings
from petrilab.tasks import MASK_TASKS, PER_PIXEL_TASKS as PER_PIXEL, TASKS

GEOMETRIC = ("augmentation.flip_horizontal", "augmentation.flip_vertical", "augmentation.rotate_90",
             "augmentation.rotation", "augmentation.zoom")
# augmentation levels; a task whose flips move its targets (regression: a position) leaves the geometric ones out
AUGMENTATION_LEVELS = {
    "none": {"augmentation.flip_horizontal": False, "augmentation.flip_vertical": False,
             "augmentation.rotate_90": False, "augmentation.rotation": 0.0, "augmentation.brightness": 0.0,
             "augmentation.contrast": 0.0, "augmentation.noise": 0.0, "augmentation.zoom": 0.0},
    "light": {"augmentation.flip_horizontal": True, "augmentation.flip_vertical": True,
              "augmentation.rotate_90": True, "augmentation.brightness": 0.05, "augmentation.contrast": 0.05},
    "strong": {"augmentation.flip_horizontal": True, "augmentation.flip_vertical": True,
               "augmentation.rotate_90": True, "augmentation.rotation": 30.0, "augmentation.brightness": 0.15,
               "augmentation.contrast": 0.15, "augmentation.noise": 0.02, "augmentation.zoom": 0.1},
}


@dataclass(frozen=True)
class Dimension:
    name: str  # the Optuna parameter's name, and the column a tuning.csv reader sees in "changes"
    kind: str  # "log" (a float on a log scale) | "float" | "choice"
    apply: Callable[[Settings, object], None]  # writes the value into settings (a copy of the starting ones)
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: Callable[[Settings], tuple] = field(default=lambda s: ())  # from the starting settings
    applies: Callable[[Settings], bool] = field(default=lambda s: True)
    key: str | None = None  # the one settings key it sets, when it sets exactly one (advice maps onto it)

    def suggest(self, trial, start: Settings):
        if self.kind == "log":
            return trial.suggest_float(self.name, self.low, self.high, log=True)
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high, step=self.step)
        return trial.suggest_categorical(self.name, list(self.choices(start)))

    def contains(self, value, start: Settings) -> bool:
        if self.kind in ("log", "float"):
            return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high
        return value in self.choices(start)


def _set(key: str) -> Callable[[Settings, object], None]:
    return lambda s, value: settings_io.apply_override(s, key, value)


def _network(s: Settings) -> bool:
    return s.model.architecture in ("dense", "convnet", "vgg", "unet") and not s.model.start_from


def _sizes_key(s: Settings) -> str:
    return "model.dense_layers" if s.model.architecture == "dense" else "model.filters"


def _width(s: Settings, factor) -> None:
    # every layer's size times `factor` (a factor of 1 keeps the user's network)
    for key in (_sizes_key(s), "model.head_units"):
        sizes = settings_io.get_value(s, key)
        settings_io.apply_override(s, key, [min(8192, max(2, int(round(n * factor)))) for n in sizes])


def _depth(s: Settings, change) -> None:
    # one block (or dense layer) more, twice as wide as the last, or one fewer (at least one stays)
    key = _sizes_key(s)
    sizes = list(settings_io.get_value(s, key))
    if change > 0 and sizes:
        sizes.append(min(8192, sizes[-1] * 2))
    elif change < 0 and len(sizes) > 1:
        sizes.pop()
    settings_io.apply_override(s, key, sizes)


def _augmentation(s: Settings, level) -> None:
    for key, value in AUGMENTATION_LEVELS.get(level, {}).items():
        if TASKS[s.task.kind].geometry == "targets" and key in GEOMETRIC and value:
            continue
        settings_io.apply_override(s, key, value)
    if s.task.kind in MASK_TASKS and level in AUGMENTATION_LEVELS:
        settings_io.apply_override(s, "augmentation.elastic", {"none": 0.0, "light": 0.1, "strong": 0.3}[level])


def _image_size(s: Settings, factor) -> None:
    settings_io.apply_override(s, "data.image_size", [min(1024, max(16, int(round(n * factor))))
                                                      for n in s.data.image_size])


def _patch_size(s: Settings, size) -> None:
    if size:
        settings_io.apply_override(s, "data.patch_size", [int(size), int(size)])


def _batch_sizes(s: Settings) -> tuple:
    b = s.training.batch_size
    return tuple(sorted({max(1, b // 2), b, min(65_536, b * 2)}))


DIMENSIONS: list[Dimension] = [
    Dimension("learning_rate", "log", _set("training.learning_rate"), low=1e-5, high=1e-2,
              key="training.learning_rate", applies=lambda s: s.training.learning_rate != "auto"),
    # an "auto" start stays one of the choices, so trial 0 is the user's settings (range test included)
    Dimension("learning_rate", "choice", _set("training.learning_rate"), key="training.learning_rate",
              choices=lambda s: ("auto", 1e-4, 3e-4, 1e-3, 3e-3), applies=lambda s: s.training.learning_rate == "auto"),
    Dimension("batch_size", "choice", _set("training.batch_size"), choices=_batch_sizes, key="training.batch_size"),
    # never for restoration: brighter, contrasted or noisier inputs would change the answer
    Dimension("augmentation", "choice", _augmentation, choices=lambda s: ("unchanged", "none", "light", "strong"),
              applies=lambda s: not TASKS[s.task.kind].restores),
    Dimension("dropout", "float", _set("model.dropout"), low=0.0, high=0.5, step=0.05, key="model.dropout"),
    Dimension("l2", "choice", _set("model.l2"), choices=lambda s: tuple(sorted({0.0, 1e-5, 1e-4, 1e-3, s.model.l2})),
              key="model.l2"),
    # one or two convolutions per block (the ConvNet or the workshop's VGG-like network, same filters)
    Dimension("architecture", "choice", _set("model.architecture"), key="model.architecture",
              choices=lambda s: tuple(dict.fromkeys((s.model.architecture, "convnet", "vgg"))),
              applies=lambda s: s.model.architecture in ("convnet", "vgg") and _network(s)),
    Dimension("width", "choice", _width, choices=lambda s: (0.5, 1.0, 2.0), applies=_network),
    Dimension("depth", "choice", _depth, choices=lambda s: (-1, 0, 1), applies=_network),
    Dimension("input_size", "choice", _image_size, choices=lambda s: (0.5, 1.0, 2.0),
              applies=lambda s: s.task.kind not in PER_PIXEL and s.model.architecture != "transfer"),
    Dimension("patch_size", "choice", _patch_size, choices=lambda s: (0, 64, 128, 256),
              applies=lambda s: s.task.kind in PER_PIXEL),
    Dimension("loss", "choice", _set("training.loss"), key="training.loss",
              choices=lambda s: tuple(dict.fromkeys((s.training.loss, "crossentropy_dice", "dice", "focal",
                                                     "weighted_crossentropy"))),
              applies=lambda s: s.task.kind in MASK_TASKS),
]


def dimensions_for(start: Settings) -> list[Dimension]:
    return [d for d in DIMENSIONS if d.applies(start)]


def build(start: Settings, params: dict, extra: dict | None = None) -> Settings:
    """The trial's settings: the starting ones, the sampled `params` written in, then `extra` keys
    (absolute values, e.g. a diagnosis' advice) on top; checked like a settings file."""
    settings = start.copy()
    for dim in dimensions_for(start):
        if dim.name in params:
            dim.apply(settings, params[dim.name])
    for key, value in (extra or {}).items():
        settings_io.apply_override(settings, key, value)
    settings_io.validate(settings)
    return settings


def suggest(trial, start: Settings, only: dict | None = None) -> dict:
    """Ask the trial for a value of every dimension that suits the starting settings (`only`: of these)."""
    return {dim.name: dim.suggest(trial, start) for dim in dimensions_for(start) if only is None or dim.name in only}


NEUTRAL = {"augmentation": "unchanged", "width": 1.0, "depth": 0, "input_size": 1.0, "patch_size": 0}


def neutral(start: Settings) -> dict:
    """The starting settings as values of the dimensions, where the space can say them (trial 0's values,
    so the sampler learns from it too); a dimension that cannot (e.g. a dropout off its 0.05 grid) is left out."""
    found = {}
    for dim in dimensions_for(start):
        value = NEUTRAL.get(dim.name, settings_io.get_value(start, dim.key) if dim.key else None)
        if value is not None and dim.contains(value, start) and not changes(start, build(start, {dim.name: value})):
            found[dim.name] = value
    return found


# the keys a trial never changes: the data, the split (choices are made on the same validation images),
# where the model starts from, and what only says how to run
FIXED_PREFIXES = ("data.folder", "data.test_folder", "data.classes", "data.target", "data.channels", "split.",
                  "model.start_from", "model.weights", "training.seed", "training.device", "training.devices",
                  "training.backend", "training.mixed_precision", "postprocess.", "name")


def changes(start: Settings, settings: Settings) -> dict:
    """The settings keys whose value differs from the starting settings: {key: new value}."""
    before, after = _flat(start), _flat(settings)
    return {k: v for k, v in after.items() if before.get(k) != v and k != "name"}


def _flat(settings: Settings) -> dict:
    body = settings.to_dict()
    flat = {}
    for section, values in body.items():
        if isinstance(values, dict):
            flat.update({f"{section}.{k}": v for k, v in values.items()})
    return flat


def describe(changed: dict) -> str:
    """{'training.learning_rate': 0.003} → 'learning_rate=0.003' (tuning.csv's changes column)."""
    if not changed:
        return "(your settings)"
    return "; ".join(f"{k.rpartition('.')[2]}={_short(v)}" for k, v in changed.items())


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return "[" + ",".join(_short(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)
