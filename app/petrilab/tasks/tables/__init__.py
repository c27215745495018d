"""The images + table layout that multi-label classification and regression share (DATA/images/<image> +
DATA/labels.csv or DATA/targets.csv): reading the table (dataset.py, hints.py), checking it (check.py),
the batches (batches.py) and the recipe both families build on (recipe.py: TableRecipe).
Its window panels (the value columns, the results beside the tables): gui/tasks/tables/.
"""
