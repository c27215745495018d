"""Training curves: loss and the task's main metric, per epoch, for one run or several overlaid.

Each curve is one PlotDataItem created once and updated with setData, so a
long run never piles up plot items; peak downsampling and clip-to-view keep
redraws cheap however many epochs there are.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHBoxLayout, QWidget

from petrilab.run_state import RunState

TRAIN_COLOUR = "#1f77b4"  # blue
VALIDATION_COLOUR = "#e8710a"  # orange
# one colour per run when runs are compared (colour-blind friendly order)
RUN_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f7f7f", "#000000"]

METRIC_TITLES = {"accuracy": "Accuracy", "loss": "Loss", "mae": "Mean absolute error", "auc": "AUC",
                 "iou": "IoU (overlap of masks)", "dice": "Dice", "mse": "Mean squared error"}
# the y axis in words, with its unit: a biologist should not have to guess what 0.8 means
METRIC_AXES = {"loss": "loss (lower is better)", "accuracy": "share of images right (0–1)",
               "mae": "error, in the targets' units", "auc": "AUC (0.5 chance – 1 perfect)",
               "iou": "overlap (0 none – 1 perfect)", "dice": "overlap (0 none – 1 perfect)"}
FALLING_METRICS = {"mae"}  # lower is better: the legend goes to the top, away from where the curves end


def metric_title(key: str) -> str:
    return METRIC_TITLES.get(key, key.replace("_", " ").capitalize())


class EpochAxis(pg.AxisItem):
    """Epochs are whole numbers: no tick at 2.5."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size)
                  if spacing >= 1]
        return levels or [(1.0, 0.0)]


