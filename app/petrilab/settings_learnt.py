"""What the engine learnt, kept apart from what the user asked.

A run fills in some settings itself: the classes found in the sub-folders, the channels, the patch size
"from the data", the targets' mean and spread, a learning rate or flips chosen for "auto", a batch halved
for memory, thresholds and the smallest object size tuned on the validation images. Those fields are
declared `learnt=True` (settings_data.py, settings_training.py).

In memory the sections hold the values in effect (what the engine reads), and `Settings.asked` keeps,
for each key the engine filled in, the value the user had asked. A run's settings.toml writes the
user's value in its section and the learnt one under [learnt] (`[learnt.data] target_mean = [...]`):
one file still says exactly what ran, and `users_choices` gives back what the user asked, so training
again from a run learns those values again instead of taking them for the user's choice.
"""

from __future__ import annotations

import copy

from petrilab.errors import UserError
from petrilab.settings_schema import get_value, set_value

LEARNT = "learnt"  # the section of a run's settings.toml


def note_learnt(settings, asked, keys: tuple[str, ...]) -> None:
    """Record in `settings.asked` every learnable key whose value the engine changed from `asked`'s."""
    for key in keys:
        before, now = get_value(asked, key), get_value(settings, key)
        if key in settings.asked:
            if now == settings.asked[key]:
                del settings.asked[key]  # learnt back to what the user asked: nothing learnt
        elif now != before:
            settings.asked[key] = copy.deepcopy(before)


def users_choices(settings):
    """A copy with the user's values where the engine had filled in its own, and nothing learnt."""
    chosen = settings.copy()
    for key, value in chosen.asked.items():
        set_value(chosen, key, copy.deepcopy(value))
    chosen.asked = {}
    return chosen


def split_for_file(body: dict, asked: dict) -> dict:
    """The file's dict: each learnt key's asked value in its section, the learnt value under [learnt]."""
    learnt: dict[str, dict] = {}
    for key, value in asked.items():
        section, _, name = key.partition(".")
        learnt.setdefault(section, {})[name] = body[section][name]
        body[section][name] = copy.deepcopy(value)
    if learnt:
        body[LEARNT] = learnt
    return body


def read_learnt(raw, settings, keys: tuple[str, ...], coerce, types_of, source: str | None) -> None:
    """Apply a file's [learnt] section to `settings` (already read), keeping each section's value as asked."""
    if raw is None:
        return
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise UserError(f"'{LEARNT}' must hold sections, like [learnt.data]" + (f" in {source}." if source else "."),
                        file=source, fix="Leave [learnt] as PetriLab wrote it, or delete it to learn those again.")
    for section, values in raw.items():
        for name, value in values.items():
            key = f"{section}.{name}"
            if key not in keys:
                raise UserError(f"'{key}' is not something PetriLab learns, so it cannot be under [learnt]"
                                + (f" in {source}." if source else "."), file=source,
                                fix=f"Move it to [{section}], or delete it. Learnt are: {', '.join(keys)}.")
            settings.asked[key] = get_value(settings, key)
            set_value(settings, key, coerce(f"{LEARNT}.{key}", value, types_of(section)[name]))


def migrate_format_1(settings) -> None:
    """Files written before [learnt] (format 1) kept learnt values in their sections; the ones that can only
    have been learnt are marked so (same values in effect, so the same results): the targets' mean and
    spread, and what training.decided_automatically lists as chosen for "auto"."""
    for key in ("data.target_mean", "data.target_std"):
        if get_value(settings, key):
            settings.asked[key] = []
    decided = settings.training.decided_automatically
    for key in ("training.learning_rate", "augmentation.geometric"):
        if key in decided and get_value(settings, key) != "auto":
            settings.asked[key] = "auto"
    if decided:
        settings.asked["training.decided_automatically"] = []
