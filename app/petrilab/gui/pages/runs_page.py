"""Runs: every training kept, listed with its result; compare runs by overlaying their curves.

Any run folder can be added — also one a `petrilab train` in a terminal or a
cluster node is still writing — and it is followed live by polling its
events.jsonl (cheap: only files that grew are read again).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from petrilab import events as ev
from petrilab import runs
from petrilab.gui.context import AppContext
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.run_follower import RunState
from petrilab.gui.widgets.curves import RUN_COLOURS, TrainingCurves
from petrilab.liveness import engine_gone

POLL_MS = 1500
STATUS_COLOURS = {"running": "#2f6f9f", "completed": "#2f855a", "stopped": "#6b7a8f", "failed": "#c53030",
                  "queued": "#6b7a8f", "crashed": "#c53030"}
COLUMNS = ["Run", "Started", "Status", "Epochs", "Validation accuracy", "Verdict"]


def is_run_folder(path: Path) -> bool:
    return (path / runs.EVENTS).exists() or (path / runs.SETTINGS).exists() and (path / runs.HISTORY).exists()


def _format_value(metric: str | None, value: float | None) -> str:
    if value is None:
        return "–"
    if metric and "accuracy" in metric:
        return f"{value:.1%}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class _Row:
    """What the table shows about one run (compared to know when to redraw)."""

    path: Path
    name: str
    started: float | None
    status: str
    epochs: int
    metric: str
    verdict: str
    error: str


class _Followed:
    """One run, its events read incrementally: a live run costs only what it appended since the last look."""

    def __init__(self, path: Path):
        self.follower = ev.EventFollower(path / runs.EVENTS)
        self.state = RunState(run_dir=path)
        self.first_started: float | None = None

    def poll(self) -> bool:
        new = self.follower.poll()
        for event in new:
            if event.get("event") == ev.STARTED and self.first_started is None:
                self.first_started = event.get("time")
            self.state.apply(event)
        if not self.state.metrics:
            self.state.load_history_file()
        return bool(new)

    def row(self) -> _Row:
        state = self.state
        key = f"val_{state.main_metric}"
        last = state.metrics.get(state.epochs_done - 1, {}) if state.metrics else {}
        diagnosis = state.diagnosis
        verdict = str(diagnosis.get("title") or diagnosis.get("verdict", "")).replace("_", " ") if diagnosis else ""
        status = state.status
        if status == "running" and engine_gone(state.started):
            status = "crashed"  # its engine died without a last event (killed, out of memory): resumable
        return _Row(path=state.run_dir, name=state.run_dir.name, started=self.first_started, status=status,
                    epochs=state.epochs_done, metric=_format_value(state.main_metric, last.get(key)),
                    verdict=verdict, error=str(state.error.get("message") or "") if state.error else "")


class RunsPage(WizardPage):
    key = "runs"
    title = "Runs"

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.extra_folders: list[Path] = []  # runs folders the user added
        self.extra_runs: list[Path] = []  # single run folders the user added
        self.followed: dict[Path, _Followed] = {}  # every listed run, read incrementally
        self._rows: list[_Row] = []
        self._build()
        self.timer = QTimer(self, interval=POLL_MS, timeout=self.refresh)

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        self.where = QLabel()
        self.where.setObjectName("muted")
        self.where.setWordWrap(True)
        add = QPushButton("Add a run or runs folder…")
        add.setToolTip("A run folder (also one still being written by a training in a terminal or on a cluster),\n"
                       "or a folder that contains run folders.")
        add.clicked.connect(self._choose_folder)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.where, 1)
        top.addWidget(add)
        top.addWidget(refresh)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(110)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _index: self.open_in_train_page())

        self.hint = QLabel("Select a run to see its curves; select two or more (Ctrl+click) to compare them.")
        self.hint.setObjectName("muted")
        self.open_button = QPushButton("Show in the Train page")
        self.open_button.clicked.connect(self.open_in_train_page)
        self.folder_button = QPushButton("Open run folder")
        self.folder_button.clicked.connect(self._open_folder)
        actions = QHBoxLayout()
        actions.addWidget(self.hint, 1)
        actions.addWidget(self.folder_button)
        actions.addWidget(self.open_button)

        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(self.table, 1)
        upper_layout.addLayout(actions)

        self.curves = TrainingCurves()
        self.legend = QLabel()
        self.legend.setObjectName("muted")
        self.legend.setWordWrap(True)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.curves, 1)
        lower_layout.addWidget(self.legend)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(lower)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([190, 470])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._update_buttons()

    # ------------------------------------------------------------ the page contract

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        # Fill the window's height instead of growing to the wrapped labels' preferred height
        # (which would put the plots and tables below the fold of the window's scroll area).
        return False


    def enter(self) -> None:
        self.refresh()
        self.timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.timer.stop()  # nothing to poll for while nobody looks
        super().hideEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self.timer.isActive():
            self.enter()

    # ------------------------------------------------------------ finding runs

    def add_folder(self, folder: str | Path) -> None:
        """Add a run folder, or a folder of run folders, to the list (and follow it)."""
        folder = Path(folder)
        if is_run_folder(folder):
            if folder not in self.extra_runs:
                self.extra_runs.append(folder)
        elif folder not in self.extra_folders:
            self.extra_folders.append(folder)
        self.refresh()
        if is_run_folder(folder):
            self.select_runs([folder])

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A run folder, or a folder of runs", str(self.context.runs_dir))
        if folder:
            self.add_folder(folder)

    def run_folders(self) -> list[Path]:
        found: list[Path] = []
        for parent in [Path(self.context.runs_dir), *self.extra_folders]:
            if parent.is_dir():
                found += [p for p in sorted(parent.iterdir()) if p.is_dir() and is_run_folder(p)]
        found += [p for p in self.extra_runs if p not in found]
        return found

    def refresh(self) -> None:
        """Read what each run appended since the last look; update the rows and curves that changed."""
        folders = self.run_folders()
        redraw = False
        for path in folders:
            if path not in self.followed:
                self.followed[path] = _Followed(path)
            grew = self.followed[path].poll()
            redraw |= grew and path in self.selected_runs()
        for path in list(self.followed):
            if path not in folders:
                del self.followed[path]
        self.where.setText(f"Runs in {self.context.runs_dir}" +
                           "".join(f" · {p}" for p in self.extra_folders + self.extra_runs))
        rows = [self.followed[p].row() for p in folders]
        rows.sort(key=lambda r: (r.started or 0.0, r.name), reverse=True)
        if rows != self._rows:  # the table is rebuilt only when something it shows changed
            self._rows = rows
            self._fill_table()
        elif redraw:
            self._draw()

    def _fill_table(self) -> None:
        selected = set(self.selected_runs())
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self._rows))
        for row, run in enumerate(self._rows):
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started)) if run.started else "–"
            cells = [run.name, started, run.status, str(run.epochs), run.metric, run.verdict]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, str(run.path))
                if column == 2:
                    item.setForeground(QBrush(QColor(STATUS_COLOURS.get(run.status, "#333333"))))
                    if run.error:
                        item.setToolTip(run.error)
                if column == 0:
                    item.setToolTip(str(run.path))
                self.table.setItem(row, column, item)
        self.table.clearSelection()
        for row, run in enumerate(self._rows):
            if run.path in selected:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        self._on_selection()

    # ------------------------------------------------------------ comparing

    def selected_runs(self) -> list[Path]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [Path(self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)) for r in rows if self.table.item(r, 0)]

    def select_runs(self, paths: list[Path]) -> None:
        wanted = {str(p) for p in paths}
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) in wanted:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _on_selection(self) -> None:
        self._draw()
        self._update_buttons()

    def _draw(self) -> None:
        selected = [p for p in self.selected_runs() if p in self.followed]
        if not selected:
            self.curves.clear()
            self.legend.setText("")
        elif len(selected) == 1:
            state = self.followed[selected[0]].state
            self.curves.show_run(state)
            self.legend.setText(f"{selected[0].name}: training (blue) and validation (orange).")
        else:
            self.curves.compare_runs([(p.name, self.followed[p].state) for p in selected])
            names = [f"<span style='color:{RUN_COLOURS[i % len(RUN_COLOURS)]}'>■</span> {p.name}"
                     for i, p in enumerate(selected)]
            self.legend.setText("Solid: validation · dashed: training.   " + "   ".join(names))
            self.legend.setTextFormat(Qt.TextFormat.RichText)

    def _update_buttons(self) -> None:
        selected = self.selected_runs()
        self.open_button.setEnabled(len(selected) == 1)
        self.folder_button.setEnabled(len(selected) == 1)

    def open_in_train_page(self) -> None:
        selected = self.selected_runs()
        if len(selected) == 1:
            self.context.set_run(selected[0])
            self.context.go_to_page.emit("train")

    def _open_folder(self) -> None:
        selected = self.selected_runs()
        if len(selected) == 1:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(selected[0])))