class MetricPlot(pg.PlotWidget):
    """One plot (e.g. loss) with named curves, each created once and then updated in place."""

    def __init__(self, title: str, y_label: str, parent: QWidget | None = None, legend_at_bottom: bool = False):
        super().__init__(parent, background="w", axisItems={"bottom": EpochAxis(orientation="bottom")})
        # Antialias the curves only: axes and grid are straight lines, and painting them smoothed
        # doubles the cost of every repaint while a training runs.
        self.setAntialiasing(False)
        self.setMinimumSize(240, 180)
        item = self.getPlotItem()
        item.setTitle(title, color="#222222", size="11pt")
        font = QFont()
        font.setPointSize(9)
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen("#888888"))
            axis.setTextPen(pg.mkPen("#333333"))
            axis.setTickFont(font)
            axis.enableAutoSIPrefix(False)  # "loss (x0.001)" reads as a different number to a biologist
        item.setLabel("bottom", "epoch", color="#333333")
        item.setLabel("left", y_label, color="#333333")
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setMenuEnabled(False)
        # loss falls and accuracy rises: put each legend where the curves are not
        self.legend = item.addLegend(offset=(-10, -40 if legend_at_bottom else 10), labelTextColor="#222222",
                                     brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen("#cccccc"))
        self.curves: dict[str, pg.PlotDataItem] = {}
        best_pen = pg.mkPen("#2e7d32", width=1.5, style=Qt.PenStyle.DashLine)
        self._best = pg.InfiniteLine(angle=90, movable=False, pen=best_pen)
        self._best.setVisible(False)
        item.addItem(self._best, ignoreBounds=True)
        # the legend names the line (a label on the line itself hides under the legend at the last epoch)
        self._best_key = pg.PlotDataItem([], [], pen=best_pen)
        self._best_shown = False

    def curve(self, name: str, colour: str, dashed: bool = False) -> pg.PlotDataItem:
        """The curve called `name`, created the first time it is asked for."""
        if name not in self.curves:
            pen = pg.mkPen(QColor(colour), width=1.5 if dashed else 2,
                           style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            item = self.plotItem.plot([], [], name=name, pen=pen, symbol="o", symbolSize=5,
                                      symbolBrush=QColor(colour), symbolPen=None, antialias=True)
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            self.curves[name] = item
        return self.curves[name]

    def set_curve(self, name: str, xs: list, ys: list, colour: str, dashed: bool = False) -> None:
        item = self.curve(name, colour, dashed)
        # symbols help read a short run; on a long run, or on a dashed line, they only clutter
        symbol = "o" if len(xs) <= 60 and not dashed else None
        if item.opts["symbol"] != symbol:  # setSymbol rebuilds the points even when nothing changes
            item.setSymbol(symbol)
        item.setData(xs, ys)

    def settle(self) -> None:
        """Apply the new auto-range now: left to pyqtgraph, it settles during the next paint and asks
        for another one, so every update of a live plot would cost two repaints instead of one."""
        view = self.plotItem.vb
        view.updateAutoRange()
        view.updateMatrix()

    def leave_room_for_legend(self, on_top: bool | None) -> None:
        """Stretch the y range on the legend's side so the legend covers no point of the curves
        (None: no legend shown, plain auto-range)."""
        view = self.plotItem.vb
        ys = [item.yData for item in self.curves.values() if item.yData is not None and len(item.yData)]
        ys = np.concatenate(ys) if ys else np.array([])
        ys = ys[np.isfinite(ys)]
        if on_top is None or not ys.size:
            view.enableAutoRange(axis="y")
            return
        low, high = float(ys.min()), float(ys.max())
        span = (high - low) or abs(high) or 1.0
        # the share of the plot's height the legend takes (a third before the plot is laid out)
        height = view.height()
        share = (self.legend.boundingRect().height() + 20) / height if height > 50 else 1 / 3
        share = min(max(share, 0.15), 0.6)
        room, margin = span * share / (1 - share), span * 0.05
        view.setYRange(low - (margin if on_top else room), high + (room if on_top else margin), padding=0)

    def remove_curves_except(self, keep: set[str]) -> None:
        for name in list(self.curves):
            if name not in keep:
                item = self.curves.pop(name)
                self.legend.removeItem(item)
                self.plotItem.removeItem(item)

    def mark_best(self, epoch: int | None) -> None:
        if epoch is None:
            self._best.setVisible(False)
        else:
            self._best.setPos(epoch)
            self._best.setVisible(True)
        if (epoch is not None) != self._best_shown:
            self._best_shown = epoch is not None
            if self._best_shown:
                self.legend.addItem(self._best_key, "best model")
            else:
                self.legend.removeItem(self._best_key)

    def point_count(self) -> int:
        """How many points the curves hold (what a test asserts on)."""
        total = 0
        for item in self.curves.values():
            total += 0 if item.xData is None else len(item.xData)
        return total


class TrainingCurves(QWidget):
    """Loss next to the main metric; one run (train and validation) or several runs overlaid."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.loss = MetricPlot("Loss", METRIC_AXES["loss"])
        self.metric = MetricPlot("Accuracy", METRIC_AXES["accuracy"], legend_at_bottom=True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.loss)
        layout.addWidget(self.metric)
        self._main_metric = "accuracy"

    def _set_metric_name(self, key: str) -> None:
        if key != self._main_metric:
            self._main_metric = key
            self.metric.plotItem.setTitle(metric_title(key), color="#222222", size="11pt")
            self.metric.plotItem.setLabel("left", METRIC_AXES.get(key, key.replace("_", " ")), color="#333333")
            self.metric.legend.setOffset((-10, 10) if key in FALLING_METRICS else (-10, -40))

    def prepare(self) -> None:
        """Create the training and validation curves ahead of time (creating a curve and its legend
        entry costs more than updating it; better when the page opens than when Start is pressed)."""
        for plot in (self.loss, self.metric):
            plot.curve("training", TRAIN_COLOUR)
            plot.curve("validation", VALIDATION_COLOUR)

    def show_run(self, state: RunState) -> None:
        """Draw one run: training and validation curves of loss and the main metric."""
        key = state.main_metric
        self._set_metric_name(key)
        for plot, metric in ((self.loss, "loss"), (self.metric, key)):
            plot.legend.setVisible(True)
            plot.remove_curves_except({"training", "validation"})
            plot.set_curve("training", *state.series(metric), TRAIN_COLOUR)
            plot.set_curve("validation", *state.series(f"val_{metric}"), VALIDATION_COLOUR)
            plot.mark_best(state.best_epoch + 1 if state.best_epoch is not None else None)
            plot.leave_room_for_legend(on_top=plot is self.loss or key in FALLING_METRICS)
            plot.settle()

    def compare_runs(self, runs: list[tuple[str, RunState]]) -> None:
        """Overlay several runs: one colour per run, validation solid, training dashed."""
        key = runs[0][1].main_metric if runs else "accuracy"
        self._set_metric_name(key)
        names = set()
        for plot, metric in ((self.loss, "loss"), (self.metric, key)):
            plot.mark_best(None)
            plot.legend.setVisible(False)  # run names are long: the page shows one legend for both plots
            for i, (label, state) in enumerate(runs):
                colour = RUN_COLOURS[i % len(RUN_COLOURS)]
                val_name, train_name = f"{label} · validation", f"{label} · training"
                plot.set_curve(val_name, *state.series(f"val_{metric}"), colour)
                plot.set_curve(train_name, *state.series(metric), colour, dashed=True)
                names |= {val_name, train_name}
            plot.remove_curves_except(names)
            plot.leave_room_for_legend(on_top=None)
            plot.settle()

    def clear(self) -> None:
        for plot in (self.loss, self.metric):
            for item in plot.curves.values():
                item.setData([], [])  # keep the items: creating them again costs more than emptying them
            plot.mark_best(None)

    def point_count(self) -> int:
        return self.loss.point_count() + self.metric.point_count()
