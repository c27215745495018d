"""The drawing surface: an image, its labels in colour on top, and the tools that change the labels.

Fast on 4096 × 4096 images because nothing is re-rendered whole while drawing: the labels' colours live
in an ARGB array that Qt paints straight from (a QImage over the numpy buffer); each mouse move
recolours only the rectangle the brush changed and asks Qt to repaint only that rectangle, and each
item paints only the part of itself that is exposed.

Coordinates: the scene is the image, one unit per pixel (annotation/editing.py's convention).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QGraphicsEllipseItem, QGraphicsItem, QGraphicsPathItem, QGraphicsScene,
                               QGraphicsView)

from petrilab.annotation import editing
from petrilab.gui.widgets.overlay_view import class_colours
from petrilab.prediction.overlay import label_colours

BRUSH, ERASER, FILL, LASSO, DELETE = "brush", "eraser", "fill", "lasso", "delete"
TOOLS = (BRUSH, ERASER, FILL, LASSO, DELETE)
SMALLEST_BRUSH, LARGEST_BRUSH = 1, 200


class ArrayItem(QGraphicsItem):
    """Paints a QImage (over a numpy buffer it keeps alive), only the part Qt asks for."""

    def __init__(self, buffer: np.ndarray, image_format: QImage.Format):
        super().__init__()
        self.buffer = buffer
        h, w = buffer.shape[:2]
        self.qimage = QImage(buffer.data, w, h, buffer.strides[0], image_format)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.qimage.width(), self.qimage.height())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        exposed = option.exposedRect.toAlignedRect().intersected(self.qimage.rect())
        if not exposed.isEmpty():
            painter.drawImage(exposed, self.qimage, exposed)


def display_levels(image: np.ndarray) -> tuple[float, float]:
    """The 1st and 99.8th percentiles, from at most ~250,000 pixels (fast on a 16-megapixel image)."""
    step = max(1, int(np.sqrt(image.shape[0] * image.shape[1] / 250_000)))
    sample = image[::step, ::step].astype(np.float32)
    low, high = np.percentile(sample, [1.0, 99.8])
    return float(low), float(max(high, low + 1e-6))


def display_argb(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """(H, W, C) pixels of any depth as (H, W, 4) uint8 in Qt's ARGB32 byte order (B, G, R, A): grey, or
    colour for 3-channel images."""
    h, w = image.shape[:2]
    out = np.empty((h, w, 4), np.uint8)
    scale = 255.0 / (high - low)
    rgb = image[..., :3] if image.shape[2] == 3 else image.mean(axis=2, keepdims=True) if image.shape[2] > 1 else image
    for start in range(0, h, 512):  # in bands: no float copy of the whole image at once
        band = rgb[start:start + 512].astype(np.float32)
        band = np.clip((band - low) * scale, 0, 255).astype(np.uint8)
        out[start:start + 512, :, :3] = band[..., ::-1] if band.shape[2] == 3 else band
    out[..., 3] = 255
    return out


def colour_table(n_classes: int | None) -> np.ndarray:
    """(65,536, 4) uint8 BGRA, fully opaque except 0 (transparent): a colour per class, or for objects a
    colour per label cycling through 255 well-separated hues."""
    if n_classes is not None:
        colours = class_colours(n_classes)[:, :3]
        table = np.zeros((65536, 3), np.uint8)
        table[:len(colours)] = colours
    else:
        palette = label_colours(255)
        table = palette[(np.arange(65536) - 1) % 255]
    bgra = np.zeros((65536, 4), np.uint8)
    bgra[:, :3] = table[:, ::-1]
    bgra[1:, 3] = 255
    bgra[0] = 0  # premultiplied: a transparent pixel must be all zeros
    return bgra


class AnnotationCanvas(QGraphicsView):
    """Shows one image and its labels; left button draws with the current tool.

    Wheel: zoom; Ctrl + wheel or [ ]: brush size; Space + drag or the middle button: pan."""

    stroke_finished = Signal()  # a stroke, fill or deletion changed the labels (and is one undo step)
    picked = Signal(int)  # right click: the label under the mouse, to draw on with it
    brush_changed = Signal(int)
    zoom_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor("#20242a"))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.tool, self.value, self.radius = BRUSH, 1, 5
        self.mask: np.ndarray | None = None
        self.history: editing.History | None = None
        self.image_item: ArrayItem | None = None
        self.overlay_item: ArrayItem | None = None
        self._overlay: np.ndarray | None = None
        self._table = colour_table(None)
        self._image: np.ndarray | None = None
        self._levels = (0.0, 1.0)
        self._contrast = 1.0
        self._opacity = 0.5
        self._last: QPointF | None = None  # the previous point of the stroke in progress
        self._last_hover: QPointF | None = None
        self._pan_from: QPointF | None = None
        self._space = False
        self.cursor_ring = QGraphicsEllipseItem()
        self.cursor_ring.setPen(QPen(QColor(255, 255, 255, 200), 0))
        self.cursor_ring.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self.cursor_ring.setZValue(10)
        self.scene().addItem(self.cursor_ring)
        self._lasso: list[tuple[float, float]] | None = None  # the outline being drawn
        self.lasso_line = QGraphicsPathItem()
        self.lasso_line.setPen(QPen(QColor(255, 255, 255, 220), 0, Qt.PenStyle.DashLine))
        self.lasso_line.setZValue(10)
        self.scene().addItem(self.lasso_line)

    # ------------------------------------------------------------ contents

    def set_image(self, image: np.ndarray, mask: np.ndarray, n_classes: int | None) -> None:
        """Show `image` (H, W, C) with `mask` (H, W), edited in place. n_classes: None for objects."""
        for item in (self.image_item, self.overlay_item):
            if item is not None:
                self.scene().removeItem(item)
        self._image, self.mask = image, mask
        self.history = editing.History(mask)
        self._table = colour_table(n_classes)
        self._levels = display_levels(image)
        self.image_item = ArrayItem(self._display(), QImage.Format.Format_RGB32)
        self._overlay = self._table[mask]
        self.overlay_item = ArrayItem(self._overlay, QImage.Format.Format_ARGB32_Premultiplied)
        self.overlay_item.setOpacity(self._opacity)
        self.scene().addItem(self.image_item)
        self.scene().addItem(self.overlay_item)
        self.scene().setSceneRect(QRectF(0, 0, mask.shape[1], mask.shape[0]))
        self.fit()

    @property
    def image(self) -> np.ndarray | None:
        """The image shown (H, W, C), as read."""
        return self._image

    def _display(self) -> np.ndarray:
        low, high = self._levels
        return display_argb(self._image, low, low + (high - low) * self._contrast)

    def set_contrast(self, factor: float) -> None:
        """Show pixels up to `factor` × the automatic upper level as white (below 1: brighter)."""
        self._contrast = factor
        if self.image_item is not None:
            self.image_item.buffer[:] = self._display()
            self.image_item.update()

    def set_opacity(self, opacity: float) -> None:
        self._opacity = opacity
        if self.overlay_item is not None:
            self.overlay_item.setOpacity(opacity)

    def replace_mask(self, new: np.ndarray, announce: bool = True) -> None:
        """Put `new` in place of the whole mask as one undo step (e.g. a proposal); `announce`: emit
        stroke_finished (which saves it), even when `new` is the mask shown: the user asked for it, so an
        unsaved proposal accepted as it is gets saved."""
        rect = self.history.single(lambda m: _replace(m, new))
        self.refresh(rect)
        if announce:
            self.stroke_finished.emit()

    def colour_of(self, value: int) -> str:
        """The colour a label value is drawn in, as #rrggbb."""
        b, g, r, _a = (int(v) for v in self._table[value])
        return f"#{r:02x}{g:02x}{b:02x}"

    def refresh(self, rect: editing.Rect | None) -> None:
        """Recolour the labels in `rect` only, and repaint only that part of the view."""
        if rect is None or self._overlay is None:
            return
        t, l, b, r = rect
        self._overlay[t:b, l:r] = self._table[self.mask[t:b, l:r]]
        self.overlay_item.update(QRectF(l, t, r - l, b - t))

    def undo(self) -> None:
        if self.isEnabled() and self.history is not None and (rect := self.history.undo()) is not None:
            self.refresh(rect)
            self.stroke_finished.emit()

    def redo(self) -> None:
        if self.isEnabled() and self.history is not None and (rect := self.history.redo()) is not None:
            self.refresh(rect)
            self.stroke_finished.emit()

    # ------------------------------------------------------------ zoom, brush

    def fit(self) -> None:
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.transform().m11())

    def one_to_one(self) -> None:
        self.resetTransform()
        self.zoom_changed.emit(1.0)

    def set_radius(self, radius: int) -> None:
        self.radius = int(min(max(radius, SMALLEST_BRUSH), LARGEST_BRUSH))
        self._show_ring(self._last_hover)
        self.brush_changed.emit(self.radius)

    def _show_ring(self, at: QPointF | None) -> None:
        self.cursor_ring.setVisible(at is not None and self.tool in (BRUSH, ERASER))
        if at is not None:
            self.cursor_ring.setRect(at.x() - self.radius, at.y() - self.radius, 2 * self.radius, 2 * self.radius)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_radius(self.radius + (1 if steps > 0 else -1) * max(1, self.radius // 5))
            return
        factor = 1.2 ** steps
        self.scale(factor, factor)
        self.zoom_changed.emit(self.transform().m11())

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif event.key() == Qt.Key.Key_BracketLeft:
            self.set_radius(self.radius - max(1, self.radius // 5))
        elif event.key() == Qt.Key.Key_BracketRight:
            self.set_radius(self.radius + max(1, self.radius // 5))
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
        else:
            super().keyReleaseEvent(event)

    # ------------------------------------------------------------ drawing

    def _pan_start(self, event) -> bool:
        return event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space)

    def mousePressEvent(self, event) -> None:
        if self.mask is None:
            return
        if self._pan_start(event):
            self._pan_from = event.position()
            return
        at = self.mapToScene(event.position().toPoint())
        if event.button() == Qt.MouseButton.RightButton:
            row, col = int(at.y()), int(at.x())
            if 0 <= row < self.mask.shape[0] and 0 <= col < self.mask.shape[1]:
                self.picked.emit(int(self.mask[row, col]))
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self.tool in (BRUSH, ERASER):
            self.history.begin()
            self._last = at
            self._paint(at, at)
        elif self.tool == LASSO:
            self._lasso = [(at.x(), at.y())]
        elif self.tool == FILL:
            self._one_click(lambda m: editing.flood_fill(m, at.x(), at.y(), self.value))
        elif self.tool == DELETE:
            self._one_click(lambda m: editing.delete_object(m, at.x(), at.y()))

    def _one_click(self, operation) -> None:
        rect = self.history.single(operation)
        if rect is not None:
            self.refresh(rect)
            self.stroke_finished.emit()

    def _paint(self, p: QPointF, q: QPointF) -> None:
        value = 0 if self.tool == ERASER else self.value
        self.refresh(self.history.paint((p.x(), p.y()), (q.x(), q.y()), self.radius, value))

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        at = self.mapToScene(event.position().toPoint())
        self._last_hover = at
        self._show_ring(at)
        if self._last is not None:
            self._paint(self._last, at)
            self._last = at
        elif self._lasso is not None:
            self._lasso.append((at.x(), at.y()))
            path = QPainterPath(QPointF(*self._lasso[0]))
            for x, y in self._lasso[1:]:
                path.lineTo(x, y)
            self.lasso_line.setPath(path)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            return
        if self._last is not None and event.button() == Qt.MouseButton.LeftButton:
            self._last = None
            if self.history.end() is not None:
                self.stroke_finished.emit()
        elif self._lasso is not None and event.button() == Qt.MouseButton.LeftButton:
            outline, self._lasso = self._lasso, None
            self.lasso_line.setPath(QPainterPath())
            self._one_click(lambda m: editing.fill_polygon(m, outline, self.value))

    def leaveEvent(self, event) -> None:
        self._show_ring(None)
        super().leaveEvent(event)


def _replace(mask: np.ndarray, new: np.ndarray) -> editing.Rect | None:
    if np.array_equal(mask, new):
        return None
    mask[:] = new
    return 0, 0, mask.shape[0], mask.shape[1]
