"""Small input → output pictures for the task cards, drawn with QPainter (no image files to ship)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPixmap

from petrilab.gui.widgets import theme
from petrilab.tasks import TASKS

# cells in the input image, in 0..1 coordinates of the tile: (x, y, rx, ry)
_CELLS = [(0.30, 0.32, 0.15, 0.11), (0.68, 0.40, 0.12, 0.14), (0.42, 0.72, 0.16, 0.10)]
_OBJECT_COLOURS = ["#e07a5f", "#81b29a", "#f2cc8f"]


def task_pixmap(key: str, width: int = 150, height: int = 56, enabled: bool = True) -> QPixmap:
    ratio = 2.0  # drawn at twice the size: sharp on high-DPI screens
    pixmap = QPixmap(int(width * ratio), int(height * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    if not enabled:
        painter.setOpacity(0.45)
    paint_task(painter, QRectF(0, 0, width, height), key)
    painter.end()
    return pixmap


def paint_task(painter: QPainter, rect: QRectF, key: str) -> None:
    side = rect.height() - 4
    left = QRectF(rect.left() + 2, rect.top() + 2, side, side)
    right = QRectF(rect.right() - side - 2, rect.top() + 2, side, side)
    answer = TASKS[key].answer if key in TASKS else ""
    (_noisy_input if answer == "image" else _input_tile)(painter, left)
    _arrow(painter, QPointF(left.right() + 8, rect.center().y()), QPointF(right.left() - 8, rect.center().y()))
    # the output tile pictures what the task answers (Task.answer)
    {
        "class": _out_class,
        "labels": _out_labels,
        "values": _out_numbers,
        "mask": _out_semantic,
        "objects": _out_instance,
        "image": _input_tile,  # restoration: the same field, clean
    }.get(answer, _out_class)(painter, right)


def _tile(painter: QPainter, r: QRectF, fill: str) -> None:
    painter.setPen(QPen(QColor(theme.BORDER), 1))
    painter.setBrush(QColor(fill))
    painter.drawRoundedRect(r, 4, 4)


def _cells(painter: QPainter, r: QRectF, colours: list[str], outline: str | None) -> None:
    for (x, y, rx, ry), colour in zip(_CELLS, colours):
        painter.setPen(QPen(QColor(outline), 1.2) if outline else Qt.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawEllipse(QPointF(r.left() + x * r.width(), r.top() + y * r.height()), rx * r.width(), ry * r.height())


def _input_tile(painter: QPainter, r: QRectF) -> None:
    _tile(painter, r, "#3a4652")  # a fluorescence-like dark field
    _cells(painter, r, ["#7fd1ae", "#9fe0c3", "#6cc39e"], "#c9f2e0")


def _noisy_input(painter: QPainter, r: QRectF) -> None:
    """The input field under grainy noise: a fixed sprinkle of light and dark dots (the same on every card)."""
    _input_tile(painter, r)
    painter.setPen(Qt.NoPen)
    step = r.width() / 9
    for i in range(81):
        shade = (i * 37) % 7  # a fixed pseudo-random pattern: no generator, the same picture each time
        if shade in (0, 3, 5):
            painter.setBrush(QColor("#dfe7e3" if shade == 0 else "#1e252c" if shade == 3 else "#8aa39a"))
            x, y = r.left() + (i % 9 + 0.2 * (i % 3)) * step, r.top() + (i // 9 + 0.15 * (i % 4)) * step
            painter.drawRect(QRectF(x, y, step * 0.55, step * 0.55))


def _arrow(painter: QPainter, a: QPointF, b: QPointF) -> None:
    painter.setPen(QPen(QColor(theme.MUTED), 1.6, Qt.SolidLine, Qt.RoundCap))
    painter.drawLine(a, b)
    head = QPainterPath()
    head.moveTo(b)
    head.lineTo(b.x() - 6, b.y() - 4)
    head.lineTo(b.x() - 6, b.y() + 4)
    head.closeSubpath()
    painter.setBrush(QColor(theme.MUTED))
    painter.setPen(Qt.NoPen)
    painter.drawPath(head)


def _tag(painter: QPainter, r: QRectF, text: str, colour: str) -> None:
    painter.setPen(Qt.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawRoundedRect(r, 3, 3)
    painter.setPen(QColor("white"))
    font = QFont(painter.font())
    font.setPixelSize(max(8, int(r.height() * 0.62)))
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(r, Qt.AlignCenter, text)


def _out_class(painter: QPainter, r: QRectF) -> None:
    _tile(painter, r, theme.PANEL)
    _tag(painter, QRectF(r.left() + 4, r.center().y() - 8, r.width() - 8, 16), "infected", theme.ACCENT)


def _out_labels(painter: QPainter, r: QRectF) -> None:
    _tile(painter, r, theme.PANEL)
    h = 13
    _tag(painter, QRectF(r.left() + 4, r.center().y() - h - 2, r.width() - 8, h), "nucleus", theme.ACCENT)
    _tag(painter, QRectF(r.left() + 4, r.center().y() + 2, r.width() - 8, h), "mito", "#81b29a")


def _out_numbers(painter: QPainter, r: QRectF) -> None:
    _tile(painter, r, theme.PANEL)
    painter.setPen(QColor(theme.TEXT))
    font = QFont(painter.font())
    font.setPixelSize(int(r.height() * 0.24))
    painter.setFont(font)
    painter.drawText(QRectF(r.left(), r.top() + 4, r.width(), r.height() / 2 - 2), Qt.AlignCenter, "x 12.4")
    painter.drawText(QRectF(r.left(), r.center().y(), r.width(), r.height() / 2 - 4), Qt.AlignCenter, "y 30.1")


def _out_semantic(painter: QPainter, r: QRectF) -> None:
    _tile(painter, r, "#111418")
    _cells(painter, r, ["#f2f2f2"] * 3, None)


def _out_instance(painter: QPainter, r: QRectF) -> None:
    _tile(painter, r, "#111418")
    _cells(painter, r, _OBJECT_COLOURS, None)
