"""The window's panels per task family, and the one registry the pages ask for them.

Each family's panels live in their own package here (gui/tasks/<family>/, beside the engine's
petrilab.tasks.<family>), and its __init__.py declares them in a `Panels`: which of its classes, functions
or modules fills which place on the pages. A task names its family's package in the task registry
(`Task.panels` in petrilab.tasks). The pages never import a family's package: they ask here, with
`panel(place)` for what they build once and show for the tasks that need it, or `panel_of(task, place)` for
what one task's family shows there. Nothing is imported until a page asks (a family's modules may be heavy: pyqtgraph).

Adding a family's panels: write gui/tasks/<family>/ with its `PANELS`, name the package in its tasks'
`Task.panels`; a place no family filled before also needs a field below and the page that shows it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from functools import cache

from petrilab.tasks import TASKS


@dataclass(frozen=True)
class Panels:
    """One family's panels, by the place they fill. Each is "module:name" (a class or function) or "module"
    (a module of words and helpers), inside the family's package; "" where the family shows nothing there."""

    # Data page
    examples: str = ""  # the examples card's widget in place of thumbnails per class: show_dataset(dataset)
    summary_words: str = ""  # module: the summary card's rows in the family's words (and the Model page's)
    values: str = ""  # module: the summary card's panel of values in place of the bar chart of classes
    # Model page
    patch_control: str = ""  # the control of the training patches' size
    stacks: str = ""  # module: z-stacks' facts (stack_facts), the block-size control, the settings as trained
    stack_runs: str = ""  # module: whether a run was trained on z-stacks (trained_on_stacks), stack pairs
    # Evaluate page
    confusion: str = ""  # the confusion matrix of the classes
    mistakes: str = ""  # function: the wrongly answered test images for the gallery, and its title
    test_images: str = ""  # the test images with what was true and what was predicted
    object_scores: str = ""  # the scores of objects matched one to one, under the table of classes
    value_results: str = ""  # module: the plots of values (ValueResults, TITLES) and prediction_summary
    before_after: str = ""  # the test images before and after, with the scores beside a classical method
    # Predict page
    preview: str = ""  # a live preview of one image with the post-processing options
    preview_options: str = ""  # function: the options tried in the preview, as words for the summary
    restored: str = ""  # module: the predicted images before and after (RestoredBrowser, summary)
    predicted_stacks: str = ""  # module: predicted z-stacks in the stack viewer (PredictedStacks, is_stack_results)


PLACES = tuple(f.name for f in fields(Panels))


def _family_package(family: str) -> str:
    return f"{__name__}.{family}"


@cache
def family_panels(family: str) -> Panels:
    """The `PANELS` declared by gui/tasks/<family>/__init__.py."""
    return importlib.import_module(_family_package(family)).PANELS


def families() -> tuple[str, ...]:
    """The families whose panels some task shows, as the task registry names them."""
    return tuple(dict.fromkeys(t.panels for t in TASKS.values() if t.panels))


def panels(task: str | None) -> Panels:
    """The panels of `task`'s family; none for a name no task has (nothing chosen yet, an old record)."""
    info = TASKS.get(task or "")
    return family_panels(info.panels) if info is not None and info.panels else Panels()


@cache
def _load(family: str, name: str):
    module, _, attribute = name.partition(":")
    loaded = importlib.import_module(f"{_family_package(family)}.{module}")
    return getattr(loaded, attribute) if attribute else loaded


def _check(place: str) -> None:
    if place not in PLACES:
        raise KeyError(f"no place '{place}' on the pages; the places are {PLACES}")


def panel(place: str):
    """What fills `place` on a page: the one family's that fills it (the pages build it once, hidden, and show
    it for the tasks that need it), or None where no family does."""
    _check(place)
    filling = [f for f in families() if getattr(family_panels(f), place)]
    if len(filling) > 1:
        raise LookupError(f"several families fill '{place}' ({filling}): ask panel_of(task, place)")
    return _load(filling[0], getattr(family_panels(filling[0]), place)) if filling else None


def panel_of(task: str | None, place: str):
    """What `task`'s family puts in `place`; None where it puts nothing, or for a name no task has."""
    _check(place)
    name = getattr(panels(task), place)
    return _load(TASKS[task].panels, name) if name else None
