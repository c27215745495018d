"""What every setting means, in the words of the workshop: looked up on its field.

Each setting's label (for its control) and help text (one to three plain sentences on what it does and
when to change it) are declared once, on the field (settings_data.py, settings_training.py). The GUI
shows them as tooltips and in the help panel; nothing here imports Qt, so the command line or a report
can use them too.
"""

from __future__ import annotations

from petrilab.settings import declared


def label(key: str) -> str:
    """The short label for a settings key (the key itself if it is not a setting)."""
    found = declared(key)
    return found.label if found else key


def explanation(key: str) -> str:
    found = declared(key)
    return found.help if found else ""
