"""What the commands of `petrilab` share (cli.py, and the commands registered from cluster/, tuning/ and export/):
loading settings with --set, starting Keras quietly on the right backend. A module of its own, so those
command modules need not import cli.py, which imports them."""

from __future__ import annotations

import sys
from pathlib import Path

from petrilab.errors import UserError

show_chatter = False  # --debug: TensorFlow's start-up notes are shown too


def quiet_tensorflow(backend: str = "auto", device: str = "auto") -> None:
    # Must happen before Keras is first imported: chooses its backend (the setting
    # training.backend; for "auto", KERAS_BACKEND or TensorFlow) and hides
    # TensorFlow's start-up chatter (CUDA probing, CPU notes) that users cannot act on.
    from petrilab.backend import activate

    activate(backend, device, quiet=not show_chatter)


def run_backend(run_dir) -> str:
    """The backend a run was trained with (its settings.toml), so evaluate and predict use the same. Asked before
    TensorFlow loads, so a folder that is no run is refused here, at once (a missing folder or a damaged
    settings.toml: the command itself explains that)."""
    from petrilab import runs
    from petrilab import settings as settings_io

    if not Path(run_dir).is_dir():
        return "auto"
    runs.require_run_folder(run_dir)
    try:
        return settings_io.load(Path(run_dir) / runs.SETTINGS).training.backend
    except UserError:
        return "auto"


def load_settings(path: str, overrides: list[str]):
    """A settings file with `--set section.key=value` overrides applied, checked."""
    from petrilab import settings as settings_io

    settings = settings_io.load(path)
    for text in overrides or []:
        key, value = settings_io.parse_override(text)
        settings_io.apply_override(settings, key, value)
    settings_io.validate(settings, source=path)
    return settings


def print_settings_warnings(settings, stream=None) -> None:
    """Settings allowed but almost surely a slip (a learning rate above 1...), said in plain words."""
    from petrilab.settings_warnings import as_text, settings_warnings

    found = settings_warnings(settings)
    if found:
        print(as_text(found), file=stream or sys.stdout)
