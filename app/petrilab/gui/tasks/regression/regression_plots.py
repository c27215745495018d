"""Regression in pictures: a histogram per target (data page), predicted-vs-true and residual plots (evaluate page).

Every plot item is created once and updated with setData/setOpts, so
showing another run or another target never piles up items.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from petrilab.gui.widgets import theme

POINT_COLOUR = "#2f6f9f"
IDEAL_COLOUR = "#2f855a"
BASELINE_COLOUR = "#b7791f"
MAX_HISTOGRAMS = 6  # more targets than this: the first ones are drawn, the rest listed


def _plot(title: str, x_label: str, y_label: str, height: int = 150) -> pg.PlotWidget:
    plot = pg.PlotWidget(background=theme.PANEL)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMinimumHeight(height)
    item = plot.getPlotItem()
    if title:
        item.setTitle(title, color=theme.TEXT, size="10pt")
    item.setLabel("bottom", x_label, color=theme.MUTED)
    item.setLabel("left", y_label, color=theme.MUTED)
    item.showGrid(x=True, y=True, alpha=0.2)
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(theme.BORDER))
        axis.setTextPen(pg.mkPen(theme.MUTED))
        axis.enableAutoSIPrefix(False)
    return plot


def fmt(value, digits: int = 3) -> str:
    """A number as a biologist reads it: a few significant digits, '–' when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}"


# ---------------------------------------------------------------- data page


