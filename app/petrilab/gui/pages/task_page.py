"""Step 1: what the network should learn, as one card per task."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from petrilab import help as help_texts
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui.context import AppContext
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.widgets import theme
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.gui.widgets.task_icons import task_pixmap
from petrilab.tasks import TASKS, Task

CARD_STYLE = f"""
QPushButton#taskCard {{ background: {theme.PANEL}; border: 1px solid {theme.BORDER}; border-radius: 8px;
                        text-align: left; padding: 0; }}
QPushButton#taskCard:hover {{ border-color: {theme.ACCENT}; }}
QPushButton#taskCard:checked {{ border: 2px solid {theme.ACCENT}; background: #eef4fa; }}
QPushButton#taskCard:disabled {{ background: #f3f5f7; border-color: #e1e5ea; }}
QLabel#cardTitle {{ font-size: 14px; font-weight: 600; background: transparent; }}
QLabel#cardText, QLabel#cardLayout {{ background: transparent; }}
QLabel#cardLayout {{ color: {theme.MUTED}; font-size: 11px; }}
QLabel#soon {{ color: white; background: #8a96a3; border-radius: 8px; padding: 1px 8px; font-size: 11px; }}
"""


class TaskCard(QPushButton):
    """A checkable card: picture of input → output, title, one-line summary, folder layout."""

    def __init__(self, task: Task, parent: QWidget | None = None):
        super().__init__(parent)
        self.task = task
        self.setObjectName("taskCard")
        self.setCheckable(True)
        self.setEnabled(task.available)
        self.setCursor(Qt.PointingHandCursor if task.available else Qt.ArrowCursor)
        self.setMinimumSize(QSize(240, 176))  # three cards a row still fit a 1024-pixel laptop screen
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(6)
        top = QHBoxLayout()
        picture = QLabel()
        picture.setPixmap(task_pixmap(task.key, enabled=task.available))
        picture.setStyleSheet("background: transparent;")
        top.addWidget(picture)
        top.addStretch(1)
        if not task.available:
            soon = QLabel("coming soon")
            soon.setObjectName("soon")
            top.addWidget(soon, 0, Qt.AlignTop)
        layout.addLayout(top)
        title = QLabel(task.title)
        title.setObjectName("cardTitle")
        title.setWordWrap(True)
        text = QLabel(task.summary)
        text.setObjectName("cardText")
        text.setWordWrap(True)
        where = QLabel(task.layout)
        where.setObjectName("cardLayout")
        where.setWordWrap(True)
        for label in (title, text, where):
            label.setAttribute(Qt.WA_TransparentForMouseEvents)
            layout.addWidget(label)
        layout.addStretch(1)
        self.setToolTip(f"{task.title}: {task.example}" if task.available
                        else f"{task.title} is coming in a later version of PetriLab.")

    # a button ignores the layout inside it when sized: ask the layout, so wrapped text is never cut off
    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return max(self.minimumHeight(), self.layout().totalHeightForWidth(width))

    def sizeHint(self) -> QSize:
        return QSize(300, self.heightForWidth(300))


class TaskPage(WizardPage):
    key = "task"
    title = "Task"

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.setStyleSheet(CARD_STYLE)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(14)

        name_row = QHBoxLayout()
        name_label = QLabel(help_texts.label("name"))
        name_label.setObjectName("sectionTitle")
        self.name_edit = QLineEdit()
        self.name_edit.setMaximumWidth(360)
        self.name_edit.setPlaceholderText("e.g. blood-cells-vgg")
        self.name_edit.setToolTip(help_texts.explanation("name"))
        self.name_edit.textEdited.connect(self._name_edited)
        name_row.addWidget(name_label)
        name_row.addWidget(self.name_edit)
        name_row.addStretch(1)
        outer.addLayout(name_row)

        intro = QLabel("Choose what the network should learn from your images. "
                       "The task decides the last layer, the loss and the metrics for you.")
        intro.setObjectName("muted")
        intro.setWordWrap(True)
        outer.addWidget(intro)

        grid = QGridLayout()
        grid.setSpacing(14)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.cards: dict[str, TaskCard] = {}
        for i, task in enumerate(TASKS.values()):
            card = TaskCard(task)
            self.group.addButton(card)
            card.clicked.connect(lambda _checked=False, key=task.key: self.choose(key))
            grid.addWidget(card, i // 3, i % 3)
            self.cards[task.key] = card
        for column in range(3):
            grid.setColumnStretch(column, 1)
        outer.addLayout(grid)

        # every task can be tried at once on example data (bundled, or made once into ~/PetriLab/demo-data)
        self.example_button = QPushButton()
        self.example_button.setToolTip("Fill in the Data step with a small example dataset for this task, "
                                       "to see the whole path before using your own images.")
        self.example_button.clicked.connect(lambda: self.use_example_data())
        example_row = QHBoxLayout()
        example_row.addWidget(self.example_button)
        example_row.addStretch(1)
        outer.addLayout(example_row)
        self.message = InlineMessage()
        outer.addWidget(self.message)
        outer.addStretch(1)
        self.enter()

    def enter(self) -> None:
        kind = self.context.settings.task.kind
        for key, card in self.cards.items():
            card.setChecked(key == kind)
        if self.name_edit.text() != self.context.settings.name:
            self.name_edit.setText(self.context.settings.name)
        self.example_button.setText(f"Try {TASKS[kind].title.lower()} with example data" if kind in TASKS
                                    else "Try with example data")
        self.validity_changed.emit()

    def use_example_data(self) -> bool:
        """Point the Data step at the example images of the chosen task and go there."""
        from petrilab.resources import demo_data

        kind = self.context.settings.task.kind
        self.message.clear()
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # made on first use: a second or two
        try:
            folder = demo_data(kind)
        except UserError as exc:
            self.message.show_message("error", exc.message, exc.file, exc.fix)
            return False
        except OSError as exc:
            self.message.show_message("error", f"The example data could not be prepared ({exc.strerror or exc}).",
                                      exc.filename, "Check that your home folder has some free space.")
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        data = self.context.settings.data
        for key, empty in (("data.test_folder", ""), ("data.classes", []), ("data.target_columns", [])):
            if getattr(data, key.split(".")[1]):  # chosen for other data: the example's own are read from it
                self.context.set_value(key, empty)
        self.context.set_value("data.folder", str(folder))
        if self.context.settings.name in ("", "experiment"):
            self.context.set_value("name", f"example-{kind}")
            self.name_edit.setText(self.context.settings.name)
        self.context.go_to_page.emit("data")
        return True

    def choose(self, key: str) -> None:
        if not TASKS[key].available or key == self.context.settings.task.kind:
            self.enter()
            return
        # the settings some tasks set their own way (e.g. no flips for regression) follow the task
        settings_io.apply_override(self.context.settings, "task.kind", key)
        for name, value in settings_io.task_defaults(key).items():
            settings_io.apply_override(self.context.settings, name, value)
        self.context.notify_changed()
        if self.context.current_run is not None:
            self.context.set_run(None)  # the run shown learnt the other task: no page offers it any more
        self.enter()

    def _name_edited(self, text: str) -> None:
        try:
            self.context.set_value("name", text.strip() or "experiment")
        except UserError:
            pass  # any text is a valid name; nothing to refuse

    def problem(self) -> str | None:
        task = TASKS.get(self.context.settings.task.kind)
        if task is None:
            return "Choose a task."
        if not task.available:
            return f"{task.title} is coming in a later version; choose image classification for now."
        return None
