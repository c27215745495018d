"""The window's first paint comes before the plotting library and the later pages are loaded (issue #15).

No timings here: what keeps the start quick is what is *not* imported before
the first paint, which a fresh process can check exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# loaded after the first paint, when the pages that need them are built
DEFERRED = ("pyqtgraph", "petrilab.gui.pages.train_page", "petrilab.gui.pages.evaluate_page",
            "petrilab.gui.pages.predict_page", "petrilab.gui.pages.runs_page")
NEVER = ("tensorflow", "keras", "torch")

PROBE = r"""
import json, os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QEvent, QObject
from petrilab.gui.app import create_application, open_window

at_paint = []

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not at_paint:
            at_paint.append(sorted(m for m in sys.modules if m in WATCHED))
        return False

WATCHED = set(json.loads(sys.argv[1]))
app = create_application(["petrilab"])
probe = FirstPaint()
from PySide6.QtWidgets import QMainWindow
original_show = QMainWindow.show
def show_and_watch(self):
    self.installEventFilter(probe)
    original_show(self)
QMainWindow.show = show_and_watch
window = open_window(warm_up=False)
while not at_paint:
    app.processEvents()
# then, without being asked, the other pages are built (each in its own event-loop turn)
deferred = set(json.loads(sys.argv[2]))
for _ in range(60_000):
    if deferred <= set(sys.modules):
        break
    app.processEvents()
    time.sleep(0.001)
later = sorted(m for m in sys.modules if m in WATCHED)
window.context.dirty = False
window.shutdown()
print(json.dumps({"at_first_paint": at_paint[0], "later": later}))
"""


@pytest.mark.gui
@pytest.mark.slow
def test_first_paint_comes_before_the_plots_and_the_later_pages(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))  # a blank start, no last experiment
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(DEFERRED + NEVER),
                          json.dumps(DEFERRED)], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["at_first_paint"] == []
    assert sorted(DEFERRED) == seen["later"]  # the rest comes after the paint; TensorFlow never
