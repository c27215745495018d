"""A z-stack with its mask, as Fiji's orthogonal views show it: one plane and two cross-sections.

The XY plane is chosen with the z slider (or the mouse wheel over it); a click on it picks the point
the cross-sections go through: XZ (below it, along the row) and YZ (to its right, along the column).
Cross-sections are drawn at the stack's true proportions: when planes are 4× farther apart than
pixels, each plane is drawn 4 pixels thick. The whole stack is stretched to one contrast once
(`display_stack`), so a dim plane looks dim rather than stretched to full brightness.

API (numpy in; nothing here reads files):

    display_stack(pixels)                 (Z, Y, X) or (Z, Y, X, C), any dtype -> (Z, Y, X, 3) uint8
    StackViewer(QWidget)
        .set_stack(display, labels=None, voxel=None, second=None, n_classes=None)
            display  (Z, Y, X, 3) uint8 from display_stack (made in a background thread for large stacks)
            labels   (Z, Y, X) integers, 0 background (objects or classes); second: a prediction to compare
            voxel    (z, y, x) in µm, or None (then planes are drawn one pixel thick)
        .set_plane(z), .set_point(y, x), .set_view(mode=None, overlay_visible=None), .clear()
        .xy, .xz, .yz: the three OverlayViews; .slider: the z slider; .z, .y, .x: where the views are
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from petrilab.gui.widgets.overlay_view import OverlayView
from petrilab.prediction.overlay import display_image

MAX_THICKNESS = 8  # a plane is drawn at most this many pixels thick in a cross-section
CROSSHAIR = np.array([0, 200, 255], np.uint8)


def display_stack(pixels: np.ndarray) -> np.ndarray:
    """(Z, Y, X, 3) uint8: the stack stretched between its percentiles as a whole, one contrast for all planes."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 3:
        pixels = pixels[..., np.newaxis]
    z, y, x, c = pixels.shape
    return display_image(pixels.reshape(z * y, x, c)).reshape(z, y, x, 3)


def plane_thickness(voxel) -> int:
    """How many pixels thick a plane is drawn in a cross-section: the z spacing over the pixel size."""
    if not voxel or not voxel[0] or not voxel[2]:
        return 1
    return int(np.clip(round(voxel[0] / voxel[2]), 1, MAX_THICKNESS))


