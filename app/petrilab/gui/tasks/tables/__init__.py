"""The table tasks' panels (multi-label, regression): which columns the network learns (Data page) and the
pictures beside the Evaluate and Predict pages' tables."""

from petrilab.gui.tasks import Panels

# the charts of labels and of values come from classification/ and regression/ (value_results.py)
PANELS = Panels(values="value_columns", value_results="value_results")
