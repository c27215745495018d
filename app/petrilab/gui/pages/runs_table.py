"""Runs page: the table of runs, newest first: status (coloured, with why a run failed), epochs, the kept
model's validation score, the verdict, the sweep and what changed from the run before."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from petrilab.gui.pages.runs_listed import RunRow
from petrilab.gui.widgets.run_changes import what_changed
from petrilab.gui.widgets.run_comparison import format_value, header, metric_name, sweep_label

STATUS_COLOURS = {"running": "#2f6f9f", "completed": "#2f855a", "stopped": "#6b7a8f", "failed": "#c53030",
                  "queued": "#8a6d1f", "crashed": "#c53030", "script written": "#6b7a8f"}
COLUMNS = ["Run", "Started", "Status", "Epochs", "Validation accuracy", "Verdict", "Sweep", "What changed"]
METRIC_COLUMN, SWEEP_COLUMN, CHANGES_COLUMN = 4, 6, 7


class RunsTable(QTableWidget):
    """One row per run; each cell keeps its run folder (UserRole), so the selection names runs, not rows."""

    def __init__(self):
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # runs of a sweep differ at the end of their names
        header_view = self.horizontalHeader()
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header_view.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header_view.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        header_view.setSectionResizeMode(CHANGES_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.setColumnHidden(SWEEP_COLUMN, True)
        self.setMinimumHeight(110)
        self.verticalHeader().setDefaultSectionSize(26)

    def fill(self, rows: list[RunRow]) -> None:
        """Show these rows (newest first), keeping the selected runs selected; emits no selection signal."""
        selected = set(self.selected_runs())
        self.blockSignals(True)
        self.setSortingEnabled(False)
        self.setRowCount(len(rows))
        metrics = {r.metric for r in rows if r.metric}
        common = metrics.pop() if len(metrics) == 1 else None
        title = header(common) if common or not metrics else "Validation score"
        self.setHorizontalHeaderItem(METRIC_COLUMN, QTableWidgetItem(title))
        self.horizontalHeaderItem(METRIC_COLUMN).setToolTip(
            "The task's main metric on the validation images, for the model the run keeps "
            "(its epoch with the lowest validation loss).")
        self.horizontalHeaderItem(CHANGES_COLUMN).setToolTip(
            "What differs in this run's settings from the run before it in the same folder.")
        for row, run in enumerate(rows):
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started)) if run.started else "–"
            value = format_value(run.metric, run.value)
            if common is None and run.value is not None:
                value = f"{metric_name(run.metric)} {value}"
            cells = [run.name, started, run.status, str(run.epochs), value, run.verdict,
                     sweep_label(dict(run.sweep_values)), what_changed(run.path, _previous(rows, row))]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, str(run.path))
                if column == 2:
                    item.setForeground(QBrush(QColor(STATUS_COLOURS.get(run.status, "#333333"))))
                    if run.error:
                        item.setToolTip(run.error)
                    elif run.status == "queued":
                        item.setToolTip("Waiting for the cluster to start it.")
                    elif run.status == "script written":
                        item.setToolTip("Its job script was written but not sent: submit it with sbatch "
                                        "on the cluster.")
                if column == 0:
                    item.setToolTip(str(run.path))
                if column == SWEEP_COLUMN and run.sweep:
                    item.setToolTip(f"Sweep {run.sweep}")
                self.setItem(row, column, item)
        self.setColumnHidden(SWEEP_COLUMN, not any(r.sweep_values for r in rows))
        self._select_rows([row for row, run in enumerate(rows) if run.path in selected])
        self.blockSignals(False)

    def selected_runs(self) -> list[Path]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [Path(self.item(r, 0).data(Qt.ItemDataRole.UserRole)) for r in rows if self.item(r, 0)]

    def select_runs(self, paths: list[Path]) -> None:
        """Select exactly these runs; emits no selection signal."""
        wanted = {str(p) for p in paths}
        self.blockSignals(True)
        self._select_rows([row for row in range(self.rowCount())
                           if self.item(row, 0).data(Qt.ItemDataRole.UserRole) in wanted])
        self.blockSignals(False)

    def _select_rows(self, rows: list[int]) -> None:
        """Select exactly these rows (selectRow would replace the selection at each call)."""
        selection = QItemSelection()
        last = self.columnCount() - 1
        for row in rows:
            selection.select(self.model().index(row, 0), self.model().index(row, last))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.selectionModel().select(selection, flags)


def _previous(rows: list[RunRow], row: int) -> Path | None:
    """The run started before this one in the same folder (rows are newest first)."""
    path = rows[row].path
    return next((r.path for r in rows[row + 1:] if r.path.parent == path.parent), None)
