"""Runs: every training kept, listed with its result; follow runs live and compare them (a sweep side by side).

Runs are listed from folders: the experiment's own runs folder and any runs
folder the user opens (e.g. a cluster's shared disk, remembered for next
time). Queued cluster jobs, running, finished, stopped and failed runs are
told apart from what is in each run folder. The page looks again every few
seconds in a worker thread and reads only what changed (widgets/runs_watch.py),
so fifty runs on a slow network disk never make the window wait. What is known
of each run is the engine's RunState (run_state.py; runs_listed.py adds its
label and row), the table of runs in runs_table.py.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QMenu, QPushButton, QSizePolicy, QSplitter,
                               QVBoxLayout, QWidget)

from petrilab.gui.context import AppContext
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.pages.runs_listed import ListedRun, RunRow
from petrilab.gui.pages.runs_table import RunsTable
from petrilab.gui.widgets.curves import RUN_COLOURS, TrainingCurves
from petrilab.gui.widgets.run_comparison import RunComparison, best_first
from petrilab.gui.widgets.runs_watch import RunsWatch
from petrilab.gui.workers import Background
from petrilab.run_state import is_run_folder

POLL_MS = 3000  # a look every 3 s: live enough for epochs of seconds to hours, cheap on a network disk
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
        self.followed: dict[Path, ListedRun] = {}  # every listed run
        self._rows: list[RunRow] = []
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

        self.table = RunsTable()
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
                run = self.followed[path] = ListedRun(path)
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
            self.table.fill(rows)
            self._on_selection()
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

    # ------------------------------------------------------------ comparing

    def selected_runs(self) -> list[Path]:
        return self.table.selected_runs()

    def select_runs(self, paths: list[Path]) -> None:
        self.table.select_runs(paths)
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
            compared = [self.followed[p].compared("") for p in selected]
            position = {id(c): i for i, c in enumerate(compared)}
            order = [position[id(c)] for c in best_first(compared)]
            selected = [selected[i] for i in order]
            compared = [self.followed[p].compared(RUN_COLOURS[i % len(RUN_COLOURS)]) for i, p in enumerate(selected)]
            self.curves.compare_runs([(c.label, self.followed[p].state) for c, p in zip(compared, selected)])
            names = [f"<span style='color:{c.colour}'>■</span>&nbsp;{c.label}" for c in compared]
            self.legend.setText("Solid: validation · dashed: training.&nbsp;&nbsp; " + " &nbsp; ".join(names))
            self.comparison.show_runs(compared)
            self.comparison.show()

    def _tasks_of(self, paths: list[Path]) -> set[str]:
        """The tasks these runs learnt (from their `started` event; runs not started yet are not counted)."""
        return {str(task) for p in paths if (task := (self.followed[p].state.started or {}).get("task"))}

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
