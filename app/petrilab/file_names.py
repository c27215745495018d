"""File names that are not valid UTF-8, shown the same way everywhere.

A zip made on Windows and unpacked on Linux, or an old Samba share, can hold
names whose bytes are not UTF-8 (e.g. b"caf\\xe4.png", "café" in Latin-1).
Python reads such a name as a string with "surrogate" characters
(surrogateescape), which opens the file fine but cannot be written into a
UTF-8 table, a JSON event or a terminal. PetriLab shows each such byte as
the four characters \\xe4 — in messages, CSV tables, events and reports alike —
and `from_shown` turns a shown name back into the name that opens the file
(split.csv is read back to find the test images).
"""

from __future__ import annotations

import codecs
import re

SHOWN = "petrilab-shown"  # the codec error handler: text.encode("utf-8", SHOWN)

_SURROGATES = re.compile("[\ud800-\udfff]")
_ESCAPED_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")


def _one(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of the name that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"  # another lone surrogate (a broken UTF-16 name from Windows)


def _handler(error: UnicodeEncodeError):
    """Codec error handler: surrogates as \\xNN, other characters the encoding lacks as \\uNNNN."""
    bad = error.object[error.start:error.end]
    return "".join(_one(c) if 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}" for c in bad), error.end


codecs.register_error(SHOWN, _handler)


def shown(text) -> str:
    """`text` (a str or a path) with every byte that is not UTF-8 written as \\xNN: safe to write anywhere."""
    text = str(text)
    return _SURROGATES.sub(lambda m: _one(m.group()), text) if _SURROGATES.search(text) else text


def from_shown(text: str) -> str:
    """The name a `shown` text came from (\\x80–\\xff back to the bytes they stand for)."""
    if "\\x" not in text:
        return text
    return _ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text)


def shown_values(value):
    """A JSON-able value with every string in it `shown` (dictionary keys too)."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {shown_values(k): shown_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [shown_values(v) for v in value]
    return value


def show_in_terminal() -> None:
    """Print such names as \\xNN on stdout and stderr too, instead of failing (stdout) or \\udcNN (stderr)."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors=SHOWN)
        except (AttributeError, ValueError, OSError):
            pass  # not a text stream (a windowed app has none): nothing is printed there anyway
