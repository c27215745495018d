"""An experiment is a settings file.

One dataclass tree (task, data, split, model, augmentation, training, postprocess, restoration) whose fields each
declare what they are (settings_schema.py; the fields in settings_data.py and settings_training.py), the
defaults for each task, validation from those declarations with plain-language errors that name the key
(a value's type is checked by settings_types.py), and TOML load/save that round-trips. The GUI edits a
`Settings`; the engine reads one; the run folder keeps the one that ran, its learnt values apart
(settings_learnt.py).
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from petrilab import SETTINGS_FORMAT, __version__
from petrilab import settings_files, settings_learnt
from petrilab.errors import UserError
from petrilab.settings_data import DataSettings, SplitSettings, TaskSettings
from petrilab.settings_learnt import LEARNT, migrate_format_1, read_learnt, split_for_file
from petrilab.settings_schema import Setting, declared_fields, get_value, setting
from petrilab.settings_training import AugmentationSettings, ModelSettings, PostprocessSettings, TrainingSettings
from petrilab.settings_types import coerce
from petrilab.tasks import TASKS
from petrilab.tasks.restoration.settings import RestorationSettings


@dataclass
class Settings:
    name: str = setting(
        "experiment", "Experiment name",
        "A short name for this experiment. Each training run is saved in a folder that starts with the date "
        "and this name, so you can find it again.")
    task: TaskSettings = field(default_factory=TaskSettings)
    data: DataSettings = field(default_factory=DataSettings)
    split: SplitSettings = field(default_factory=SplitSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    augmentation: AugmentationSettings = field(default_factory=AugmentationSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    postprocess: PostprocessSettings = field(default_factory=PostprocessSettings)
    restoration: RestorationSettings = field(default_factory=RestorationSettings)  # tasks/restoration/settings.py
    # for each key the engine filled in (settings_learnt.py): the value the user had asked
    asked: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict:
        body = dataclasses.asdict(self)
        asked = body.pop("asked")
        return {"format": SETTINGS_FORMAT, "petrilab_version": __version__, **split_for_file(body, asked)}

    def copy(self) -> "Settings":
        return from_dict(self.to_dict())


# the sections, in the file's order: every field of Settings but the name and what was asked
SECTIONS = tuple(f.name for f in dataclasses.fields(Settings) if f.name not in ("name", "asked"))


def _declarations() -> dict[str, Setting]:
    found = {"name": declared_fields(Settings)["name"]}
    for section in SECTIONS:
        section_class = Settings.__dataclass_fields__[section].default_factory
        found.update({f"{section}.{name}": d for name, d in declared_fields(section_class).items()})
    return found


DECLARED: dict[str, Setting] = _declarations()  # every settings key, in the file's order: what it is


def declared(key: str) -> Setting | None:
    """The declaration of a settings key (label, help, choices, range, control), or None for an unknown key."""
    return DECLARED.get(key)


# derived from the declarations, for the code that asks about one kind of fact
CHOICES = {key: d.choices for key, d in DECLARED.items() if d.choices}  # a table's choices: of its values
RANGES = {key: (d.minimum, d.maximum) for key, d in DECLARED.items() if d.minimum is not None}
AUTO_NUMBERS = tuple(key for key, d in DECLARED.items() if d.auto)  # numbers that may also be "auto"
LEARNT_KEYS = tuple(key for key, d in DECLARED.items() if d.learnt)  # what a run may fill in itself


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
    read_learnt(raw.pop(LEARNT, None), settings, LEARNT_KEYS, coerce, _section_types, source)
    if version < 2:  # written before [learnt] (PetriLab 0.1.0)
        migrate_format_1(settings)
    if raw:
        unknown = ", ".join(sorted(raw))
        raise UserError(
            f"Unknown section or setting '{unknown}'{where}.",
            file=source,
            fix=f"The sections are: {', '.join(SECTIONS)} (and 'name' at the top; a run's own file also has "
                f"[{LEARNT}]).",
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
    """Set one 'section.key' (or 'name') as the user's choice, with the same checks as loading a file."""
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
    settings.asked.pop(key, None)  # the user's choice now, also where a run had learnt it


