"""Classification's panels: the confusion matrix, the misclassified images (classes and multi-label), and
the multi-label charts (how often each label occurs, how well each is found)."""

from petrilab.gui.tasks import Panels

PANELS = Panels(confusion="confusion:ConfusionMatrixView", mistakes="mistakes:mistakes")
