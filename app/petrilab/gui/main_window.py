"""The main window: the step list, the pages (the later ones built after the first paint), Back / Next.

Its menus are in window_menus.py, opening and saving the experiment file in experiment_file.py.
"""

from __future__ import annotations

import importlib

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox,
                               QPushButton, QScrollArea, QStackedWidget, QVBoxLayout, QWidget)

from petrilab.errors import UserError
from petrilab.gui import session, steps
from petrilab.gui.context import AppContext
from petrilab.gui.experiment_file import ExperimentFile
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.window_menus import WindowMenus

SIDEBAR_WIDTH, SIDEBAR_NARROW, NARROW_WINDOW = 210, 170, 1200  # pixels


# Each page's module and class, imported when the page is built (the later pages pull in the plotting library).
PAGES = {
    "task": ("petrilab.gui.pages.task_page", "TaskPage"),
    "data": ("petrilab.gui.pages.data_page", "DataPage"),
    "split": ("petrilab.gui.pages.split_page", "SplitPage"),
    "model": ("petrilab.gui.pages.model_page", "ModelPage"),
    "train": ("petrilab.gui.pages.train_page", "TrainPage"),
    "evaluate": ("petrilab.gui.pages.evaluate_page", "EvaluatePage"),
    "predict": ("petrilab.gui.pages.predict_page", "PredictPage"),
    "runs": ("petrilab.gui.pages.runs_page", "RunsPage"),
}
# Built with the window: their problem() decides which steps are open, and they follow every settings change.
# The others only follow the current run (none at start) and are built after the first paint, one per
# event-loop turn, so the window appears sooner; asking for one of them (or choosing a run) builds them all.
FIRST_PAGES = ("task", "data", "split", "model")
# the runs page first: the Train page's dialogs tell it of new runs
LATER_PAGES = ("runs", "train", "evaluate", "predict")


def page_class(key: str) -> type[WizardPage]:
    module, name = PAGES[key]
    return getattr(importlib.import_module(module), name)


