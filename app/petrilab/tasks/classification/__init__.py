"""Classification: one class per image (DATA/<class name>/<image>, binary or multi-class), or any number of
labels per image (multi-label: DATA/images + labels.csv, read by tasks/tables/).

recipe.py and metrics.py (accuracy, confusion matrix, per class) for classes; multilabel.py and
multilabel_metrics.py (AUC, F1 per label, thresholds tuned on the validation images) for labels;
report.py, both sections of the run's report.
Its window panels: gui/tasks/classification/.
"""