class TargetHistogram(pg.PlotWidget):
    """How the values of one target are spread over the images."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, background=theme.PANEL)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setFixedHeight(170)
        item = self.getPlotItem()
        item.setLabel("left", "images", color=theme.MUTED)
        item.showGrid(x=False, y=True, alpha=0.2)
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(theme.BORDER))
            axis.setTextPen(pg.mkPen(theme.MUTED))
            axis.enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush=theme.ACCENT, pen=pg.mkPen(theme.PANEL))
        self.addItem(self.bars)
        self.mean_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(BASELINE_COLOUR, width=1.5,
                                                                 style=Qt.PenStyle.DashLine))
        self.addItem(self.mean_line, ignoreBounds=True)
        self.name = ""

    def set_statistics(self, name: str, stats: dict) -> None:
        self.name = name
        edges, counts = stats.get("edges", []), stats.get("counts", [])
        self.bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)
        self.mean_line.setPos(stats.get("mean", 0.0))
        self.getPlotItem().setTitle(f"{name}: {fmt(stats.get('min'))} … {fmt(stats.get('max'))}, "
                                    f"mean {fmt(stats.get('mean'))}", color=theme.TEXT, size="9pt")
        self.setToolTip(f"{name}: {stats.get('n', 0)} images, from {fmt(stats.get('min'))} to "
                        f"{fmt(stats.get('max'))}; mean {fmt(stats.get('mean'))} (dashed line), "
                        f"standard deviation {fmt(stats.get('std'))}.")
        if edges:
            self.setXRange(edges[0], edges[-1], padding=0.02)
            self.setYRange(0, max(counts, default=1) * 1.15 or 1, padding=0)


class TargetHistograms(QWidget):
    """One histogram per target, two per row; the dashed line marks the mean (what the baseline answers)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.histograms: list[TargetHistogram] = []
        self.more = QLabel()
        self.more.setObjectName("muted")
        self.more.setWordWrap(True)

    def set_targets(self, targets: dict[str, dict]) -> None:
        names = list(targets)[:MAX_HISTOGRAMS]
        while len(self.histograms) < len(names):
            histogram = TargetHistogram()
            n = len(self.histograms)
            self.grid.addWidget(histogram, n // 2, n % 2)
            self.histograms.append(histogram)
        for i, histogram in enumerate(self.histograms):
            histogram.setVisible(i < len(names))
            if i < len(names):
                histogram.set_statistics(names[i], targets[names[i]])
        rest = list(targets)[MAX_HISTOGRAMS:]
        self.more.setText(f"Also learnt: {', '.join(rest)}." if rest else "")
        self.grid.addWidget(self.more, (len(names) + 1) // 2 + 1, 0, 1, 2)
        self.more.setVisible(bool(rest))


# ---------------------------------------------------------------- evaluate page


class PredictedVsTrue(QWidget):
    """Predicted against true values (on the diagonal = right) and the residuals (predicted − true).

    The flat dotted line is the baseline: always answering the training images' mean.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.scatter_plot = _plot("Predicted against true", "true value", "predicted value", height=220)
        self.residual_plot = _plot("Residuals (predicted − true)", "true value", "error", height=220)
        brush = pg.mkBrush(47, 111, 159, 150)
        self.points = pg.ScatterPlotItem(size=6, pen=pg.mkPen(None), brush=brush)
        self.ideal = pg.PlotDataItem([], [], pen=pg.mkPen(IDEAL_COLOUR, width=1.5, style=Qt.PenStyle.DashLine))
        self.baseline = pg.PlotDataItem([], [], pen=pg.mkPen(BASELINE_COLOUR, width=1.5, style=Qt.PenStyle.DotLine))
        legend = self.scatter_plot.getPlotItem().addLegend(offset=(10, 10), labelTextColor=theme.TEXT,
                                                           brush=pg.mkBrush(255, 255, 255, 220))
        self.scatter_plot.addItem(self.ideal)
        self.scatter_plot.addItem(self.baseline)
        self.scatter_plot.addItem(self.points)
        legend.addItem(self.ideal, "exactly right")
        legend.addItem(self.baseline, "always the training mean")
        self.residuals = pg.ScatterPlotItem(size=6, pen=pg.mkPen(None), brush=brush)
        self.zero = pg.InfiniteLine(angle=0, pos=0, pen=pg.mkPen(IDEAL_COLOUR, width=1.5, style=Qt.PenStyle.DashLine))
        self.residual_plot.addItem(self.zero, ignoreBounds=True)
        self.residual_plot.addItem(self.residuals)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.scatter_plot, 1)
        layout.addWidget(self.residual_plot, 1)

    def set_values(self, true: np.ndarray, predicted: np.ndarray, name: str, training_mean: float | None = None,
                   files: list[str] | None = None) -> None:
        true, predicted = np.asarray(true, float), np.asarray(predicted, float)
        data = list(files) if files is not None else None
        self.points.setData(true, predicted, data=data)
        residual = predicted - true
        self.residuals.setData(true, residual, data=data)
        if len(true):
            low = float(min(true.min(), predicted.min()))
            high = float(max(true.max(), predicted.max()))
            pad = (high - low) * 0.05 or 1.0
            self.ideal.setData([low - pad, high + pad], [low - pad, high + pad])
            if training_mean is not None and math.isfinite(training_mean):
                self.baseline.setData([low - pad, high + pad], [training_mean] * 2)
            else:
                self.baseline.setData([], [])
            self.scatter_plot.setXRange(low - pad, high + pad, padding=0)
            self.scatter_plot.setYRange(low - pad, high + pad, padding=0)
        else:
            self.ideal.setData([], [])
            self.baseline.setData([], [])
        self.scatter_plot.getPlotItem().setTitle(f"{name}: predicted against true", color=theme.TEXT, size="10pt")
        self.residual_plot.getPlotItem().setTitle(f"{name}: residuals (predicted − true)", color=theme.TEXT,
                                                  size="10pt")
        self.scatter_plot.getPlotItem().setLabel("bottom", f"true {name}", color=theme.MUTED)
        self.scatter_plot.getPlotItem().setLabel("left", f"predicted {name}", color=theme.MUTED)
        self.residual_plot.getPlotItem().setLabel("bottom", f"true {name}", color=theme.MUTED)

    def point_count(self) -> int:
        return len(self.points.data)


class RegressionPlots(QWidget):
    """The evaluate page for regression: predicted-vs-true and residuals of one target at a time."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.chooser = QComboBox()
        self.chooser.setToolTip("Which value to plot")
        self.chooser.currentIndexChanged.connect(self._show_target)
        self.note = QLabel("Left: points on the dashed diagonal are exactly right; the dotted flat line is what "
                           "always answering the training mean would give. Right: each image's error; a good model's "
                           "errors are small and show no trend along the values.")
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.chooser)
        top.addWidget(self.note, 1)
        self.plots = PredictedVsTrue()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.plots, 1)
        self.targets: list[str] = []
        self.per_target: dict = {}
        self.rows: list[dict] = []

    def show_evaluation(self, evaluation: dict, rows: list[dict]) -> None:
        self.per_target = evaluation.get("metrics", {}).get("per_target", {})
        self.targets = list(evaluation.get("targets") or self.per_target)
        self.rows = rows
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItems(self.targets)
        self.chooser.blockSignals(False)
        self.chooser.setVisible(len(self.targets) > 1)
        self._show_target(0)

    def choose(self, name: str) -> None:
        if name in self.targets:
            self.chooser.setCurrentIndex(self.targets.index(name))

    def _show_target(self, index: int) -> None:
        if not 0 <= index < len(self.targets):
            self.plots.set_values([], [], "")
            return
        name = self.targets[index]
        true, predicted, files = [], [], []
        for row in self.rows:
            try:
                t, p = float(row[f"true_{name}"]), float(row[f"predicted_{name}"])
            except (KeyError, TypeError, ValueError):
                continue
            true.append(t)
            predicted.append(p)
            files.append(row.get("file", ""))
        self.plots.set_values(np.array(true), np.array(predicted), name,
                              self.per_target.get(name, {}).get("training_mean"), files)
