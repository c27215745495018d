"""The line of keyboard hints shown under each annotation view, written once."""

from __future__ import annotations

SEGMENTATION_KEYS = [
    ("B", "brush"), ("E", "eraser"), ("F", "fill"), ("L", "lasso (draw round, release to fill)"),
    ("[ ]", "brush size (or Ctrl + wheel)"),
    ("wheel", "zoom"), ("Space + drag", "move (or middle button)"), ("Ctrl+0", "fit"), ("Ctrl+1", "1:1"),
    ("Ctrl+Z / Ctrl+Y", "undo / redo"), ("PgUp / PgDn", "previous / next image"),
]
OBJECT_KEYS = [("N", "new object"), ("right click", "draw on with that object"), ("D", "delete object (click it)")]
CLASS_KEYS = [("1–9", "class"), ("right click", "take the class under the mouse")]
TAGGING_KEYS = [("1–9", "label on / off"), ("Enter", "done, next image"), ("S", "skip"), ("U", "unsure"),
                ("← →", "previous / next image")]
SORTING_KEYS = [("1–9", "put in class"), ("S", "skip"), ("U", "unsure"), ("← →", "previous / next image"),
                ("Enter", "the model's class (once a model is chosen)"), ("M", "next most useful image")]


def hint_text(keys: list[tuple[str, str]]) -> str:
    """Rich text: each key in bold, then what it does, separated by dots (the label word-wraps)."""
    return "  ·  ".join(f"<b>{key}</b> {what}" for key, what in keys)

