"""What a setting is, declared once on its field: label, help text, choices, range, how the window edits it.

Each field of the settings dataclasses (settings_data.py, settings_training.py) is made with
`setting(default, label, help, ...)`; validation (settings.validate), the help texts (help.py) and the
window's controls (gui/widgets/setting_controls.py) all read that one declaration. Nothing here imports Qt.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Setting:
    label: str  # the short label of its control, in the workshop's words
    help: str  # one to three plain sentences: what it does and when to change it
    choices: tuple = ()  # the only values allowed (a drop-down in the window)
    words: dict = field(default_factory=dict)  # what the window shows for a choice (the file keeps the value)
    suggestions: tuple = ()  # offered in an editable drop-down, but any text is allowed (model.weights: a path)
    minimum: float | None = None  # smallest allowed, included
    maximum: float | None = None  # largest allowed, included
    auto: bool = False  # a number that may also be "auto" (PetriLab chooses it when training starts)
    usual: float | None = None  # with auto: the number shown when the user unticks 'automatic'
    step: float | None = None  # number fields: one click of the arrows
    decimals: int | None = None  # number fields: the digits shown after the point
    control: str = ""  # when the type does not say how to edit it: "numbers" (a list typed '16, 32'),
    #                    "size" ([height, width] spin boxes), "model" (a trained model chosen with a dialog)
    placeholder: str = ""  # what an empty text field shows
    learnt: bool = False  # the engine may fill it in; a run's settings.toml keeps that value under [learnt]


def setting(default, label: str, help: str, **declared) -> dataclasses.Field:
    """A dataclass field carrying its `Setting`; a list or table default is copied for each new Settings."""
    meta = {"setting": Setting(label, help, **declared)}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


def declared_fields(section_class) -> dict[str, Setting]:
    """{field name: its Setting} of one settings section, in the file's order."""
    return {f.name: f.metadata["setting"] for f in dataclasses.fields(section_class) if "setting" in f.metadata}


def get_value(settings, key: str):
    """The value of 'section.key' (or 'name') in a Settings."""
    if key == "name":
        return settings.name
    section, _, name = key.partition(".")
    return getattr(getattr(settings, section), name)


def set_value(settings, key: str, value) -> None:
    """Set 'section.key' (or 'name') as it is, unchecked (apply_override in settings.py checks)."""
    if key == "name":
        settings.name = value
        return
    section, _, name = key.partition(".")
    setattr(getattr(settings, section), name, value)
