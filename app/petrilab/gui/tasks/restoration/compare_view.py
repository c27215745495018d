"""Before and after, the way the workshop teaches to look at a restoration: never the restored image alone.

    BeforeAfterView(QWidget)
        .set_images(before, after, caption="")   two (H, W) or (H, W, C) arrays of one size, in the same units
        .show_files(before, after, caption)      the same, read from two image files in the background
        .set_mode("side" | "wipe" | "difference")
        .set_wipe(fraction)                      wipe mode: the restored image left of fraction·width, the input right
        .set_line((r0, c0), (r1, c1))            the line whose profile is drawn (it can also be dragged)
        .profiles -> (before, after)             the two profiles now drawn (numpy), e.g. for tests
        .clear()

Side by side: the input and the restored image, zoom and pan linked (scroll or drag either; both follow), at one
display range, so a brighter result is seen as brighter. Wipe: one picture, the restored image on the left of a
slider, the input on the right. Difference: restored − input, grey where nothing changed: structures there mean
the network changed more than noise. Under the pictures, the intensities along a line drawn on them, before and
after: a restoration that invents a structure shows a bump the input does not have.
Only numpy, pyqtgraph and Qt (tasks/restoration/views.py does the arithmetic): no Keras.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QSlider, QVBoxLayout, QWidget

from petrilab.errors import UserError
from petrilab.gui.workers import Background
from petrilab.tasks.restoration.views import difference, display_range, grey, line_profile

MODES = {"side": "Side by side", "wipe": "Wipe", "difference": "Difference (restored − input)"}
BEFORE_PEN, AFTER_PEN = pg.mkPen("#8a8a8a", width=2), pg.mkPen("#e07b00", width=2)
LINE_PEN = pg.mkPen("#00b4ff", width=2)


class BeforeAfterView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._reader = Background(self)  # reads the files of show_files off the window's thread
        self.before = self.after = None
        self.mode = "side"
        self.wipe = 0.5
        self.profiles = (np.zeros(0), np.zeros(0))

        self.modes = QButtonGroup(self)
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Show:"))
        for key, words in MODES.items():
            button = QRadioButton(words)
            button.setChecked(key == self.mode)
            button.toggled.connect(lambda on, k=key: on and self.set_mode(k))
            self.modes.addButton(button)
            mode_row.addWidget(button)
        mode_row.addStretch(1)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setValue(500)
        self.slider.setToolTip("Move to wipe between the restored image (left) and the input (right)")
        self.slider.valueChanged.connect(lambda v: self.set_wipe(v / 1000))
        self.slider_label = QLabel("Restored ◂ wipe ▸ input")
        self.slider_label.setObjectName("muted")
        slider_row = QHBoxLayout()
        slider_row.addWidget(self.slider_label)
        slider_row.addWidget(self.slider, 1)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.canvas.setMinimumHeight(240)  # on a small screen the page scrolls rather than shrink the pictures
        self.left_view = self.canvas.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.right_view = self.canvas.addViewBox(row=0, col=1, lockAspect=True, invertY=True, enableMenu=False)
        self.right_view.setXLink(self.left_view)  # linked zoom and pan
        self.right_view.setYLink(self.left_view)
        self.left_image, self.right_image = pg.ImageItem(axisOrder="row-major"), pg.ImageItem(axisOrder="row-major")
        self.left_view.addItem(self.left_image)
        self.right_view.addItem(self.right_image)
        self.left_title = pg.TextItem("Input", color="#333", anchor=(0, 1))
        self.right_title = pg.TextItem("Restored", color="#333", anchor=(0, 1))
        self.wipe_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ffd400", width=2))
        self.left_view.addItem(self.wipe_line)
        self.wipe_line.hide()
        self.line = pg.LineSegmentROI([(10, 10), (50, 50)], pen=LINE_PEN)
        self.left_view.addItem(self.line)
        self.line_copy = pg.PlotCurveItem(pen=LINE_PEN)  # the same line on the right picture
        self.right_view.addItem(self.line_copy)
        self.line.sigRegionChanged.connect(self._line_moved)

        self.profile_plot = pg.PlotWidget(background="w")
        self.profile_plot.setMaximumHeight(130)
        self.profile_plot.setMinimumHeight(90)
        self.profile_plot.setLabel("bottom", "along the blue line (pixels)")
        self.profile_plot.setLabel("left", "intensity")
        self.profile_plot.addLegend(offset=(-10, 5))
        self.before_curve = self.profile_plot.plot([], [], pen=BEFORE_PEN, name="input")
        self.after_curve = self.profile_plot.plot([], [], pen=AFTER_PEN, name="restored")
        self.caption = QLabel()
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(mode_row)
        layout.addLayout(slider_row)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.profile_plot)
        layout.addWidget(self.caption)
        self._show_slider()

    # ------------------------------------------------------------ data

    def set_images(self, before: np.ndarray, after: np.ndarray, caption: str = "") -> None:
        before, after = grey(before), grey(after)
        if before.shape != after.shape:
            raise ValueError(f"the images differ in size: {before.shape} and {after.shape}")
        self.before, self.after = before, after
        self.levels = display_range(before, after)
        self.diff = difference(after, before)
        reach = float(np.percentile(np.abs(self.diff), 99.5)) or 1.0
        self.diff_levels = (-reach, reach)
        self.caption.setText(caption)
        h, w = before.shape
        if not getattr(self, "_line_set", False):
            self.set_line((h * 0.5, w * 0.2), (h * 0.5, w * 0.8))
        self._draw()
        self.left_view.autoRange(padding=0)

    def show_files(self, before: Path, after: Path, caption: str) -> None:
        """Read the input and its restored image off the window's thread (a large TIFF takes seconds), then show
        them; a moved, unreadable or mismatched file is said in the caption instead."""
        self.clear()
        self.caption.setText(f"Reading {Path(before).name} and its restored image…")
        self._reader.start(read_pair, Path(before), Path(after),
                           on_done=lambda pair: self.set_images(*pair, caption), on_failed=self._not_read)

    def _not_read(self, error: UserError) -> None:
        self.clear()
        self.caption.setText(f"{error.message} {error.fix or ''}".strip())

    def clear(self) -> None:
        self.before = self.after = None
        self.left_image.clear()
        self.right_image.clear()
        self.before_curve.setData([], [])
        self.after_curve.setData([], [])
        self.caption.setText("")
        self._line_set = False

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        for button, key in zip(self.modes.buttons(), MODES):
            if key == mode and not button.isChecked():
                button.setChecked(True)
        self._show_slider()
        self._draw()

    def set_wipe(self, fraction: float) -> None:
        self.wipe = float(np.clip(fraction, 0, 1))
        if self.slider.value() != round(self.wipe * 1000):
            self.slider.setValue(round(self.wipe * 1000))
        if self.mode == "wipe":
            self._draw()

    def set_line(self, start, end) -> None:
        """The profile's line, (row, column) at each end."""
        self._line_set = True
        self.line.blockSignals(True)
        handles = self.line.getHandles()
        self.line.movePoint(handles[0], pg.Point(start[1], start[0]), finish=False)
        self.line.movePoint(handles[1], pg.Point(end[1], end[0]))
        self.line.blockSignals(False)
        self._line_moved()

    # ------------------------------------------------------------ drawing

    def _show_slider(self) -> None:
        wiping = self.mode == "wipe"
        self.slider.setVisible(wiping)
        self.slider_label.setVisible(wiping)
        self.right_view.setVisible(self.mode == "side")
        self.wipe_line.setVisible(wiping)

    def _draw(self) -> None:
        if self.before is None:
            return
        if self.mode == "difference":
            self.left_image.setImage(self.diff, levels=self.diff_levels)
            return
        if self.mode == "wipe":
            split = int(round(self.wipe * self.before.shape[1]))
            composite = self.before.copy()
            composite[:, :split] = self.after[:, :split]
            self.left_image.setImage(composite, levels=self.levels)
            self.wipe_line.setValue(split)
            return
        self.left_image.setImage(self.before, levels=self.levels)
        self.right_image.setImage(self.after, levels=self.levels)

    def _ends(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The line's two ends as (row, column), in image pixels."""
        points = [self.line.mapToParent(h.pos()) for h in self.line.getHandles()]
        return (points[0].y(), points[0].x()), (points[1].y(), points[1].x())

    def _line_moved(self) -> None:
        start, end = self._ends()
        self.line_copy.setData([start[1], end[1]], [start[0], end[0]])
        if self.before is None:
            return
        self.profiles = (line_profile(self.before, start, end), line_profile(self.after, start, end))
        self.before_curve.setData(np.arange(len(self.profiles[0])), self.profiles[0])
        self.after_curve.setData(np.arange(len(self.profiles[1])), self.profiles[1])


def read_pair(before: Path, after: Path) -> tuple[np.ndarray, np.ndarray]:
    """Both images as (H, W) grey, or a UserError naming the file that is missing, unreadable or of another size."""
    from petrilab.data.images import read_image

    for path in (before, after):
        if not path.is_file():
            raise UserError(f"{path.name} is no longer in {path.parent}.", file=path,
                            fix="It was moved or deleted after the run; predict again to see it.")
    pair = grey(read_image(before)), grey(read_image(after))  # in the thread: set_images keeps them as they are
    (h0, w0), (h1, w1) = pair[0].shape, pair[1].shape
    if (h0, w0) != (h1, w1):
        raise UserError(f"{after.name} ({w1} × {h1}) is not the size of {before.name} ({w0} × {h0}).", file=after,
                        fix="It was replaced after the run; predict again to see it.")
    return pair
