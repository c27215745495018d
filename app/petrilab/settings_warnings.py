"""Settings that are allowed but almost surely a slip: said as a `warning`, never refused.

Checked wherever settings are checked: `petrilab check SETTINGS.toml`,
`petrilab init`, and when a training starts (a `warning` event, and a line on
the terminal). Light: no Keras, so the window may ask too.
"""

from __future__ import annotations

from petrilab.settings import declared

# Learning rates above this are almost always a typing slip (0.001 meant): Adam, RMSprop and SGD diverge.
HIGH_LEARNING_RATE = 1.0
USUAL_LEARNING_RATE = declared("training.learning_rate").usual  # what unticking 'automatic' shows


def settings_warnings(settings) -> list[tuple[str, str]]:
    """(message, what to do) for each setting that is allowed but very likely wrong."""
    found = []
    lr = settings.training.learning_rate  # "auto": the range test chooses it (training/lr_finder.py)
    if isinstance(lr, (int, float)) and lr > HIGH_LEARNING_RATE:
        found.append((f"The learning rate is {lr:g} (training.learning_rate). Above 1, training almost always blows "
                      f"up: the loss grows instead of falling and the model learns nothing.",
                      f"Use a learning rate between 0.0001 and 0.01; {USUAL_LEARNING_RATE:g} suits most trainings "
                      f"with Adam."))
    return found


def as_text(found: list[tuple[str, str]]) -> str:
    """The warnings as the command line prints them."""
    return "\n".join(f"Warning: {message}\n  What to do: {fix}" for message, fix in found)