def validate(settings: Settings, source: str | None = None) -> None:
    """Raise a UserError for the first value outside what its field declares (choices, range), then the rules
    that tie settings together."""
    for key, declaration in DECLARED.items():
        _check_declared(key, declaration, get_value(settings, key), source)
    s = settings
    if s.split.validation_fraction + s.split.test_fraction >= 0.9:
        raise UserError("The validation and test fractions leave almost nothing to train on.", file=source,
                        fix="Keep validation + test below 0.9 (typically 0.2 + 0.15).")
    if len(s.data.image_size) != 2:
        raise UserError(f"'data.image_size' must be [height, width], not {s.data.image_size}.",
                        file=source, fix="For example image_size = [64, 64].")
    if s.data.patch_size and len(s.data.patch_size) != 2:
        raise UserError(f"'data.patch_size' must be [height, width], not {s.data.patch_size}.",
                        file=source, fix="For example patch_size = [128, 128], or [] to choose from the data.")
    if s.data.stack_patch_size and len(s.data.stack_patch_size) != 3:
        raise UserError(f"'data.stack_patch_size' must be [z, y, x], not {s.data.stack_patch_size}.",
                        file=source, fix="For example stack_patch_size = [8, 64, 64], or [] to choose from the data.")
    if s.data.voxel_size and len(s.data.voxel_size) != 3:
        raise UserError(f"'data.voxel_size' must be [z, y, x] in µm, not {s.data.voxel_size}.",
                        file=source, fix="For example voxel_size = [1.0, 0.25, 0.25], or [] to read it from the files.")
    if s.data.percentile_low >= s.data.percentile_high:
        raise UserError("'data.percentile_low' must be below 'data.percentile_high'.", file=source)
    if len(s.data.target_mean) != len(s.data.target_std) or any(not sd > 0 for sd in s.data.target_std):
        raise UserError("'data.target_mean' and 'data.target_std' must have one entry per target, and every "
                        "spread must be above 0.", file=source,
                        fix="Leave both empty: training computes them from the training images.")
    if s.model.architecture in ("convnet", "vgg", "unet", "unet3d") and not s.model.filters:
        raise UserError(f"A {s.model.architecture} needs at least one block in 'model.filters'.", file=source,
                        fix="For example filters = [16, 32, 64].")


def _check_declared(key: str, declaration: Setting, value, source: str | None) -> None:
    """One value against its field's declaration; a list's entries and a table's values each."""
    allowed, low, high = declaration.choices, declaration.minimum, declaration.maximum
    if isinstance(value, dict):  # data.target_kinds: each column's kind
        for column, kind in value.items():
            if allowed and kind not in allowed:
                raise UserError(f"The value for '{column}' in '{key}' cannot be {kind!r}.", file=source,
                                fix=f"Use one of: {', '.join(str(a) for a in allowed)}.")
        return
    if isinstance(value, list):
        if low is not None and any(not low <= v <= high for v in value):
            raise UserError(f"Every entry of '{key}' must be between {low} and {high}, not {value}.", file=source,
                            fix=f"Change '{key}' ({declaration.label}).")
        return
    if allowed and value not in allowed:
        raise UserError(f"The setting '{key}' cannot be {value!r}.", file=source,
                        fix=f"Use one of: {', '.join(str(a) for a in allowed)}.")
    if isinstance(value, str) and declaration.auto:
        if value != "auto":
            raise UserError(f"The setting '{key}' cannot be {value!r}.", file=source,
                            fix=f'Use a number between {low} and {high}, or "auto".')
        return
    if low is not None and not low <= value <= high:
        raise UserError(f"The setting '{key}' is {value}, outside {low} … {high}.", file=source,
                        fix=f"Choose a value between {low} and {high} ({declaration.label}).")


def users_choices(settings: Settings) -> Settings:
    """A copy that holds what the user asked, not what a run learnt (settings_learnt.py)."""
    return settings_learnt.users_choices(settings)


def note_learnt(settings: Settings, asked: Settings) -> None:
    """Mark as learnt every learnable value the engine changed from `asked` (the user's choices)."""
    settings_learnt.note_learnt(settings, asked, LEARNT_KEYS)
