"""How fast the annotation editor draws on a 4096 × 4096 16-bit image (issue #17: each stroke within 50 ms).

The image is a real one tiled: the demo's 128 × 128 nuclei image 32 × 32 times, as 16 bits. The real
editor (SegmentationEditor on an AnnotationFolder) opens it; then mouse strokes are sent to the canvas as
a user's would be (QTest press, moves, release), and each mouse move is timed from the event to the end of
the repaint it causes (the event loop run until idle). Measured at fit-to-window zoom and at 1:1, with a
small and a large brush. Also: the time to open the image (read, convert for display, first paint), the
time the window spends at a stroke's end (copying the mask for the saver), the background save, and the
classical proposal.

    python benchmarks/annotation_stroke.py [--moves 300] [--size 4096]

Without a display it uses Qt's offscreen platform (painting then goes to memory, as on a real screen
without the copy to the graphics card).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import tifffile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))


def big_image(size: int) -> np.ndarray:
    from petrilab.data.images import read_image

    tile = read_image(ROOT / "resources" / "demo" / "instance" / "images" / "nuclei_001.png")[..., 0]
    reps = -(-size // tile.shape[0])
    return (np.tile(tile, (reps, reps))[:size, :size].astype(np.uint16) * 257)


def zigzag(width: int, height: int, moves: int, step: int) -> list[tuple[int, int]]:
    """Viewport points: left to right and back, `step` screen pixels apart, inside the view."""
    points, x, y, dx = [], width // 4, height // 3, step
    for _ in range(moves + 1):
        points.append((x, y))
        x += dx
        if not width // 8 < x < width - width // 8:
            dx, y = -dx, y + 12
    return points


def time_stroke(app, canvas, points) -> list[float]:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    viewport = canvas.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[0]))
    app.processEvents()
    times = []
    for p in points[1:]:
        start = time.perf_counter()
        QTest.mouseMove(viewport, QPoint(*p))
        app.processEvents()  # the repaint the move asked for
        times.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[-1]))
    app.processEvents()
    released = (time.perf_counter() - start) * 1000  # the undo step, and the copy handed to the saver
    return times, released


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()

    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from petrilab.annotation.folder import AnnotationFolder
    from petrilab.annotation.proposal import propose
    from petrilab.gui.annotation.segmentation_editor import SegmentationEditor

    app = QApplication(sys.argv)
    work = Path(tempfile.mkdtemp(prefix="annotation-bench-"))
    (work / "images").mkdir()
    image = big_image(args.size)
    tifffile.imwrite(work / "images" / "big.tif", image)
    folder = AnnotationFolder.create(work / "labels", work / "images", "instance")

    class Paints(QObject):
        count = 0

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                Paints.count += 1
            return False

    start = time.perf_counter()
    editor = SegmentationEditor(folder)  # reads the image, converts it for display, starts the proposal
    editor.resize(1280, 800)
    editor.show()
    paints = Paints()
    editor.canvas.viewport().installEventFilter(paints)
    while Paints.count == 0:
        app.processEvents()
    opened = time.perf_counter() - start
    while editor.proposer.busy:
        app.processEvents()
        time.sleep(0.005)
    waited_proposal = time.perf_counter() - start - opened
    canvas = editor.canvas
    rows, whole_view = [], {}
    for zoom in ("fit", "1:1"):
        canvas.fit() if zoom == "fit" else canvas.one_to_one()
        app.processEvents()
        view = canvas.viewport()
        for radius in (8, 40):
            canvas.set_radius(radius)
            before, drawn = Paints.count, int((canvas.mask == canvas.value).sum())
            times, released = time_stroke(app, canvas, zigzag(view.width(), view.height(), args.moves, 6))
            painted = Paints.count - before
            assert (canvas.mask == canvas.value).sum() > drawn, "the stroke drew nothing"
            assert (canvas._overlay[..., 3][canvas.mask == canvas.value] == 255).all(), "not shown"
            rows.append((zoom, radius, statistics.median(times), max(times), sorted(times)[int(0.95 * len(times))],
                         painted, canvas.transform().m11(), released))
        full = []
        for _ in range(5):  # for scale: what repainting the whole view costs (a pan, a zoom, a new image)
            start = time.perf_counter()
            view.repaint()
            full.append((time.perf_counter() - start) * 1000)
        whole_view[zoom] = statistics.median(full)
    start = time.perf_counter()
    copy = canvas.mask.copy()  # what a stroke's end costs the window
    copy_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    folder.save_mask(folder.entries[0], copy)
    save_s = time.perf_counter() - start
    start = time.perf_counter()
    propose(image[..., None], objects=True)
    proposal_objects = time.perf_counter() - start
    start = time.perf_counter()
    propose(image[..., None], objects=False)
    proposal_classes = time.perf_counter() - start

    print(f"image {args.size} × {args.size} uint16, view {canvas.viewport().width()} × "
          f"{canvas.viewport().height()}, platform {app.platformName()}, {args.moves} moves per stroke")
    print("| zoom | brush radius (image px) | median per move | 95th percentile | worst | repaints | release |")
    print("|---|---|---|---|---|---|---|")
    for zoom, radius, median, worst, p95, painted, scale, released in rows:
        print(f"| {zoom} ({scale:.3f}×) | {radius} | {median:.1f} ms | {p95:.1f} ms | {worst:.1f} ms | {painted} "
              f"| {released:.0f} ms |")
    print("whole view repainted (a pan or zoom, not a stroke): "
          + ", ".join(f"{z} {ms:.1f} ms" for z, ms in whole_view.items()))
    print(f"open (read, display, first paint): {opened:.2f} s; proposal finished {waited_proposal:.2f} s later")
    print(f"stroke end on the window's thread (mask copy for the saver): {copy_ms:.1f} ms")
    print(f"save (in the background: copy of the original, mask TIFF, annotation.json): {save_s:.2f} s")
    print(f"proposal alone: objects (Otsu + watershed) {proposal_objects:.2f} s, classes (Otsu) "
          f"{proposal_classes:.2f} s")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    editor.close()


if __name__ == "__main__":
    main()