class MainWindow(ExperimentFile, WindowMenus, QMainWindow):
    def __init__(self, context: AppContext | None = None, warm_up: bool = False):
        super().__init__()
        self.context = context or AppContext()
        self._pages: dict[str, WizardPage] = {}  # the pages built so far
        self._page_holders: dict[str, QVBoxLayout] = {}
        self._warm_up_after_paint = warm_up
        self._first_paint_done = False
        self._listening = False
        # the window's own timer (not QTimer.singleShot): it goes with the window if that is closed and deleted first
        self._next_page_timer = QTimer(self, singleShot=True, interval=0, timeout=self._build_next_page)
        self.current_key = "task"
        self.last_message: QMessageBox | None = None  # the latest message box (tests read it)
        self._came_from: str | None = None  # where Back leads from the runs page

        self._build_sidebar_and_pages()
        self._build_menus()
        self._listen_after_pages()
        self.context.run_about_to_change.connect(self._run_about_to_change)
        self.context.go_to_page.connect(self._page_asked)
        self.context.open_experiment.connect(lambda path: self.maybe_discard() and self.load_experiment(path))
        self.resize(1280, 800)
        self.setMinimumSize(QSize(960, 560))  # small laptop screens (1100 × 620 usable) must fit
        self.go_to("task")
        self.update_title()

    @property
    def pages(self) -> dict[str, WizardPage]:
        """Every page, by key (those not built yet are built now)."""
        self._build_all_pages()
        return self._pages

    def _page(self, key: str) -> WizardPage:
        return self._pages[key] if key in self._pages else self.pages[key]

    def _build_page(self, key: str) -> None:
        page = page_class(key)(self.context)
        self._pages[key] = page
        page.validity_changed.connect(self.refresh_steps)
        self._page_holders[key].addWidget(page)

    def _build_all_pages(self) -> None:
        self._build_pages([key for key in LATER_PAGES if key not in self._pages])

    def _build_next_page(self) -> None:
        missing = [key for key in LATER_PAGES if key not in self._pages]
        self._build_pages(missing[:1])
        if len(missing) > 1:
            self._next_page_timer.start()  # the user's clicks and keys come in between

    def _build_pages(self, keys: list[str]) -> None:
        for key in keys:
            self._build_page(key)
        if keys:
            self._listen_after_pages()
            self.refresh_steps()

    def _listen_after_pages(self) -> None:
        """The window hears the context's news after every page: the pages update, then the window reads them."""
        # bound methods, not lambdas: a lambda would keep this window alive through the context
        if self._listening:
            self.context.settings_changed.disconnect(self._settings_changed)
            self.context.run_changed.disconnect(self._run_changed)
        self.context.settings_changed.connect(self._settings_changed)
        self.context.run_changed.connect(self._run_changed)
        self._listening = True

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        if self._first_paint_done:
            return
        self._first_paint_done = True
        # the window is on screen: now the rest of the pages, and the model helper (TensorFlow takes seconds)
        self._next_page_timer.start()
        if self._warm_up_after_paint:
            QTimer.singleShot(0, self._warm_up)

    # ------------------------------------------------------------ layout

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """On a small laptop screen the step list and the page margins give way to the page itself."""
        narrow = self.width() < NARROW_WINDOW
        self.sidebar.setFixedWidth(SIDEBAR_NARROW if narrow else SIDEBAR_WIDTH)
        margin = 12 if narrow else 28
        for layout in self._page_margins:
            layout.setContentsMargins(margin, 8, margin, 16)
        super().resizeEvent(event)

    def _build_sidebar_and_pages(self) -> None:
        self._page_margins: list[QVBoxLayout] = []
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)

        sidebar = QWidget()
        sidebar.setObjectName("sidebar")
        sidebar.setFixedWidth(SIDEBAR_WIDTH)
        self.sidebar = sidebar
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(14, 18, 14, 14)
        side.setSpacing(4)
        name = QLabel("PetriLab")
        name.setObjectName("appName")
        tagline = QLabel("Deep learning for microscopy")
        tagline.setObjectName("appTagline")
        tagline.setWordWrap(True)
        side.addWidget(name)
        side.addWidget(tagline)
        side.addSpacing(18)
        self.step_list = QListWidget()
        self.step_list.setObjectName("stepList")
        self.step_list.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.step_list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.step_items: dict[str, QListWidgetItem] = {}
        number = 0
        for s in steps.STEPS:
            if not s.in_sequence:
                spacer = QListWidgetItem("")
                spacer.setFlags(Qt.NoItemFlags)
                spacer.setSizeHint(QSize(10, 14))
                self.step_list.addItem(spacer)
                item = QListWidgetItem(f"     {s.title}")
            else:
                number += 1
                item = QListWidgetItem(f"{number}.  {s.title}")
            item.setData(Qt.UserRole, s.key)
            self.step_list.addItem(item)
            self.step_items[s.key] = item
        self.step_list.itemClicked.connect(self._step_clicked)
        side.addWidget(self.step_list, 1)
        self.file_label = QLabel()
        self.file_label.setObjectName("muted")
        self.file_label.setWordWrap(True)
        side.addWidget(self.file_label)
        row.addWidget(sidebar)

        area = QWidget()
        area.setObjectName("pageArea")
        right = QVBoxLayout(area)
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
        header = QWidget()
        head = QVBoxLayout(header)
        head.setContentsMargins(28, 18, 28, 8)
        head.setSpacing(2)
        self.page_title = QLabel()
        self.page_title.setObjectName("pageTitle")
        self.page_subtitle = QLabel()
        self.page_subtitle.setObjectName("pageSubtitle")
        head.addWidget(self.page_title)
        head.addWidget(self.page_subtitle)
        right.addWidget(header)

        self.stack = QStackedWidget()
        for key in PAGES:
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.NoFrame)
            holder = QWidget()
            holder_layout = QVBoxLayout(holder)
            holder_layout.setContentsMargins(28, 8, 28, 16)
            self._page_margins.append(holder_layout)
            self._page_holders[key] = holder_layout
            scroll.setWidget(holder)
            self.stack.addWidget(scroll)
        for key in FIRST_PAGES:
            self._build_page(key)
        right.addWidget(self.stack, 1)

        bar = QFrame()
        bar.setObjectName("bottomBar")
        bottom = QHBoxLayout(bar)
        bottom.setContentsMargins(28, 10, 28, 10)
        self.problem_label = QLabel()
        self.problem_label.setObjectName("problem")
        self.problem_label.setWordWrap(True)
        self.back_button = QPushButton("‹  Back")
        self.back_button.clicked.connect(self.go_back)
        self.next_button = QPushButton("Next  ›")
        self.next_button.setObjectName("primary")
        self.next_button.clicked.connect(self.go_next)
        bottom.addWidget(self.problem_label, 1)
        bottom.addSpacing(12)
        bottom.addWidget(self.back_button)
        bottom.addWidget(self.next_button)
        right.addWidget(bar)
        row.addWidget(area, 1)
        self.setCentralWidget(central)

    # ------------------------------------------------------------ navigation

    def progress(self) -> steps.Progress:
        # a page not built yet is not complete (it has no run to show yet)
        complete = frozenset(key for key, page in self._pages.items() if page.problem() is None)
        return steps.Progress(complete=complete, has_run=self.context.current_run is not None)

    def refresh_steps(self) -> None:
        progress = self.progress()
        reachable = steps.reachable(progress)
        for key, item in self.step_items.items():
            flags = Qt.ItemIsSelectable | Qt.ItemIsEnabled if reachable[key] else Qt.NoItemFlags
            item.setFlags(flags)
            if key in steps.SEQUENCE:  # a tick on the steps that are done
                done = key in progress.complete and reachable[key] and key not in ("evaluate", "predict")
                item.setText(f"{steps.SEQUENCE.index(key) + 1}.  {steps.step(key).title}" + ("   ✓" if done else ""))
        self._update_buttons()

    def _update_buttons(self) -> None:
        problem = self.blocking_problem()
        following = steps.next_key(self.current_key)
        self.next_button.setVisible(following is not None)
        if following is not None:
            self.next_button.setText(f"Next: {steps.step(following).title}  ›")
        self.next_button.setEnabled(following is not None and problem is None)
        self.back_button.setEnabled(steps.previous_key(self.current_key) is not None or self._came_from is not None)
        self.problem_label.setText(f"⚠  {problem}" if problem else "")
        self.problem_label.setToolTip(problem or "")

    def blocking_problem(self) -> str | None:
        """Why Next is refused: this page's problem, or that of an earlier step the next one needs."""
        problem = self._page(self.current_key).problem()
        if problem:
            return problem
        following = steps.next_key(self.current_key)
        if following is None or steps.reachable(self.progress())[following]:
            return None
        for key in steps.SEQUENCE[: steps.SEQUENCE.index(following)]:
            earlier = self._page(key).problem()
            if earlier:
                return f"Step {steps.SEQUENCE.index(key) + 1} ({steps.step(key).title}): {earlier}"
        return None

    def go_to(self, key: str, force: bool = False) -> bool:
        """Show the page `key`; refused (False) when the steps before it are not done, unless forced."""
        if key not in PAGES:
            return False
        if not force and not steps.reachable(self.progress())[key]:
            self._select_item(self.current_key)
            return False
        if key == "runs" and self.current_key != "runs":
            self._came_from = self.current_key
        elif key != "runs":
            self._came_from = None
        self.current_key = key
        page = self._page(key)
        self.stack.setCurrentIndex(list(PAGES).index(key))
        s = steps.step(key)
        self.page_title.setText(s.title if key == "runs" else f"{steps.SEQUENCE.index(key) + 1}. {s.title}")
        self.page_subtitle.setText(s.subtitle)
        page.enter()
        self._select_item(key)
        self.refresh_steps()
        return True

    def _run_about_to_change(self, run) -> None:
        if run is not None:  # a page built later would not know of it (a page built with no run needs no news)
            self._build_all_pages()

    def _run_changed(self, _run) -> None:
        self.refresh_steps()

    def _page_asked(self, key: str) -> None:
        self.go_to(key, force=True)

    def _select_item(self, key: str) -> None:
        self.step_list.blockSignals(True)
        self.step_list.setCurrentItem(self.step_items[key])
        self.step_list.blockSignals(False)

    def _step_clicked(self, item: QListWidgetItem) -> None:
        key = item.data(Qt.UserRole)
        if key:
            self.go_to(key)

    def go_next(self) -> None:
        following = steps.next_key(self.current_key)
        if following and self.blocking_problem() is None:
            self.go_to(following, force=True)

    def go_back(self) -> None:
        if self.current_key == "runs" and self._came_from:
            self.go_to(self._came_from, force=True)
            return
        previous = steps.previous_key(self.current_key)
        if previous:
            self.go_to(previous, force=True)

    def _settings_changed(self) -> None:
        self.update_title()
        self.refresh_steps()

    # ------------------------------------------------------------ messages and life cycle

    def show_error(self, title: str, error: UserError) -> QMessageBox:
        """A plain message box (not modal to the app, so nothing waits on it)."""
        box = QMessageBox(QMessageBox.Warning, title, error.message, QMessageBox.Ok, self)
        details = []
        if error.file and error.file not in error.message:
            details.append(f"File: {error.file}")
        if error.fix:
            details.append(f"What to do: {error.fix}")
        box.setInformativeText("\n\n".join(details))
        box.setWindowModality(Qt.WindowModal)
        box.open()
        self.last_message = box
        return box

    def _warm_up(self) -> None:
        self._pages["model"].warm_up()

    def shutdown(self) -> None:
        """Stop the helper processes the pages started (and the building of the others)."""
        self._next_page_timer.stop()
        for page in self._pages.values():
            stop = getattr(page, "shutdown", None)
            if callable(stop):
                stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_discard():
            event.ignore()
            return
        self.shutdown()
        session.remember_last(self.context.settings_path)  # reopened at the next start
        event.accept()
