"""File > Annotate images…: which images, which task, which classes, and where to keep the labels.

Opens the editor that fits the task on the annotation folder it makes (or on one made before).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QButtonGroup, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QRadioButton, QVBoxLayout, QWidget)

from petrilab.annotation.folder import ANNOTATABLE, AnnotationFolder
from petrilab.errors import UserError
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.tasks import TASKS


def suggested_folder(images: str) -> str:
    """Beside the images' folder, never inside it: '<images> annotations'."""
    path = Path(images).expanduser()
    return str(path.parent / f"{path.name} annotations") if images.strip() else ""


class StartAnnotationDialog(QDialog):
    """Asks what to annotate; `folder` is the AnnotationFolder made or opened once accepted."""

    def __init__(self, parent: QWidget | None = None, images_folder: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Annotate images")
        self.folder: AnnotationFolder | None = None
        intro = QLabel("Make the labels a model learns from, inside PetriLab. Your images are only read: "
                       "PetriLab copies each labelled image into the annotation folder, which you can then "
                       "choose as the data folder on the Data page.")
        intro.setWordWrap(True)

        self.images_edit = QLineEdit(images_folder)
        self.images_edit.setPlaceholderText("the folder that holds the images")
        self.images_edit.textEdited.connect(self._suggest)
        self.target_edit = QLineEdit(suggested_folder(images_folder))
        self.target_edit.setPlaceholderText("a new folder, outside the images' folder")
        self._target_touched = False
        self.target_edit.textEdited.connect(lambda _t: setattr(self, "_target_touched", True))

        self.task_group = QButtonGroup(self)
        task_box = QVBoxLayout()
        self.task_buttons: dict[str, QRadioButton] = {}
        for kind in ANNOTATABLE:
            button = QRadioButton(TASKS[kind].title)
            button.setToolTip(TASKS[kind].summary)
            button.toggled.connect(self._task_changed)
            self.task_group.addButton(button)
            self.task_buttons[kind] = button
            task_box.addWidget(button)
        self.task_summary = QLabel()
        self.task_summary.setObjectName("muted")
        self.task_summary.setWordWrap(True)
        task_box.addWidget(self.task_summary)
        self.classes_edit = QLineEdit()
        self.classes_hint = QLabel()
        self.classes_hint.setObjectName("muted")
        self.classes_hint.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Images:", _with_button(self.images_edit, "Choose…", self._choose_images))
        form.addRow("Task:", task_box)
        form.addRow("Classes:", self.classes_edit)
        form.addRow("", self.classes_hint)
        form.addRow("Keep the labels in:", _with_button(self.target_edit, "Choose…", self._choose_target))

        self.message = InlineMessage()
        open_existing = QPushButton("Open an annotation folder…")
        open_existing.clicked.connect(self._open_existing)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.start_button = QPushButton("Start annotating")
        self.start_button.setObjectName("primary")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        buttons = QHBoxLayout()
        buttons.addWidget(open_existing)
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.start_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addLayout(buttons)
        next(iter(self.task_buttons.values())).setChecked(True)
        self.resize(640, 420)

    # ------------------------------------------------------------ choices

    @property
    def task(self) -> str:
        return next(k for k, b in self.task_buttons.items() if b.isChecked())

    def _task_changed(self) -> None:
        info = TASKS[self.task]
        self.task_summary.setText(info.summary)
        if info.has_objects:
            self.classes_edit.setEnabled(False)
            self.classes_hint.setText("Each object gets its own number; no classes to name.")
        elif info.per_pixel:
            self.classes_edit.setEnabled(True)
            self.classes_edit.setPlaceholderText("background, foreground")
            self.classes_hint.setText("Separated by commas, the background first. Empty: background and "
                                      "foreground.")
        elif info.multi_label:
            self.classes_edit.setEnabled(True)
            self.classes_edit.setPlaceholderText("e.g. nucleus, mitochondria, Golgi")
            self.classes_hint.setText("The labels an image may have, at least two, separated by commas. Keys "
                                      "1–9 switch a label on or off; Enter goes to the next image.")
        else:
            self.classes_edit.setEnabled(True)
            self.classes_edit.setPlaceholderText("e.g. healthy, infected")
            self.classes_hint.setText("At least two, separated by commas. Keys 1–9 put an image in a class.")

    def _suggest(self, text: str) -> None:
        if not self._target_touched:
            self.target_edit.setText(suggested_folder(text))

    def _choose_images(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "The folder of images to annotate", self.images_edit.text())
        if chosen:
            self.images_edit.setText(chosen)
            self._suggest(chosen)

    def _choose_target(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Where to keep the labels", self.target_edit.text())
        if chosen:
            self.target_edit.setText(chosen)
            self._target_touched = True

    # ------------------------------------------------------------ going on

    def start(self) -> None:
        """Make the annotation folder from the choices, or say in plain words why not."""
        classes = [c for c in self.classes_edit.text().split(",") if c.strip()]
        try:
            if not self.images_edit.text().strip():
                raise UserError("No images folder was chosen.", fix="Choose the folder that holds the images.")
            if not self.target_edit.text().strip():
                raise UserError("No place for the labels was chosen.",
                                fix="Choose a new folder, outside the images' folder.")
            self.folder = AnnotationFolder.create(self.target_edit.text().strip(), self.images_edit.text().strip(),
                                                  self.task, classes or None)
        except UserError as exc:
            self.message.show_message("error", exc.message, exc.file, exc.fix)
            return
        self.accept()

    def _open_existing(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "An annotation folder made by PetriLab")
        if chosen:
            self.open_folder(chosen)

    def open_folder(self, path: str) -> None:
        try:
            self.folder = AnnotationFolder.open(path)
        except UserError as exc:
            self.message.show_message("error", exc.message, exc.file, exc.fix)
            return
        self.accept()


def _with_button(edit: QLineEdit, text: str, slot) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    button = QPushButton(text)
    button.clicked.connect(slot)
    row.addWidget(button)
    return row


def open_editor(folder: AnnotationFolder) -> QWidget:
    """The window that fits the folder's task (a mask editor, or the class sorter), shown."""
    if folder.per_pixel:
        from petrilab.gui.annotation.segmentation_editor import SegmentationEditor

        window = SegmentationEditor(folder)
    else:
        from petrilab.gui.annotation.class_sorter import ClassSorter

        window = ClassSorter(folder)
    window.setWindowTitle(f"Annotate — {folder.root.name}")
    window.resize(1200, 760)
    window.show()
    return window
