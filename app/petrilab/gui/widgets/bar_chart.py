"""Images per class as a bar chart (pyqtgraph; the bar item is created once and updated)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from petrilab.gui.widgets import theme


class ClassBarChart(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, background=theme.PANEL)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.showGrid(x=False, y=True, alpha=0.25)
        self.getPlotItem().setLabel("left", "images")
        for side in ("left", "bottom"):
            axis = self.getAxis(side)
            axis.setPen(pg.mkPen(theme.BORDER))
            axis.setTextPen(pg.mkPen(theme.MUTED))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=theme.ACCENT, pen=pg.mkPen(None))
        self.addItem(self.bars)
        self.value_labels: list[pg.TextItem] = []
        self.names: list[str] = []
        self.counts: list[int] = []
        self.setMinimumHeight(160)

    def set_counts(self, names: list[str], counts: list[int], colours: list[str] | None = None) -> None:
        """One bar per class; `colours` (one per bar) can flag classes with too few images."""
        self.names, self.counts = list(names), [int(c) for c in counts]
        xs = list(range(len(self.names)))
        brushes = [pg.mkBrush(c) for c in colours] if colours else [pg.mkBrush(theme.ACCENT)] * len(xs)
        self.bars.setOpts(x=xs, height=self.counts, width=0.6, brushes=brushes)
        self.getAxis("bottom").setTicks([[(i, _short(n)) for i, n in enumerate(self.names)]])
        top = max(self.counts, default=1) or 1
        # one text label per bar, reused; extra ones hidden
        while len(self.value_labels) < len(xs):
            label = pg.TextItem(color=theme.TEXT, anchor=(0.5, 1.0))
            self.addItem(label)
            self.value_labels.append(label)
        for i, label in enumerate(self.value_labels):
            if i < len(xs):
                label.setText(str(self.counts[i]))
                label.setPos(i, self.counts[i])
                label.setVisible(True)
            else:
                label.setVisible(False)
        self.setXRange(-0.6, max(len(xs) - 0.4, 0.6), padding=0)
        self.setYRange(0, top * 1.18, padding=0)


def _short(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
