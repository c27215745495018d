"""What differs between tasks, from the data folder to the files of results.

The trainer, `petrilab evaluate` and `petrilab predict` are the same for
every task; they ask the task's recipe to find and check the data, choose
the output layer, feed the batches, score a test set and write predictions.
base.py is the contract; each family's recipe lives in its package
(tasks/<family>/recipe.py), and a task names its recipe in the registry
(petrilab.tasks, Task.recipe).
"""

from __future__ import annotations

import importlib

from petrilab.recipes.base import Recipe
from petrilab.tasks import TASKS, get_task

# task key -> "module:class", from each task's `recipe` in the registry (imported only when used, so a light
# command never loads the others)
RECIPES = {key: task.recipe for key, task in TASKS.items() if task.recipe}


def get_recipe(task: str) -> Recipe:
    get_task(task)  # unknown or not yet available: a plain refusal
    if task not in RECIPES:
        from petrilab.errors import UserError

        raise UserError(f"The task '{task}' has no engine in this version of PetriLab yet.")
    module, _, name = RECIPES[task].partition(":")
    return getattr(importlib.import_module(module), name)()


__all__ = ["Recipe", "RECIPES", "get_recipe"]
