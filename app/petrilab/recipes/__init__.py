"""What differs between tasks, from the data folder to the files of results.

The trainer, `petrilab evaluate` and `petrilab predict` are the same for
every task; they ask the task's recipe to find and check the data, choose
the output layer, feed the batches, score a test set and write predictions.
One module per task family; register a new one in RECIPES.
"""

from __future__ import annotations

import importlib

from petrilab.recipes.base import Recipe
from petrilab.tasks import get_task

# task key -> "module:class" (imported only when used, so a light command never loads the others)
RECIPES = {
    "classification": "petrilab.recipes.classification:ClassificationRecipe",
    "regression": "petrilab.recipes.regression:RegressionRecipe",
    "multilabel": "petrilab.recipes.multilabel:MultiLabelRecipe",
    "semantic": "petrilab.recipes.segmentation:SemanticRecipe",
    "instance": "petrilab.recipes.segmentation:InstanceRecipe",
}


def get_recipe(task: str) -> Recipe:
    get_task(task)  # unknown or not yet available: a plain refusal
    if task not in RECIPES:
        from petrilab.errors import UserError

        raise UserError(f"The task '{task}' has no engine in this version of PetriLab yet.")
    module, _, name = RECIPES[task].partition(":")
    return getattr(importlib.import_module(module), name)()


__all__ = ["Recipe", "RECIPES", "get_recipe"]
