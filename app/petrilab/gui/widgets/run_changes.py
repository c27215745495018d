"""What the user changed between a run and the one before it, in a line ("learning rate 0.001 → 0.003").

Runs are named by date and experiment, so ten runs of one experiment look
alike in a list; what tells them apart is what the user changed between
them. Read from each run's settings.toml (what the user asked; what the run
learnt, under [learnt], is left out), cached by the file's modification time
so a list of fifty runs reads each file once.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from petrilab import help as help_texts
from petrilab import runs
from petrilab.settings_learnt import LEARNT

# keys that name or place a run rather than change what it learns
IGNORED = {"name", "format", "petrilab_version"}
_cache: dict[Path, tuple[float, dict]] = {}


def flat_settings(run_dir: Path) -> dict:
    """The run's settings.toml as {'section.key': value} ({} when it cannot be read)."""
    path = Path(run_dir) / runs.SETTINGS
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except (OSError, ValueError):
        data = {}
    flat = _flatten(data)
    _cache[path] = (mtime, flat)
    return flat


def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def changes(earlier: dict, later: dict) -> list[tuple[str, object, object]]:
    """(key, value before, value now) for every setting that differs, in the file's order."""
    keys = list(later) + [k for k in earlier if k not in later]
    return [(k, earlier.get(k), later.get(k)) for k in keys
            if k not in IGNORED and not k.startswith(LEARNT + ".") and earlier.get(k) != later.get(k)]


def _value(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return " × ".join(str(v) for v in value) if value and len(value) <= 3 and all(
            isinstance(v, int) for v in value) else str(value)
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return Path(value).name or value
    return str(value)


def describe(found: list[tuple[str, object, object]], limit: int = 3) -> str:
    """'learning rate 0.001 → 0.003, epochs 30 → 40' (and 'and 2 more' past `limit`)."""
    if not found:
        return "same settings"
    words = [f"{help_texts.label(k).lower() if help_texts.label(k) != k else k.rsplit('.', 1)[-1].replace('_', ' ')} "
             f"{_value(old)} → {_value(new)}" for k, old, new in found[:limit]]
    more = len(found) - limit
    return ", ".join(words) + (f" and {more} more" if more > 0 else "")


def what_changed(run_dir: Path, previous: Path | None) -> str:
    """The line for a run: what differs from `previous` ('first run' when there is none)."""
    if previous is None:
        return "first run"
    return describe(changes(flat_settings(previous), flat_settings(run_dir)))
