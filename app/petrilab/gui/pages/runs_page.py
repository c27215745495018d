"""Runs: every training kept, listed with its result; follow runs live and compare them (a sweep side by side).

Runs are listed from folders: the experiment's own runs folder and any runs
folder the user opens (e.g. a cluster's shared disk, remembered for next
time). Queued cluster jobs, running, finished, stopped and failed runs are
told apart from what is in each run folder. The page looks again every few
seconds in a worker thread and reads only what changed (widgets/runs_watch.py),
so fifty runs on a slow network disk never make the window wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMenu, QPushButton,
                               QSizePolicy, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from petrilab import runs
from petrilab.gui.context import AppContext
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.run_follower import RunState
from petrilab.gui.widgets.curves import RUN_COLOURS, TrainingCurves
from petrilab.gui.widgets.run_changes import what_changed
from petrilab.gui.widgets.run_comparison import (Compared, RunComparison, best_first, format_value, header,
                                                 kept_value, metric_name, sweep_label)
from petrilab.gui.widgets.runs_watch import RunNews, RunsWatch, is_run_folder  # noqa: F401 (is_run_folder: API)
from petrilab.gui.workers import Background
from petrilab.liveness import engine_gone

POLL_MS = 3000  # a look every 3 s: live enough for epochs of seconds to hours, cheap on a network disk
STATUS_COLOURS = {"running": "#2f6f9f", "completed": "#2f855a", "stopped": "#6b7a8f", "failed": "#c53030",
                  "queued": "#8a6d1f", "crashed": "#c53030", "script written": "#6b7a8f"}
COLUMNS = ["Run", "Started", "Status", "Epochs", "Validation accuracy", "Verdict", "Sweep", "What changed"]
METRIC_COLUMN, SWEEP_COLUMN, CHANGES_COLUMN = 4, 6, 7
FOLDERS_KEY = "runs/folders"  # the runs folders (and single runs) the user opened, remembered


def store() -> QSettings:
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "PetriLab", "PetriLab")


def remembered_folders() -> list[Path]:
    value = store().value(FOLDERS_KEY, [])
    if isinstance(value, str):  # QSettings gives a lone entry back as a string
        value = [value]
    return [Path(v) for v in value or [] if v]


def remember_folders(folders: list[Path]) -> None:
    store().setValue(FOLDERS_KEY, [str(f) for f in folders])


@dataclass(frozen=True)
class _Row:
    """What the table shows about one run (compared to know when to redraw)."""

    path: Path
    name: str
    started: float | None
    status: str
    epochs: int
    metric: str
    value: float | None
    verdict: str
    error: str
    sweep: str | None
    sweep_values: tuple


class _Run:
    """One run: its events as read so far, and its cluster job record."""

    def __init__(self, path: Path):
        self.state = RunState(run_dir=path)
        self.first_started: float | None = None
        self.slurm: dict = {}
        self.job_ended: str | None = None  # SLURM says the job ended (without a last event, it failed)
        self.trial: dict = {}  # a tuning's trial: its number and what it changed (tuning_trial.json)

    def apply(self, news: RunNews) -> None:
        if news.reset:
            self.state = RunState(run_dir=self.state.run_dir)
            self.first_started = None
        for event in news.events:
            if event.get("event") == "started" and self.first_started is None:
                self.first_started = event.get("time")
            self.state.apply(event)
        if news.history and not self.state.metrics:
            for i, row in enumerate(news.history):
                self.state.metrics[int(row.get("epoch", i))] = {k: v for k, v in row.items() if k != "epoch"}
        if news.slurm is not None:
            self.slurm = news.slurm
        if news.job_ended:
            self.job_ended = news.job_ended
        if news.trial:
            self.trial = news.trial

    @property
    def sweep_values(self) -> dict:
        values = self.slurm.get("sweep_values") or self.trial.get("changes")
        return values if isinstance(values, dict) else {}

    @property
    def group(self) -> str | None:
        """The sweep, or the tuning, the run belongs to (its runs are compared together)."""
        return self.slurm.get("sweep") or self.trial.get("tuning") or None

    def label(self) -> str:
        if self.trial and "trial" in self.trial:
            return f"trial {self.trial['trial']}: " + (sweep_label(self.sweep_values) or "your settings")
        return sweep_label(self.sweep_values) or self.state.run_dir.name

    def status(self) -> str:
        state = self.state
        status = state.status
        if status == "queued" and self.slurm.get("dry_run"):
            return "script written"  # prepared for the cluster, never sent
        if status == "running" and engine_gone(state.started):
            status = "crashed"  # its engine died without a last event (killed, out of memory): resumable
        if status in ("queued", "running") and self.job_ended:
            status = "failed"
        return status

    def error(self) -> str:
        if self.state.error:
            return str(self.state.error.get("message") or "")
        if self.job_ended and self.status() == "failed":
            return (f"The cluster job ended before the training finished (SLURM: {self.job_ended.lower()}); "
                    f"its output is in {runs.SLURM_LOG} in the run folder.")
        return ""

    def row(self) -> _Row:
        state = self.state
        diagnosis = state.diagnosis
        verdict = str(diagnosis.get("title") or diagnosis.get("verdict", "")).replace("_", " ") if diagnosis else ""
        started = self.first_started
        if started is None and isinstance(self.slurm.get("submitted"), (int, float)):
            started = float(self.slurm["submitted"])
        return _Row(path=state.run_dir, name=state.run_dir.name, started=started, status=self.status(),
                    epochs=state.epochs_done, metric=state.main_metric if state.started else "",
                    value=kept_value(state), verdict=verdict,
                    error=self.error(),
                    sweep=self.group, sweep_values=tuple(self.sweep_values.items()))


class RunsPage(WizardPage):
    key = "runs"
    title = "Runs"

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.extra_folders: list[Path] = []  # runs folders the user opened
        self.extra_runs: list[Path] = []  # single run folders the user added
        for folder in remembered_folders():
            (self.extra_runs if is_run_folder(folder) else self.extra_folders).append(folder)
        self.watch = RunsWatch()
        self.followed: dict[Path, _Run] = {}  # every listed run
        self._rows: list[_Row] = []
        self._unreachable: list[Path] = []
        self._background = Background(self)
        self._build()
        self.timer = QTimer(self, interval=POLL_MS, timeout=self._look_in_background)
        context.runs_submitted.connect(self.show_submitted)

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        self.where = QLabel()
        self.where.setObjectName("muted")
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_folder_button = QPushButton("Open runs folder…")
        self.open_folder_button.setToolTip(
            "A folder of runs (e.g. the runs folder on a cluster's shared disk), or a single run folder —\n"
            "also one still being written by a training in a terminal or on a cluster. Remembered for next time.")
        self.open_folder_button.clicked.connect(self._choose_folder)
        self.forget_button = QPushButton("Stop listing")
        self.forget_button.setToolTip("Stop listing the runs of a folder you opened (nothing is deleted).")
        self.forget_menu = QMenu(self)
        self.forget_menu.aboutToShow.connect(self._fill_forget_menu)
        self.forget_button.setMenu(self.forget_menu)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.where, 1)
        top.addWidget(self.open_folder_button)
        top.addWidget(self.forget_button)
        top.addWidget(refresh)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # runs of a sweep differ at the end of their names
        header_view = self.table.horizontalHeader()
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header_view.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header_view.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        header_view.setSectionResizeMode(CHANGES_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnHidden(SWEEP_COLUMN, True)
        self.table.setMinimumHeight(110)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _index: self.open_in_train_page())

        self.hint = QLabel("Select a run to see its curves; Ctrl+click more runs to compare them.")
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.sweep_button = QPushButton("Compare its sweep")
        self.sweep_button.setToolTip("Select every run of the selected run's sweep, to compare them side by side.")
        self.sweep_button.clicked.connect(self.compare_sweep)
        self.open_button = QPushButton("Show in the Train page")
        self.open_button.clicked.connect(self.open_in_train_page)
        self.folder_button = QPushButton("Open run folder")
        self.folder_button.clicked.connect(self._open_folder)
        actions = QHBoxLayout()
        actions.addWidget(self.hint, 1)
        actions.addWidget(self.sweep_button)
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
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        plots = QWidget()
        plots_layout = QVBoxLayout(plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.addWidget(self.curves, 1)
        plots_layout.addWidget(self.legend)
        self.comparison = RunComparison()
        self.comparison.setMinimumWidth(250)
        self.comparison.hide()  # shown when two runs or more are compared
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(plots)
        lower.addWidget(self.comparison)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        lower.setChildrenCollapsible(False)

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
        self._background.cancel()
        super().hideEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self.timer.isActive():
            self.enter()

    # ------------------------------------------------------------ finding runs

    def add_folder(self, folder: str | Path, remember: bool = False) -> None:
        """Add a run folder, or a folder of run folders, to the list (and follow it); `remember`: next time too."""
        folder = Path(folder)
        single = is_run_folder(folder)
        if single:
            if folder not in self.extra_runs:
                self.extra_runs.append(folder)
        elif folder not in self.extra_folders and folder != Path(self.context.runs_dir):
            self.extra_folders.append(folder)
        if remember:
            remember_folders(self.extra_folders + self.extra_runs)
        self.refresh()
        if single:
            self.select_runs([folder])

    def forget_folder(self, folder: Path) -> None:
        """Stop listing a folder the user opened (its runs stay on the disk)."""
        self.extra_folders = [f for f in self.extra_folders if f != folder]
        self.extra_runs = [f for f in self.extra_runs if f != folder]
        remember_folders(self.extra_folders + self.extra_runs)
        self.refresh()

    def _choose_folder(self) -> None:
        start = str(self.extra_folders[-1] if self.extra_folders else self.context.runs_dir)
        folder = QFileDialog.getExistingDirectory(self, "A folder of runs, or one run folder", start)
        if folder:
            self.add_folder(folder, remember=True)

    def _fill_forget_menu(self) -> None:
        self.forget_menu.clear()
        for folder in self.extra_folders + self.extra_runs:
            self.forget_menu.addAction(str(folder), lambda f=folder: self.forget_folder(f))

    def show_submitted(self, runs_dir, run_dirs) -> None:
        """Runs just sent to a cluster: list their folder (remembered) and select them, to follow them."""
        self.add_folder(runs_dir, remember=True)
        self.select_runs([Path(p) for p in run_dirs or []])

    def run_folders(self) -> list[Path]:
        return list(self.followed)

    def _sources(self) -> tuple[list[Path], list[Path]]:
        return [Path(self.context.runs_dir), *self.extra_folders], list(self.extra_runs)

    def refresh(self) -> None:
        """Look now (in the window's thread: a click on Refresh, the page shown) and update what changed."""
        self._background.cancel()
        self.watch.set_sources(*self._sources())
        self.watch.scan()
        self._take_news()

    def _look_in_background(self) -> None:
        """The regular look: in a worker thread, so a slow disk never makes the window wait."""
        if self._background.busy:
            return  # the last look has not come back yet (a very slow disk): skip this one
        self.watch.set_sources(*self._sources())
        self._background.start(self.watch.scan, on_done=lambda _result: self._take_news())

    def _take_news(self) -> None:
        paths, news, self._unreachable = self.watch.take()
        selected = set(self.selected_runs())
        redraw = False
        for path in paths:
            run = self.followed.get(path)
            if run is None:
                run = self.followed[path] = _Run(path)
            if path in news:
                run.apply(news[path])
                redraw |= path in selected
        for path in list(self.followed):
            if path not in paths:
                del self.followed[path]
        self._show_where()
        rows = [self.followed[p].row() for p in paths]
        rows.sort(key=lambda r: (r.started or 0.0, r.name), reverse=True)
        if rows != self._rows:  # the table is rebuilt only when something it shows changed
            self._rows = rows
            self._fill_table()
        elif redraw:
            self._draw()

    def _show_where(self) -> None:
        parts = [f"Runs in {self.context.runs_dir}"] + [str(p) for p in self.extra_folders + self.extra_runs]
        text = " · ".join(parts)
        # the experiment's own runs folder is made by its first training: not a problem before that
        missing = [str(p) for p in self._unreachable if p != Path(self.context.runs_dir)]
        if missing:
            text += "   — not reachable now: " + ", ".join(missing)
        self.where.setText(text)
        self.forget_button.setVisible(bool(self.extra_folders or self.extra_runs))

    def _fill_table(self) -> None:
        selected = set(self.selected_runs())
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self._rows))
        metrics = {r.metric for r in self._rows if r.metric}
        common = metrics.pop() if len(metrics) == 1 else None
        title = header(common) if common or not metrics else "Validation score"
        self.table.setHorizontalHeaderItem(METRIC_COLUMN, QTableWidgetItem(title))
        self.table.horizontalHeaderItem(METRIC_COLUMN).setToolTip(
            "The task's main metric on the validation images, for the model the run keeps "
            "(its epoch with the lowest validation loss).")
        self.table.horizontalHeaderItem(CHANGES_COLUMN).setToolTip(
            "What differs in this run's settings from the run before it in the same folder.")
        for row, run in enumerate(self._rows):
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started)) if run.started else "–"
            value = format_value(run.metric, run.value)
            if common is None and run.value is not None:
                value = f"{metric_name(run.metric)} {value}"
            cells = [run.name, started, run.status, str(run.epochs), value, run.verdict,
                     sweep_label(dict(run.sweep_values)), what_changed(run.path, self._previous(row))]
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
                self.table.setItem(row, column, item)
        self.table.setColumnHidden(SWEEP_COLUMN, not any(r.sweep_values for r in self._rows))
        self._select_rows([row for row, run in enumerate(self._rows) if run.path in selected])
        self.table.blockSignals(False)
        self._on_selection()

    def _previous(self, row: int) -> Path | None:
        """The run started before this one in the same folder (rows are newest first)."""
        path = self._rows[row].path
        return next((r.path for r in self._rows[row + 1:] if r.path.parent == path.parent), None)

    def _select_rows(self, rows: list[int]) -> None:
        """Select exactly these rows (selectRow would replace the selection at each call)."""
        selection = QItemSelection()
        last = self.table.columnCount() - 1
        for row in rows:
            selection.select(self.table.model().index(row, 0), self.table.model().index(row, last))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(selection, flags)

    # ------------------------------------------------------------ comparing

    def selected_runs(self) -> list[Path]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [Path(self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)) for r in rows if self.table.item(r, 0)]

    def select_runs(self, paths: list[Path]) -> None:
        wanted = {str(p) for p in paths}
        self.table.blockSignals(True)
        self._select_rows([row for row in range(self.table.rowCount())
                           if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) in wanted])
        self.table.blockSignals(False)
        self._on_selection()

    def sweep_of(self, path: Path) -> list[Path]:
        """Every listed run of the same sweep as `path` (just `path` when it belongs to none)."""
        run = self.followed.get(path)
        sweep = run.group if run else None
        if not sweep:
            return [path]
        return [r.path for r in self._rows if r.sweep == sweep]

    def compare_sweep(self) -> None:
        selected = self.selected_runs()
        if selected:
            self.select_runs(self.sweep_of(selected[0]))

    def _on_selection(self) -> None:
        self._draw()
        self._update_buttons()

    def _draw(self) -> None:
        selected = [p for p in self.selected_runs() if p in self.followed]
        if not selected:
            self.curves.clear()
            self.legend.setText("")
            self.comparison.hide()
        elif len(selected) == 1:
            state = self.followed[selected[0]].state
            self.curves.show_run(state)
            self.legend.setText(f"{self.followed[selected[0]].label()}: training (blue) and validation (orange).")
            self.comparison.hide()
        elif len(tasks := self._tasks_of(selected)) > 1:
            # a loss of classification and one of regression are not on the same scale: no common plot
            self.curves.clear()
            self.comparison.hide()
            self.legend.setText(f"These runs are of different tasks ({', '.join(sorted(tasks))}): their curves "
                                "cannot be compared. Select runs of one task.")
        else:
            # sorted like the comparison table, so colours and rows read in the same order
            compared = [self._compared(p, "") for p in selected]
            position = {id(c): i for i, c in enumerate(compared)}
            order = [position[id(c)] for c in best_first(compared)]
            selected = [selected[i] for i in order]
            compared = [self._compared(p, RUN_COLOURS[i % len(RUN_COLOURS)]) for i, p in enumerate(selected)]
            self.curves.compare_runs([(c.label, self.followed[p].state) for c, p in zip(compared, selected)])
            names = [f"<span style='color:{c.colour}'>■</span>&nbsp;{c.label}" for c in compared]
            self.legend.setText("Solid: validation · dashed: training.&nbsp;&nbsp; " + " &nbsp; ".join(names))
            self.comparison.show_runs(compared)
            self.comparison.show()

    def _tasks_of(self, paths: list[Path]) -> set[str]:
        """The tasks these runs learnt (from their `started` event; runs not started yet are not counted)."""
        return {str(task) for p in paths if (task := (self.followed[p].state.started or {}).get("task"))}

    def _compared(self, path: Path, colour: str) -> Compared:
        run = self.followed[path]
        return Compared(label=run.label(), colour=colour, metric=run.state.main_metric,
                        value=kept_value(run.state), epochs=run.state.epochs_done, status=run.status(),
                        sweep_values=tuple(run.sweep_values.items()))

    def _update_buttons(self) -> None:
        selected = self.selected_runs()
        self.open_button.setEnabled(len(selected) == 1)
        self.folder_button.setEnabled(len(selected) == 1)
        in_sweep = bool(selected) and len(self.sweep_of(selected[0])) > 1
        self.sweep_button.setVisible(any(r.sweep for r in self._rows))
        self.sweep_button.setEnabled(in_sweep and set(self.sweep_of(selected[0])) != set(selected))

    def open_in_train_page(self) -> None:
        selected = self.selected_runs()
        if len(selected) == 1:
            self.context.set_run(selected[0])
            self.context.go_to_page.emit("train")

    def _open_folder(self) -> None:
        selected = self.selected_runs()
        if len(selected) == 1:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(selected[0])))

