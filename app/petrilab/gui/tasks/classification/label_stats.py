"""Multi-label in pictures: how often each label occurs (data page) and how well each is found (evaluate page)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from petrilab.gui.widgets import theme
from petrilab.gui.widgets.bar_chart import ClassBarChart
from petrilab.tasks.tables.check import FEW_POSITIVES

SCORE_COLOURS = {"precision": "#2f6f9f", "recall": "#d69e2e", "f1": "#2f855a"}


class LabelFrequencies(QWidget):
    """Images per label as bars (rare labels flagged), and how many labels the images carry."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.chart = ClassBarChart(y_label="images with the label")
        self.chart.setFixedHeight(180)
        self.per_image = QLabel()
        self.per_image.setObjectName("muted")
        self.per_image.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chart)
        layout.addWidget(self.per_image)

    def set_frequencies(self, labels: dict[str, dict], per_image: dict[str, int], n_images: int) -> None:
        names = list(labels)
        counts = [int(labels[n]["positives"]) for n in names]
        colours = [theme.LEVEL_COLOURS["error"] if c == 0 or c == n_images else
                   theme.LEVEL_COLOURS["warning"] if c < FEW_POSITIVES or n_images - c < FEW_POSITIVES else
                   theme.ACCENT for c in counts]
        self.chart.set_counts(names, counts, colours)
        parts = [f"{n} image(s) with {k} label{'s' if k != '1' else ''}" for k, n in per_image.items()]
        self.per_image.setText("Labels per image: " + ", ".join(parts) + "." if parts else "")


class LabelScoreChart(pg.PlotWidget):
    """Precision, recall and F1 of each label side by side, at the label's decision threshold."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, background=theme.PANEL)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMinimumHeight(170)
        self.showGrid(x=False, y=True, alpha=0.25)
        self.setYRange(0, 1.3, padding=0)  # room above the bars for the legend
        self.getAxis("left").setTicks([[(v, f"{v:.1f}") for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]])
        self.getPlotItem().setLabel("left", "score")
        for side in ("left", "bottom"):
            axis = self.getAxis(side)
            axis.setPen(pg.mkPen(theme.BORDER))
            axis.setTextPen(pg.mkPen(theme.MUTED))
        legend = self.getPlotItem().addLegend(offset=(-10, 5), labelTextColor=theme.TEXT,
                                              brush=pg.mkBrush(255, 255, 255, 220), colCount=3)
        self.bars: dict[str, pg.BarGraphItem] = {}
        for key, colour in SCORE_COLOURS.items():
            bars = pg.BarGraphItem(x=[], height=[], width=0.25, brush=colour, pen=pg.mkPen(None))
            self.addItem(bars)
            legend.addItem(bars, {"f1": "F1"}.get(key, key.capitalize()))
            self.bars[key] = bars
        self.labels: list[str] = []

    def show_evaluation(self, evaluation: dict) -> None:
        per_label = evaluation.get("metrics", {}).get("per_label", {})
        self.labels = list(evaluation.get("targets") or per_label)
        for k, (key, bars) in enumerate(self.bars.items()):
            xs = [i + (k - 1) * 0.27 for i in range(len(self.labels))]
            heights = [float(per_label.get(n, {}).get(key) or 0.0) for n in self.labels]
            bars.setOpts(x=xs, height=heights, width=0.25)
        self.getAxis("bottom").setTicks([[(i, n) for i, n in enumerate(self.labels)]])
        self.setXRange(-0.6, max(len(self.labels) - 0.4, 0.6), padding=0)

    def heights(self, key: str) -> list[float]:
        return [float(h) for h in self.bars[key].opts["height"]]
