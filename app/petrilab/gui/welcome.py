"""Start here: a five-step tour of the window, on the first start and from Help → Start here.

The tour is a card floating over the main window with a frame drawn around
what each step talks about (the step list, the Next button, the Train page,
the verdict). The card stays in one place, at the bottom left of the page
area, so its Next button never moves under the mouse; and the tour is modal:
while it is open, clicks and keys reach only the card (a second click on Next
must never land on a task card behind it). On the very first start the app also opens on the demo
experiment, so the tour points at something real. Whether the tour was seen
is kept in the app's QSettings, beside the recent experiments.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSettings, Qt
from PySide6.QtGui import QAction, QColor, QPainter, QPen
from PySide6.QtWidgets import (QApplication, QFrame, QGraphicsDropShadowEffect, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from petrilab.gui.widgets import theme

SEEN_KEY = "welcome/tour_seen"
CARD_WIDTH = 380
MARGIN = 16  # between the card and the page area's bottom-left corner
# what the user does with mouse and keyboard; while the tour is open these reach only its card
BLOCKED = {QEvent.MouseButtonPress, QEvent.MouseButtonRelease, QEvent.MouseButtonDblClick, QEvent.KeyPress,
           QEvent.KeyRelease, QEvent.Wheel, QEvent.Shortcut}


@dataclass(frozen=True)
class TourStep:
    title: str
    text: str
    target: str = ""  # what to frame: "" (nothing), "steps", "next", "start", "diagnosis"
    page: str | None = None  # the page to show during this step (None: leave as it is)


STEPS: tuple[TourStep, ...] = (
    TourStep(
        "Welcome to PetriLab",
        "PetriLab trains a neural network on your microscope images, without code, along the path of the "
        "workshop. It is open on a demo experiment: small images of cells in three classes (round, "
        "elongated, fragmented). Five short steps show you around; then train the demo yourself.",
        page="task"),
    TourStep(
        "The steps, from top to bottom",
        "An experiment follows this list: choose the task, point at your images, split them into training, "
        "validation and test sets, choose the network, train, then evaluate and predict new images. "
        "A tick marks a step that is done; click a step to go back to it.",
        target="steps"),
    TourStep(
        "Next, when a step is ready",
        "Next takes you to the following step. When something is still missing, the reason is written "
        "beside it in plain words, with what to do.",
        target="next"),
    TourStep(
        "Train and watch the curves",
        "Start training here. The training and validation loss are drawn after every epoch, like the plots "
        "of the workshop. Stop whenever you like: the best model so far is kept. The demo takes about "
        "half a minute.",
        target="start", page="train"),
    TourStep(
        "Read the verdict",
        "When training ends, PetriLab reads the curves for you: good fit, overfitting, underfitting, not "
        "finished, or a training or validation set that is not representative. It shows the evidence and "
        "advice you can apply in one click. Change one thing, train again, compare.",
        target="diagnosis", page="train"),
)


def store() -> QSettings:
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "PetriLab", "PetriLab")


def first_start() -> bool:
    """True until the tour has been finished or skipped once."""
    return not _truthy(store().value(SEEN_KEY, False))


def opens_on_demo(settings_path) -> bool:
    """The very first start, with no experiment asked for, opens on the demo data."""
    return settings_path is None and first_start()


def mark_seen() -> None:
    s = store()
    s.setValue(SEEN_KEY, True)
    s.sync()


def _truthy(value) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def show_on_first_start(window) -> "WelcomeTour | None":
    return start_tour(window) if first_start() else None


def start_tour(window) -> "WelcomeTour":
    """Show the tour over `window` (a MainWindow), from its first step; only one at a time."""
    for old in window.findChildren(WelcomeTour):
        old.end(mark=False)
    tour = WelcomeTour(window)
    tour.show_step(0)
    return tour


class Highlight(QWidget):
    """A rounded frame drawn over the window around the widget a step talks about; clicks pass through."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WA_NoSystemBackground)
        self.hide()

    def frame(self, rect: QRect) -> None:
        self.setGeometry(rect.adjusted(-6, -6, 6, 6))
        self.show()
        self.raise_()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        pen = QPen(QColor(theme.LEVEL_COLOURS["warning"]), 3)
        painter.setPen(pen)
        painter.setBrush(QColor(255, 214, 102, 40))
        painter.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 8, 8)


