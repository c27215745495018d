"""The window's panels per task family, beside the engine's packages of the same names (petrilab.tasks.*).

The pages choose them by the task's capabilities in the registry (petrilab.tasks: `per_pixel`, `answer`, ...).
"""
