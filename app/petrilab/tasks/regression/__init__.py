"""Regression: numbers per image (DATA/images + targets.csv, read by tasks/tables/), standardised for
training and given back in their own units.

recipe.py (the linear head, targets scaled, predictions written), metrics.py (MAE, RMSE, R² per value),
target_geometry.py (positions and angles that move with a flipped or turned image), keras_metrics.py
(the error in the targets' units while training), report.py (its section of the run's report).
Its window panels: gui/tasks/regression/.
"""
