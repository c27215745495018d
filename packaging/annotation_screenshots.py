"""Screenshots of File > Annotate images… (the dialog, the mask editor for both segmentations, the class
sorter, the multi-label tagger) at 1280×800, 1366×768 and 1024×640, on the demo images, with the real theme.

    xvfb-run -s "-screen 0 1920x1200x24" python packaging/annotation_screenshots.py [OUT_DIR]

Without a display it uses Qt's offscreen platform (widget.grab() works there too).
"""
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
from petrilab.gui.app import create_application
app = create_application(["petrilab"])
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from petrilab.annotation.folder import AnnotationFolder
from petrilab.gui.annotation.start_dialog import StartAnnotationDialog, open_editor

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots-annot")
OUT.mkdir(parents=True, exist_ok=True)
work = Path(tempfile.mkdtemp())

def settle(s=0.3):
    end = time.monotonic() + s
    while time.monotonic() < end:
        app.processEvents(); time.sleep(0.02)

def images(kind):
    src = ROOT / "resources" / "demo" / kind / "images"
    dst = work / f"{kind} images"
    if not dst.exists():
        dst.mkdir()
        for p in sorted(src.iterdir())[:12]:
            shutil.copy(p, dst)
    return dst

sizes = [(1280, 800), (1366, 768), (1024, 640)]
for w, h in sizes:
    d = StartAnnotationDialog(images_folder=str(images("semantic")))
    d.resize(min(640, w), 420); d.show(); settle()
    d.grab().save(str(OUT / f"start_dialog_{w}x{h}.png"))
    d.task_buttons["classification"].setChecked(True); d.start(); settle()
    d.grab().save(str(OUT / f"start_dialog_refused_{w}x{h}.png"))
    d.close()

for kind, classes in [("semantic", None), ("instance", None)]:
    for w, h in sizes:
        f = AnnotationFolder.create(work / f"{kind}-{w}", images(kind), kind, classes)
        e = open_editor(f); e.resize(w, h); settle()
        end = time.monotonic() + 10
        while e.proposer.busy and time.monotonic() < end: app.processEvents()
        settle()
        c = e.canvas
        # one stroke, so the saved state shows
        vp = c.viewport(); r = vp.rect()
        QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, QPoint(r.width()//3, r.height()//3))
        QTest.mouseMove(vp, QPoint(r.width()//3 + 60, r.height()//3 + 30))
        QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, QPoint(r.width()//3 + 60, r.height()//3 + 30))
        e.saver.flush(); settle(0.5)
        QTest.mouseMove(vp, QPoint(r.width()//2, r.height()//2)); settle()
        e.grab().save(str(OUT / f"{kind}_{w}x{h}.png"))
        e.close()

for w, h in sizes:
    src = work / "cells"
    if not src.exists():
        src.mkdir()
        for cls in ["round", "elongated", "fragmented"]:
            for p in sorted((ROOT / "resources/demo/classification" / cls).iterdir())[:4]:
                shutil.copy(p, src / f"{cls}_{p.name}")
    f = AnnotationFolder.create(work / f"cls-{w}", src, "classification", ["round", "elongated", "fragmented"])
    s = open_editor(f); s.resize(w, h); s.activateWindow(); settle()
    QTest.keyClick(s, Qt.Key_1); QTest.keyClick(s, Qt.Key_3); s.saver.flush(); settle(0.5)
    s.grab().save(str(OUT / f"classification_{w}x{h}.png"))
    s.close()
for w, h in sizes:
    f = AnnotationFolder.create(work / f"tags-{w}", work / "cells", "multilabel", ["nucleus", "mitochondria", "Golgi"])
    s = open_editor(f); s.resize(w, h); s.activateWindow(); settle()
    for k in (Qt.Key_1, Qt.Key_3, Qt.Key_Return, Qt.Key_2): QTest.keyClick(s, k)
    s.saver.flush(); settle(0.5)
    s.grab().save(str(OUT / f"multilabel_{w}x{h}.png"))
    s.close()
print("done", sorted(p.name for p in OUT.iterdir()))
