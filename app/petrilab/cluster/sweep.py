"""A sweep: `--sweep training.learning_rate=0.001,0.01 --sweep training.batch_size=16,32` → 4 runs.

Every combination of the values (the cartesian product, in the order the keys were given) becomes
one settings, checked exactly like `--set` would be, so a bad key or value stops the whole submit
before any folder is created or any job is queued.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass

from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.settings import Settings

MAX_RUNS = 1000  # one submit of more than this is almost surely a typing mistake


@dataclass
class Combination:
    """One run of a sweep: the values it sets, and the settings with those values applied."""

    values: dict[str, object]
    settings: Settings


def split_values(text: str) -> list[str]:
    """'0.001,0.01' → ['0.001', '0.01']; commas inside [lists] or "quotes" do not split."""
    parts, current, depth, quote = [], "", 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    parts.append(current.strip())
    return parts


def _value(text: str):
    # read as TOML, like --set: 0.01 is a number, true a yes/no, [16, 32] a list, anything else text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_sweeps(texts: list[str] | None) -> list[tuple[str, list]]:
    """Each 'section.key=v1,v2,...' → (key, [values]); a plain UserError for a malformed one."""
    sweeps: list[tuple[str, list]] = []
    for text in texts or []:
        key, sep, values = text.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise UserError(f"'--sweep {text}' needs the form section.key=value1,value2,…",
                            fix="For example: --sweep training.learning_rate=0.001,0.01")
        if any(key == seen for seen, _ in sweeps):
            raise UserError(f"'{key}' is swept twice.", fix="Give all its values in one --sweep, separated by commas.")
        parts = split_values(values)
        if any(not p for p in parts):
            raise UserError(f"'--sweep {text}' has an empty value.", fix="Separate the values with single commas.")
        parsed = [_value(p) for p in parts]
        if len(set(map(repr, parsed))) != len(parsed):
            raise UserError(f"'--sweep {text}' repeats a value.", fix="Give each value once.")
        sweeps.append((key, parsed))
    return sweeps


def expand(base: Settings, sweeps: list[tuple[str, list]], source: str | None = None) -> list[Combination]:
    """One Combination per point of the cartesian product (one, unchanged, when nothing is swept)."""
    count = 1
    for _, values in sweeps:
        count *= len(values)
    if count > MAX_RUNS:
        raise UserError(f"This sweep would queue {count} trainings.", fix=f"Sweep fewer values (at most {MAX_RUNS} runs).")
    keys = [key for key, _ in sweeps]
    combinations = []
    for point in itertools.product(*(values for _, values in sweeps)):
        settings = base.copy()
        values = dict(zip(keys, point))
        for key, value in values.items():
            try:
                settings_io.apply_override(settings, key, value)
            except UserError as exc:
                exc.fix = exc.fix or f"Correct the --sweep values of '{key}'."
                raise
        settings_io.validate(settings, source=source)
        # the value as the settings file holds it (a swept 1 for a decimal setting is 1.0)
        values = {key: settings_io.get_value(settings, key) for key in keys}
        combinations.append(Combination(values=values, settings=settings))
    return combinations


def label(values: dict[str, object]) -> str:
    """A short readable name part: {'training.learning_rate': 0.01} → 'learning_rate=0.01'."""
    parts = []
    for key, value in values.items():
        shown = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        parts.append(f"{key.rpartition('.')[2]}={shown}")
    text = "_".join(parts)
    return re.sub(r"[^\w.,=+\-]+", "-", text, flags=re.UNICODE).strip("-")