class Shade(QWidget):
    """A light veil over the window while the tour is open: the window behind waits (see WelcomeTour.eventFilter)."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WA_NoSystemBackground)
        self.hide()

    def paintEvent(self, _event) -> None:
        QPainter(self).fillRect(self.rect(), QColor(20, 30, 40, 28))


class WelcomeTour(QFrame):
    """The card: where we are (2 of 5), a title, a few sentences, Skip / Back / Next."""

    def __init__(self, window):
        super().__init__(window)
        self.window_ = window
        self.index = 0
        self.page_before = getattr(window, "current_key", None)
        self.setObjectName("welcomeCard")
        self.setStyleSheet(
            f"QFrame#welcomeCard {{ background: {theme.PANEL}; border: 2px solid {theme.ACCENT}; border-radius: 8px; }}"
            f"QLabel#tourCount {{ color: {theme.ACCENT}; font-weight: 600; }}"
            f"QLabel#tourTitle {{ font-size: 16px; font-weight: 600; color: {theme.TEXT}; }}")
        self.setFixedWidth(CARD_WIDTH)
        shadow = QGraphicsDropShadowEffect(self)
        shadow.setBlurRadius(24)
        shadow.setOffset(0, 4)
        shadow.setColor(QColor(0, 0, 0, 70))
        self.setGraphicsEffect(shadow)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(8)
        self.count_label = QLabel()
        self.count_label.setObjectName("tourCount")
        self.title_label = QLabel()
        self.title_label.setObjectName("tourTitle")
        self.title_label.setWordWrap(True)
        self.text_label = QLabel()
        self.text_label.setWordWrap(True)
        self.hint_label = QLabel("You can see this tour again from Help → Start here.")
        self.hint_label.setObjectName("muted")
        self.hint_label.setWordWrap(True)
        buttons = QHBoxLayout()
        self.skip_button = QPushButton("Skip the tour")
        self.back_button = QPushButton("‹ Back")
        self.next_button = QPushButton()
        self.next_button.setObjectName("primary")
        self.next_button.setDefault(True)
        self.skip_button.clicked.connect(lambda: self.end(mark=True))
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        buttons.addWidget(self.skip_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        for w in (self.count_label, self.title_label, self.text_label, self.hint_label):
            layout.addWidget(w)
        layout.addLayout(buttons)

        self.shade = Shade(window)
        self.highlight = Highlight(window)
        window.installEventFilter(self)  # follow the window when it is resized
        QApplication.instance().installEventFilter(self)  # modal: the window's clicks and keys stop here

    # ------------------------------------------------------------ steps

    @property
    def step(self) -> TourStep:
        return STEPS[self.index]

    def show_step(self, index: int) -> None:
        self.index = max(0, min(index, len(STEPS) - 1))
        step = self.step
        if step.page and getattr(self.window_, "current_key", None) != step.page:
            self.window_.go_to(step.page, force=True)
        last = self.index == len(STEPS) - 1
        self.count_label.setText(f"Start here · {self.index + 1} of {len(STEPS)}")
        self.title_label.setText(step.title)
        self.text_label.setText(step.text)
        self.hint_label.setVisible(last)
        self.back_button.setEnabled(self.index > 0)
        self.next_button.setText("Try the demo" if last else "Next ›")
        self.show()
        self.place()

    def next(self) -> None:
        if self.index == len(STEPS) - 1:
            self.end(mark=True)
        else:
            self.show_step(self.index + 1)

    def back(self) -> None:
        self.show_step(self.index - 1)

    def end(self, mark: bool = True) -> None:
        """Close the tour and return to the page the user was on (the Task page on a first start)."""
        if mark:
            mark_seen()
        self.window_.removeEventFilter(self)
        QApplication.instance().removeEventFilter(self)
        self.highlight.hide()
        self.highlight.deleteLater()
        self.shade.hide()
        self.shade.deleteLater()
        self.hide()
        self.deleteLater()
        if self.page_before and getattr(self.window_, "current_key", None) != self.page_before:
            self.window_.go_to(self.page_before, force=True)

    # ------------------------------------------------------------ where things are

    def target_widget(self) -> QWidget | None:
        w = self.window_
        key = self.step.target
        if key == "steps":
            return getattr(w, "step_list", None)
        if key == "next":
            return getattr(w, "next_button", None)
        train = getattr(w, "pages", {}).get("train")
        if key == "start" and train is not None:
            return getattr(train, "start_button", train)
        if key == "diagnosis" and train is not None:
            return getattr(train, "diagnosis", train)
        return None

    def target_rect(self) -> QRect | None:
        """The target's rectangle in window coordinates (None when nothing is framed or it is hidden)."""
        target = self.target_widget()
        if target is None or not target.isVisible():
            return None
        top_left = target.mapTo(self.window_, QPoint(0, 0))
        return QRect(top_left, target.size()).intersected(self.window_.rect())

    def anchor(self) -> QPoint:
        """Where the card's bottom-left corner stays: the page area's bottom-left corner (clear of the step
        list on the left, the Next button below, the Train page's Start button above and its verdict on the
        right), or the window's when there is no page area."""
        area = self.window_.rect()
        stack = getattr(self.window_, "stack", None)
        if stack is None or not stack.isVisible():
            return QPoint(area.left() + MARGIN, area.bottom() - MARGIN)
        top_left = stack.mapTo(self.window_, QPoint(0, 0))
        return QPoint(top_left.x() + 2 * MARGIN, top_left.y() + stack.height() - MARGIN)

    def place(self) -> None:
        """Frame the target and keep the card in its one place (its buttons never move between steps)."""
        # wrapped text needs its height for the card's width, which adjustSize() alone underestimates
        self.layout().activate()
        self.resize(CARD_WIDTH, self.layout().totalHeightForWidth(CARD_WIDTH))
        area = self.window_.rect()
        self.shade.setGeometry(area)
        self.shade.show()
        self.shade.raise_()
        rect = self.target_rect()
        if rect is None or rect.isEmpty():
            self.highlight.hide()
        else:
            self.highlight.frame(rect)
        spot = self.anchor()
        x = max(area.left() + 8, min(spot.x(), area.right() - self.width() - 8))
        y = max(area.top() + 8, min(spot.y() - self.height(), area.bottom() - self.height() - 8))
        self.move(x, y)
        self.raise_()
        if not self.isAncestorOf(QApplication.focusWidget() or self.window_):
            self.next_button.setFocus()

    def _outside_card(self, watched: QObject) -> bool:
        """An object of the window, other than this card and what it holds."""
        if isinstance(watched, QAction):  # a shortcut (Ctrl+N…) of the window's menus
            owner = watched.parent()
            return owner is self.window_ or (isinstance(owner, QWidget) and self.window_.isAncestorOf(owner))
        if not isinstance(watched, QWidget) or watched is self or self.isAncestorOf(watched):
            return False
        return watched is self.window_ or self.window_.isAncestorOf(watched)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window_ and event.type() in (QEvent.Resize, QEvent.Show):
            self.place()
        if event.type() in BLOCKED and self.isVisible() and self._outside_card(watched):
            return True  # modal: the window behind the tour waits until it ends
        return False
