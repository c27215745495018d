"""The task registry (petrilab.tasks): what each task says of itself matches what its recipe does, and the
engine and the window ask the registry instead of naming task kinds (issue #16)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from petrilab import settings as settings_io
from petrilab.demo import make_classification_demo, make_multilabel_demo, make_regression_demo, make_segmentation_demo
from petrilab.models.catalogue import ARCHITECTURES
from petrilab.recipes import RECIPES, Recipe, get_recipe
from petrilab.tasks import TASKS, has_objects, is_per_pixel, is_table_task, register_keras_objects
from petrilab.tasks.segmentation.losses import SegmentationLoss

ENGINE = Path(__file__).resolve().parents[1] / "app" / "petrilab"
KIND_LITERAL = re.compile(r"[\"'](%s)[\"']" % "|".join(TASKS))
# The task packages: the registry and the families' engine code (tasks/), the families' panels (gui/tasks/)
TASK_PACKAGES = (ENGINE / "tasks", ENGINE / "gui" / "tasks")
# Files outside the task packages that still name a task kind in a string: 46 files named one in
# app/petrilab before issue #16, 31 of them outside gui/, then 17 in gui/ alone. Never raise it.
MOST_FILES_NAMING_KINDS = 0
# A word of another program's file format spelt like a task kind (QuPath's "classification" property) is
# not a task: its line says so with this comment, and only that line is let through.
OTHER_PROGRAMS_WORD = "# another program's word"


def _tiny_data(task: str, folder: Path) -> Path:
    info = TASKS[task]
    if info.restores:
        from petrilab.tasks.restoration.demo import make_restoration_demo

        return make_restoration_demo(folder, n_images=4, size=32, seed=1)
    if info.has_masks:
        return make_segmentation_demo(folder, task, n_images=4, size=32, seed=1)
    if info.data == "folders":
        return make_classification_demo(folder, n_per_class=3, size=16, seed=1)
    maker = make_multilabel_demo if info.multi_label else make_regression_demo
    return maker(folder, n_images=8, size=16, seed=1)


def test_every_task_has_one_kind_of_answer_and_its_rules_follow():
    for key, task in TASKS.items():
        assert [task.has_classes, task.multi_label, task.has_targets, task.has_objects,
                task.restores].count(True) == 1, key
        assert task.data in ("folders", "table", "masks", "images"), key
        assert task.stacks <= task.has_masks <= task.per_pixel and task.restores <= task.per_pixel, key
        assert bool(task.table) == (task.data == "table"), key
        assert (task.chance == "classes") == (task.answer == "class"), key
        assert (task.chance == "mean") == task.has_targets == (task.geometry == "targets"), key
        assert task.tags, f"{key} has no bioimage.io tags: it could not be exported"
        fitting = [a.key for a in ARCHITECTURES.values() if key in a.tasks]
        default = settings_io.defaults_for(key).model.architecture
        assert default in fitting, f"{key}: its default architecture {default} cannot learn it"
        # an architecture answers either per pixel or per image, never both
        assert all(TASKS[k].per_pixel == task.per_pixel for a in fitting for k in ARCHITECTURES[a].tasks), key
    assert set(RECIPES) == set(TASKS)
    # the window asks with a name that may be no task's yet (nothing chosen, an old record): simply no
    for key in ("", None, "no such task"):
        assert not is_per_pixel(key) and not has_objects(key) and not is_table_task(key)
    assert [has_objects(k) for k in TASKS] == [t.has_objects for t in TASKS.values()]
    assert [is_table_task(k) for k in TASKS] == [bool(t.table) for t in TASKS.values()]


@pytest.mark.parametrize("key", sorted(TASKS))
def test_capabilities_match_the_recipe(key, tmp_path):
    task, recipe = TASKS[key], get_recipe(key)
    assert recipe.task == key
    assert type(recipe).report_section is not Recipe.report_section, f"{key} has no section in the run's report"
    settings = settings_io.defaults_for(key)
    dataset = recipe.discover(settings, _tiny_data(key, tmp_path / "data"))
    recipe.decide_from_data(settings, dataset, recipe.check(dataset))
    head = recipe.head(settings)

    # the data: a mask per image exactly when the task learns from masks; the table the task names
    assert all(s.mask is not None for s in dataset.samples) == task.has_masks
    assert (getattr(dataset, "table", None) or Path()).name == task.table
    # the head: a loss and metrics per pixel for mask tasks, and the last layer the answer needs
    assert (head.main_metric == "iou") == task.has_masks
    assert isinstance(head.loss, SegmentationLoss) == task.has_masks
    assert (head.activation == "linear") == (task.has_targets or task.restores)
    if task.restores:
        assert head.units == settings.data.channels  # one restored intensity per channel
    if task.has_objects:
        assert head.units == 3  # background, object interior, object boundary
    if task.multi_label or task.has_targets:
        assert head.units == len(settings.data.target_columns)  # one output per label or value
    if task.answer == "class":
        assert head.metrics == ("accuracy",)
    # its own Keras losses and metrics come from the module the registry imports before a saved model is read
    custom = {type(o).__module__ for o in (head.loss, *head.metrics) if type(o).__module__.startswith("petrilab.")}
    assert custom <= {task.keras_objects}, f"{key}: register {custom} as its keras_objects"


@pytest.mark.slow  # loads TensorFlow
def test_the_registry_loads_every_tasks_keras_objects():
    register_keras_objects()
    assert all(t.keras_objects in sys.modules for t in TASKS.values() if t.keras_objects)


def test_modules_ask_the_registry_instead_of_naming_task_kinds():
    """Outside the task packages (the registry and each family's package, the engine's and the window's), no
    module names a task kind: it asks the registry (`TASKS[kind].per_pixel`, `is_per_pixel`, `has_objects`,
    `kinds(...)`) or the task's recipe."""
    def names_a_kind(path: Path) -> bool:
        return any(KIND_LITERAL.search(line) and OTHER_PROGRAMS_WORD not in line
                   for line in path.read_text(encoding="utf-8").splitlines())

    naming = sorted(str(p.relative_to(ENGINE)) for p in ENGINE.rglob("*.py")
                    if not any(p.is_relative_to(package) for package in TASK_PACKAGES) and names_a_kind(p))
    assert len(naming) <= MOST_FILES_NAMING_KINDS, (
        f"These modules name a task kind: {naming}. Ask the task registry (petrilab.tasks) for the "
        "capability instead, or move the task-specific piece into its family's package (tasks/<family>/, "
        "gui/tasks/<family>/).")


@pytest.mark.parametrize("key", sorted(TASKS))
def test_each_family_makes_its_own_example_data(key, tmp_path):
    """Task.demo names the family's demo module; the example data it makes is the task's own layout, and
    a folder that already holds something is refused, whatever the task."""
    from petrilab.demo import make_demo
    from petrilab.errors import UserError

    assert TASKS[key].demo.startswith("petrilab.tasks.") and TASKS[key].demo.endswith(".demo")
    folder = make_demo(key, tmp_path / key)
    recipe = get_recipe(key)
    report = recipe.check(recipe.discover(settings_io.defaults_for(key), folder))
    assert report.ok and not [f for f in report.findings if f.level == "error"], report.findings
    with pytest.raises(UserError, match="not empty"):
        make_demo(key, folder)
