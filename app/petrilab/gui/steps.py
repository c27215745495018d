"""The wizard's steps as data, and which of them the user can reach.

Gating lives here, in one place and without Qt: the main window computes a
`Progress` from the pages (which are complete) and the context (is there a
run), and each step's predicate says whether its page can be opened. The
tests check the predicates directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Progress:
    """What the wizard knows about the experiment right now."""

    complete: frozenset[str] = field(default_factory=frozenset)  # pages whose problem() is None
    has_run: bool = False  # a run folder is chosen (trained now, or opened from the runs list)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    subtitle: str  # one line under the page heading
    reachable: Callable[[Progress], bool]
    in_sequence: bool = True  # reached with Back / Next (the runs list is not)


def _after(*keys: str) -> Callable[[Progress], bool]:
    needed = frozenset(keys)
    return lambda progress: needed <= progress.complete


def _with_run(progress: Progress) -> bool:
    return progress.has_run


STEPS: tuple[Step, ...] = (
    Step("task", "Task", "What should the network learn?", lambda progress: True),
    Step("data", "Data", "Point at your annotated images and check them.", _after("task")),
    Step("split", "Split", "Keep images aside to validate and test the network.", _after("task", "data")),
    Step("model", "Model", "Choose a network and how it learns.", _after("task", "data", "split")),
    Step("train", "Train", "Train the network and read its curves.", _after("task", "data", "split", "model")),
    Step("evaluate", "Evaluate", "Measure the trained network on the test images.", _with_run),
    Step("predict", "Predict", "Run the trained network on new images.", _with_run),
    Step("runs", "Runs", "Every training run, to reopen and compare.", lambda progress: True, in_sequence=False),
)

SEQUENCE: tuple[str, ...] = tuple(s.key for s in STEPS if s.in_sequence)


def step(key: str) -> Step:
    for s in STEPS:
        if s.key == key:
            return s
    raise KeyError(key)


def reachable(progress: Progress) -> dict[str, bool]:
    """Which pages the user can open, by key."""
    return {s.key: bool(s.reachable(progress)) for s in STEPS}


def next_key(key: str) -> str | None:
    """The step after `key` in the Back / Next sequence, or None at the end (or off the sequence)."""
    if key not in SEQUENCE:
        return None
    i = SEQUENCE.index(key)
    return SEQUENCE[i + 1] if i + 1 < len(SEQUENCE) else None


def previous_key(key: str) -> str | None:
    if key not in SEQUENCE:
        return None
    i = SEQUENCE.index(key)
    return SEQUENCE[i - 1] if i > 0 else None
