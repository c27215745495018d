"""Segmentation: an answer per pixel (DATA/images + DATA/masks/<same name>): a class per pixel (semantic)
or separate objects numbered 1..N (instance).

recipe.py (with targets.py, tuning.py, evaluation.py, prediction.py), masks.py and mask_hints.py (finding
and checking the masks), patches.py (training on patches), losses.py (the training losses, IoU and Dice),
metrics.py (pixel and object scores), postprocess.py (probabilities to masks and objects),
measurements.py (one row per object), report.py (its section of the run's report, with outlines).
Its window panels: gui/tasks/segmentation/.
"""
