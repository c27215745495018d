"""An image with its mask or labels drawn on it, from numpy arrays: the way a biologist checks a mask by eye.

API (pure numpy in, Qt out; nothing here reads files):

    compose_overlay(image, labels=None, second=None, mode="outline", alpha=0.4, n_classes=None) -> (H, W, 3) uint8
        image   (H, W) or (H, W, C), any dtype: shown with its contrast stretched between the 1st and
                99.8th percentiles (grey, green/magenta for two channels, RGB for three or more).
        labels  (H, W) integers or bool, 0 = background: a label image (one colour per object) or a class
                mask (one colour per class; a mask holding only 0/1 is drawn in yellow).
        second  optional (H, W) labels for "predicted vs true": `labels` is the truth (green), `second` the
                prediction (magenta); where their outlines agree they are yellow.
        mode    "outline" (each object's edge pixels) or "fill" (a translucent colour, `alpha` 0..1, with the
                outline on top so touching objects stay apart).
        n_classes  for class masks: the dataset's number of classes, so a class keeps its colour in every image
                (class_colours(n_classes) gives them, e.g. for a legend); None for label images.

    shrink_for_display(image, labels=None, second=None, longest=256) -> the same arrays, every side at most
        `longest` pixels (every n-th pixel: labels stay whole numbers). Use it before composing thumbnails.

    OverlayView(QWidget)
        .set_arrays(image, labels=None, second=None, pictures=None)
                                                       show new arrays (keeps the mode); `pictures` may hand
                                                       over pictures composed in a background thread,
                                                       {(mode, overlay_visible): rgb}, so a large image never
                                                       holds up the window
        .set_view(mode=None, overlay_visible=None)     change both with a single composition
        .set_mode("outline" | "fill"), .set_alpha(a), .set_overlay_visible(bool)
        .set_caption(text)                             a line under the picture (optional)
        .clear()
        .rgb  -> the composed (H, W, 3) uint8 picture now shown (None when empty), e.g. for tests
        .clicked signal                                 a mouse click on the picture (e.g. to enlarge it)
        .pressed_at(row, column) signal                 the image pixel under that click
        .n_classes                                      as compose_overlay's (a constructor argument too)
        .stretch                                        as compose_overlay's (a constructor argument too)
    The picture is scaled to fit the widget, keeping its aspect; small images are enlarged pixel by pixel
    (no blur), so one-pixel outlines stay sharp. Each (mode, visible) picture is composed once per arrays.

Only numpy, scikit-image (through petrilab.prediction.overlay) and Qt: no Keras.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from petrilab.prediction.overlay import (GREEN, MAGENTA, YELLOW, _draw_outlines, display_image, label_colours)

MODES = ("outline", "fill")
CAPTION_HEIGHT = 18


def class_colours(n_classes: int) -> np.ndarray:
    """(n_classes, 3) uint8: the colour of each class value (0, background, unused): yellow when there is
    one class besides the background, else well-separated hues."""
    if n_classes <= 2:
        return np.array([[0, 0, 0], YELLOW], dtype=np.uint8)
    return label_colours(n_classes)


def _colour_table(labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """(max + 1, 3) uint8: yellow for a 0/1 mask, else one colour per value (0 unused)."""
    top = int(labels.max(initial=0))
    if n_classes is not None and n_classes > 2:
        return class_colours(max(n_classes, top + 1))  # the same colour for a class in every image
    if top <= 1:
        return np.array([[0, 0, 0], YELLOW], dtype=np.uint8)
    return label_colours(top + 1)


def _as_labels(labels, shape: tuple[int, int], what: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 3 and labels.shape[2] == 1:
        labels = labels[:, :, 0]
    if labels.shape != shape:
        raise ValueError(f"{what} {labels.shape} and image {shape} differ in size")
    if labels.dtype == bool:
        return labels.astype(np.int32)
    if labels.dtype.kind == "f":
        labels = np.nan_to_num(labels)
    return np.clip(labels, 0, None).astype(np.int64)


def compose_overlay(image: np.ndarray, labels: np.ndarray | None = None, second: np.ndarray | None = None,
                    mode: str = "outline", alpha: float = 0.4, n_classes: int | None = None,
                    stretch: bool = True) -> np.ndarray:
    """(H, W, 3) uint8: the image, contrast stretched, with `labels` (and `second`) drawn on it.

    stretch=False: `image` is already a display picture, (H, W, 3) uint8, drawn on as it is (a plane of a
    stack stretched as a whole, so planes keep one contrast)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    rgb = display_image(image) if stretch else np.array(image, dtype=np.uint8)
    shape = rgb.shape[:2]
    if labels is None and second is None:
        return rgb
    alpha = float(np.clip(alpha, 0.0, 1.0))
    if second is None:
        labels = _as_labels(labels, shape, "labels")
        colours = _colour_table(labels, n_classes)
        if mode == "fill":
            inside = labels > 0
            blended = (1 - alpha) * rgb[inside] + alpha * colours[labels[inside]]
            rgb[inside] = (blended + 0.5).astype(np.uint8)
        _draw_outlines(rgb, labels, None if len(colours) > 2 else YELLOW, 1)
        return rgb
    # predicted vs true: truth green, prediction magenta, yellow where the outlines agree
    from skimage.segmentation import find_boundaries

    pred = _as_labels(second, shape, "second")
    true = _as_labels(labels, shape, "labels") if labels is not None else np.zeros(shape, np.int64)
    if mode == "fill":
        for mask, colour in ((true > 0, GREEN), (pred > 0, MAGENTA)):
            rgb[mask] = ((1 - alpha / 2) * rgb[mask] + (alpha / 2) * np.array(colour) + 0.5).astype(np.uint8)
    true_edge = find_boundaries(true, mode="inner")
    pred_edge = find_boundaries(pred, mode="inner")
    rgb[true_edge] = GREEN
    rgb[pred_edge] = MAGENTA
    rgb[true_edge & pred_edge] = YELLOW
    return rgb


