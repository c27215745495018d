"""The window's panels per task family are reached through one registry (gui/tasks/__init__.py, issue #16):
the pages never import a family's package, every task names a family whose panels all load, and a place
on a page is filled by one family's panel."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from petrilab.gui import tasks as gui_tasks
from petrilab.gui.tasks import PLACES, Panels, families, family_panels, panel, panel_of, panels
from petrilab.tasks import TASKS

GUI = Path(__file__).resolve().parents[1] / "app" / "petrilab" / "gui"
REGISTRY = "petrilab.gui.tasks"
FAMILY_PACKAGES = sorted(p.name for p in (GUI / "tasks").iterdir() if (p / "__init__.py").exists())


def _module_name(path: Path) -> str:
    parts = path.relative_to(GUI.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def family_imports(source: str, module: str) -> list[str]:
    """The imports in `source` (the code of `module`) that reach into a family's package of gui/tasks/."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package that holds `module`
                package = module.split(".")[:-node.level]
                base = ".".join(package + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names if base == REGISTRY]
        else:
            continue
        found += [n for n in names if n.startswith(REGISTRY + ".") and n.split(".")[3] in FAMILY_PACKAGES]
    return found


def test_the_checker_sees_every_way_of_importing_a_family():
    """So the test below can fail: each of these reaches into segmentation's panels."""
    for line in ("from petrilab.gui.tasks.segmentation.gallery import SegmentationGallery",
                 "from petrilab.gui.tasks.segmentation import summary",
                 "from petrilab.gui.tasks import segmentation",
                 "import petrilab.gui.tasks.segmentation.results",
                 "from ..tasks.segmentation import results"):
        assert family_imports(line, "petrilab.gui.pages.data_page"), line
    assert not family_imports("from petrilab.gui.tasks import panel", "petrilab.gui.pages.data_page")
    assert not family_imports("from petrilab.tasks.segmentation import masks", "petrilab.gui.pages.data_page")


def test_pages_ask_the_registry_instead_of_importing_a_family():
    offending = {}
    for path in sorted(GUI.rglob("*.py")):
        if path.is_relative_to(GUI / "tasks"):
            continue
        found = family_imports(path.read_text(encoding="utf-8"), _module_name(path))
        if found:
            offending[str(path.relative_to(GUI))] = found
    assert not offending, (f"These modules import a family's panels: {offending}. Ask the registry instead "
                           "(from petrilab.gui.tasks import panel; panel('place') or panel('place', task)).")


def test_every_task_names_a_family_whose_panels_all_load():
    assert {t.panels for t in TASKS.values()} <= set(FAMILY_PACKAGES)
    assert all(t.panels for t in TASKS.values()), "a task without panels would show no results of its own"
    for family in families():
        declared = family_panels(family)
        assert isinstance(declared, Panels), family
        for place in PLACES:
            if getattr(declared, place):
                assert panel_of(next(k for k, t in TASKS.items() if t.panels == family), place) is not None


def test_each_place_is_filled_once_and_asked_by_its_tasks():
    for place in PLACES:
        filling = [f for f in families() if getattr(family_panels(f), place)]
        assert len(filling) == 1, f"'{place}' is filled by {filling}: the pages build one widget per place"
        for key, task in TASKS.items():
            # a task of the family that fills the place gets the same thing as the page asking without a task
            expected = panel(place) if task.panels == filling[0] else None
            assert panel_of(key, place) is expected, (place, key)
    # nothing chosen yet, or an old record naming no task: no panels, no error
    for key in (None, "", "no such task"):
        assert panels(key) == Panels() and panel_of(key, "examples") is None
    with pytest.raises(KeyError):
        panel("no such place")
    with pytest.raises(KeyError):
        panel_of(next(iter(TASKS)), "no such place")


def test_a_place_filled_by_two_families_must_be_asked_with_the_task(monkeypatch):
    twice = Panels(confusion="confusion:ConfusionMatrixView")
    monkeypatch.setattr(gui_tasks, "family_panels", lambda family: twice)
    with pytest.raises(LookupError, match="several families"):
        panel("confusion")