def _dashed(line: np.ndarray) -> np.ndarray:
    """Every other pair of pixels of a crosshair line, so the picture shows through it."""
    return (np.arange(line.shape[0]) // 2) % 2 == 0


class StackViewer(QWidget):
    """One plane of a stack with its XZ and YZ cross-sections, and a z slider."""

    def __init__(self, parent: QWidget | None = None, minimum: int = 80):
        super().__init__(parent)
        self.display: np.ndarray | None = None
        self.labels = self.second = None
        self.voxel = None
        self.z = self.y = self.x = 0
        self.thickness = 1
        self.mode, self.overlay_visible = "outline", True
        self.xy = OverlayView(self, minimum=minimum, stretch=False)
        self.xz = OverlayView(self, minimum=24, stretch=False)
        self.yz = OverlayView(self, minimum=24, stretch=False)
        self.xy.setToolTip("One plane of the stack. Click to choose where the cross-sections below and to the "
                           "right go; the wheel moves through the planes.")
        self.xz.setToolTip("Cross-section along the marked row: the planes from top (first) to bottom.")
        self.yz.setToolTip("Cross-section along the marked column: the planes from left (first) to right.")
        self.xy.pressed_at.connect(self.set_point)
        self.xz.pressed_at.connect(lambda row, column: self._pick_plane(row))
        self.yz.pressed_at.connect(lambda row, column: self._pick_plane(column))
        self.grid = QGridLayout()
        self.grid.setSpacing(3)
        self.grid.addWidget(self.xy, 0, 0)
        self.grid.addWidget(self.yz, 0, 1)
        self.grid.addWidget(self.xz, 1, 0)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Move through the planes of the stack (z).")
        self.slider.valueChanged.connect(self.set_plane)
        self.where = QLabel()
        self.where.setObjectName("muted")
        row = QHBoxLayout()
        row.addWidget(QLabel("Plane"))
        row.addWidget(self.slider, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.grid, 1)
        layout.addLayout(row)
        layout.addWidget(self.where)

    # ------------------------------------------------------------ what to show

    def set_stack(self, display: np.ndarray, labels=None, voxel=None, second=None, n_classes=None) -> None:
        display = np.asarray(display)
        if display.ndim != 4 or display.shape[3] != 3 or display.dtype != np.uint8:
            raise ValueError(f"display must be a (Z, Y, X, 3) uint8 picture from display_stack, not {display.shape}")
        for name, layer in (("labels", labels), ("second", second)):
            if layer is not None and np.shape(layer) != display.shape[:3]:
                raise ValueError(f"{name} {np.shape(layer)} and stack {display.shape[:3]} differ in size")
        self.display, self.labels, self.second, self.voxel = display, labels, second, voxel
        for view in (self.xy, self.xz, self.yz):
            view.n_classes = n_classes
        n_planes, height, width = display.shape[:3]
        self.thickness = plane_thickness(voxel)
        # the cross-sections get room in proportion to the stack's true depth
        depth = n_planes * self.thickness
        self.grid.setColumnStretch(0, width)
        self.grid.setColumnStretch(1, depth)
        self.grid.setRowStretch(0, height)
        self.grid.setRowStretch(1, depth)
        self.z, self.y, self.x = n_planes // 2, height // 2, width // 2
        self.slider.blockSignals(True)
        self.slider.setRange(0, n_planes - 1)
        self.slider.setValue(self.z)
        self.slider.blockSignals(False)
        self._show()

    def set_plane(self, z: int) -> None:
        if self.display is None:
            return
        self.z = int(np.clip(z, 0, self.display.shape[0] - 1))
        if self.slider.value() != self.z:
            self.slider.setValue(self.z)  # comes back here once, then matches
            return
        self._show()

    def set_point(self, y: int, x: int) -> None:
        if self.display is None:
            return
        self.y = int(np.clip(y, 0, self.display.shape[1] - 1))
        self.x = int(np.clip(x, 0, self.display.shape[2] - 1))
        self._show()

    def set_view(self, mode: str | None = None, overlay_visible: bool | None = None) -> None:
        self.mode = mode or self.mode
        if overlay_visible is not None:
            self.overlay_visible = overlay_visible
        for view in (self.xy, self.xz, self.yz):
            view.set_view(self.mode, self.overlay_visible)

    def clear(self) -> None:
        self.display = self.labels = self.second = None
        for view in (self.xy, self.xz, self.yz):
            view.clear()
        self.where.setText("")

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() // 120
        if steps and self.display is not None:
            self.set_plane(self.z - steps)
        event.accept()

    def _pick_plane(self, position: int) -> None:
        self.set_plane(position // self.thickness)

    # ------------------------------------------------------------ drawing

    def _cut(self, layer, axis: str):
        """The XY plane at z, the XZ section at y (planes thickened), or the YZ section at x (transposed)."""
        if layer is None:
            return None
        if axis == "xy":
            return layer[self.z]
        if axis == "xz":
            return np.repeat(layer[:, self.y], self.thickness, axis=0)
        return np.repeat(np.swapaxes(layer[:, :, self.x], 0, 1), self.thickness, axis=1)

    def _show(self) -> None:
        if self.display is None:
            return
        t = self.thickness
        for axis, view in (("xy", self.xy), ("xz", self.xz), ("yz", self.yz)):
            picture = self._cut(self.display, axis).copy()
            self._mark(axis, picture, t)
            view.set_arrays(picture, self._cut(self.labels, axis), self._cut(self.second, axis))
        n_planes = self.display.shape[0]
        depth = "" if not self.voxel else f" (z = {self.z * self.voxel[0]:.1f} µm)"
        self.where.setText(f"{self.z + 1} of {n_planes}{depth} · sections through row {self.y + 1}, "
                           f"column {self.x + 1}")

    def _mark(self, axis: str, picture: np.ndarray, t: int) -> None:
        """Dashed crosshairs: where the other views cut this one."""
        if axis == "xy":
            rows, columns = [self.y], [self.x]
        elif axis == "xz":
            rows, columns = [self.z * t + t // 2], [self.x]
        else:
            rows, columns = [self.y], [self.z * t + t // 2]
        for r in rows:
            line = picture[r]
            line[_dashed(line)] = CROSSHAIR
        for c in columns:
            line = picture[:, c]
            line[_dashed(line)] = CROSSHAIR