def shrink_for_display(image: np.ndarray, labels: np.ndarray | None = None, second: np.ndarray | None = None,
                       longest: int = 256):
    """(image, labels, second) with every side at most `longest`, by keeping every n-th pixel."""
    image = np.asarray(image)
    step = max(1, int(np.ceil(max(image.shape[:2]) / max(1, longest))))
    if step == 1:
        return image, labels, second

    def cut(a):
        return None if a is None else np.asarray(a)[::step, ::step]

    return cut(image), cut(labels), cut(second)


def to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage owning a copy of an (H, W, 3) uint8 array."""
    a = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, a.strides[0], QImage.Format_RGB888).copy()


class OverlayView(QWidget):
    """One picture: an image with its labels drawn on it, scaled to the widget."""

    clicked = Signal()
    pressed_at = Signal(int, int)  # the (row, column) of the image pixel under a left click

    def __init__(self, parent: QWidget | None = None, mode: str = "outline", alpha: float = 0.4,
                 minimum: int = 120, n_classes: int | None = None, stretch: bool = True):
        super().__init__(parent)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode, self.alpha = mode, alpha
        self.stretch = stretch  # False: the arrays are display pictures already (see compose_overlay)
        self.n_classes = n_classes  # class masks: colours fixed per class across images (see compose_overlay)
        self.overlay_visible = True
        self.caption = ""
        self._arrays: tuple | None = None
        self._pictures: dict[tuple[str, bool], np.ndarray] = {}  # composed once per arrays
        self.rgb: np.ndarray | None = None
        self._qimage: QImage | None = None
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.Window, QColor("#111418"))
        self.setPalette(palette)

    # ------------------------------------------------------------ what to show

    def set_arrays(self, image: np.ndarray, labels: np.ndarray | None = None,
                   second: np.ndarray | None = None, pictures: dict | None = None) -> None:
        image = np.asarray(image)
        for name, layer in (("labels", labels), ("second", second)):  # refused now, even while hidden
            if layer is not None and np.shape(layer)[:2] != image.shape[:2]:
                raise ValueError(f"{name} {np.shape(layer)} and image {image.shape[:2]} differ in size")
        self._arrays = (image, labels, second)
        self._pictures = dict(pictures or {})
        self._compose()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self._compose()

    def set_view(self, mode: str | None = None, overlay_visible: bool | None = None) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode = mode or self.mode
        if overlay_visible is not None:
            self.overlay_visible = bool(overlay_visible)
        self._compose()

    def set_alpha(self, alpha: float) -> None:
        self.alpha = float(alpha)
        self._pictures.clear()
        self._compose()

    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay_visible = bool(visible)
        self._compose()

    def set_caption(self, text: str) -> None:
        self.caption = text
        self.update()

    def clear(self) -> None:
        self._arrays = None
        self._pictures = {}
        self.rgb = None
        self._qimage = None
        self.caption = ""
        self.update()

    def _compose(self) -> None:
        if self._arrays is None:
            return
        image, labels, second = self._arrays
        visible = self.overlay_visible and (labels is not None or second is not None)
        key = (self.mode if visible else "none", visible)
        if key not in self._pictures:
            self._pictures[key] = (compose_overlay(image, labels, second, self.mode, self.alpha, self.n_classes,
                                                   stretch=self.stretch)
                                   if visible else compose_overlay(image, stretch=self.stretch))
        self.rgb = self._pictures[key]
        self._qimage = to_qimage(self.rgb)
        self.update()

    # ------------------------------------------------------------ drawing

    def picture_rect(self) -> QRect:
        """Where the picture is drawn: as large as fits, centred, aspect kept."""
        area = self.rect().adjusted(0, 0, 0, -(CAPTION_HEIGHT if self.caption else 0))
        if self._qimage is None or area.width() <= 0 or area.height() <= 0:
            return QRect()
        size = QSize(self._qimage.width(), self._qimage.height()).scaled(area.size(), Qt.KeepAspectRatio)
        x = area.x() + (area.width() - size.width()) // 2
        y = area.y() + (area.height() - size.height()) // 2
        return QRect(x, y, size.width(), size.height())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        if self._qimage is not None:
            target = self.picture_rect()
            enlarging = target.width() >= self._qimage.width()
            # enlarged pixel by pixel: a one-pixel outline stays a crisp line, not a blur
            painter.setRenderHint(QPainter.SmoothPixmapTransform, not enlarging)
            painter.drawImage(target, self._qimage)
        else:
            painter.setPen(QColor("#8a94a3"))
            painter.drawText(self.rect(), Qt.AlignCenter, "no image")
        if self.caption:
            painter.setPen(QColor("#e6e9ee"))
            strip = QRect(4, self.height() - CAPTION_HEIGHT, self.width() - 8, CAPTION_HEIGHT)
            text = painter.fontMetrics().elidedText(self.caption, Qt.ElideMiddle, strip.width())
            painter.drawText(strip, Qt.AlignCenter, text)
        painter.end()

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            self.clicked.emit()
            target = self.picture_rect()
            if target.contains(event.position().toPoint()) and self.rgb is not None:
                h, w = self.rgb.shape[:2]
                row = int((event.position().y() - target.y()) * h / target.height())
                column = int((event.position().x() - target.x()) * w / target.width())
                self.pressed_at.emit(min(row, h - 1), min(column, w - 1))
        super().mousePressEvent(event)
