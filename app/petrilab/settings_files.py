"""Settings files as other computers leave them: a byte-order mark or UTF-16 (Windows Notepad),
and Windows paths (C:\\Users\\me\\data, or data\\cells) opened on macOS or Linux.

settings.py owns the keys and their checks; this module only turns the file's
bytes into text and a folder written on Windows into one this computer can use
(or a plain message when it cannot: C:\\ does not exist here).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PureWindowsPath

from petrilab.errors import UserError

_WINDOWS_ABSOLUTE = re.compile(r"^([A-Za-z]:[\\/]|\\\\)")


def decode(raw: bytes) -> str:
    """The file's text: UTF-8 with or without a BOM, or UTF-16 with its BOM (Notepad's 'Unicode')."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def is_windows_absolute(value: str) -> bool:
    return bool(_WINDOWS_ABSOLUTE.match(value or ""))


def local_path(value: str) -> str:
    """A relative path written with backslashes (data\\cells) in this computer's form; others unchanged."""
    if os.name == "nt" or not value or "\\" not in value or is_windows_absolute(value):
        return value
    return str(Path(*PureWindowsPath(value).parts))


def refuse_windows_folder(path, what: str = "data folder") -> None:
    """A Windows folder (C:\\…) that does not exist on this computer: say where it came from and what to do."""
    text = str(path)
    if os.name == "nt" or not is_windows_absolute(text) or Path(text).exists():
        return
    raise UserError(f"The {what} '{text}' is a Windows path: this settings file was written on Windows, and that "
                    f"folder does not exist on this computer.", file=text,
                    fix=f"Point the {what} at the folder on this computer: choose it again in PetriLab (Data page), "
                        f"or edit data.folder in the settings file.")
