"""Images per class as a bar chart (pyqtgraph; the bar item is created once and updated).

The data page makes its chart with the window, but the plot inside is only
made when the chart is first shown or filled: pyqtgraph then loads after the
window's first paint, not before it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from petrilab.gui.widgets import theme


class ClassBarChart(QWidget):
    def __init__(self, parent: QWidget | None = None, y_label: str = "images"):
        super().__init__(parent)
        self.y_label = y_label
        self.plot = None  # the pyqtgraph PlotWidget, once made
        self.bars = None
        self.value_labels: list = []  # pg.TextItem, one per bar
        self.names: list[str] = []
        self.counts: list[int] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.setMinimumHeight(160)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._make_plot()
        super().showEvent(event)

    def _make_plot(self):
        if self.plot is not None:
            return self.plot
        import pyqtgraph as pg

        plot = pg.PlotWidget(background=theme.PANEL)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.showGrid(x=False, y=True, alpha=0.25)
        plot.getPlotItem().setLabel("left", self.y_label)
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setPen(pg.mkPen(theme.BORDER))
            axis.setTextPen(pg.mkPen(theme.MUTED))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=theme.ACCENT, pen=pg.mkPen(None))
        plot.addItem(self.bars)
        self.layout().addWidget(plot)
        plot.show()  # made in showEvent: after Qt showed the children it knew of
        self.plot = plot
        return plot

    def set_counts(self, names: list[str], counts: list[int], colours: list[str] | None = None) -> None:
        """One bar per class; `colours` (one per bar) can flag classes with too few images."""
        import pyqtgraph as pg

        plot = self._make_plot()
        self.names, self.counts = list(names), [int(c) for c in counts]
        xs = list(range(len(self.names)))
        brushes = [pg.mkBrush(c) for c in colours] if colours else [pg.mkBrush(theme.ACCENT)] * len(xs)
        self.bars.setOpts(x=xs, height=self.counts, width=0.6, brushes=brushes)
        plot.getAxis("bottom").setTicks([[(i, _short(n)) for i, n in enumerate(self.names)]])
        top = max(self.counts, default=1) or 1
        # one text label per bar, reused; extra ones hidden
        while len(self.value_labels) < len(xs):
            label = pg.TextItem(color=theme.TEXT, anchor=(0.5, 1.0))
            plot.addItem(label)
            self.value_labels.append(label)
        for i, label in enumerate(self.value_labels):
            if i < len(xs):
                label.setText(str(self.counts[i]))
                label.setPos(i, self.counts[i])
                label.setVisible(True)
            else:
                label.setVisible(False)
        plot.setXRange(-0.6, max(len(xs) - 0.4, 0.6), padding=0)
        plot.setYRange(0, top * 1.18, padding=0)


def _short(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
