"""Restoration's panels: the before/after viewer (linked zoom and pan, a wipe slider, the difference image, a line
profile) and the scores beside non-local means, for the Evaluate and Predict pages."""

from petrilab.gui.tasks import Panels

PANELS = Panels(before_after="results:RestorationResults", restored="predicted")
