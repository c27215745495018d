"""Data page: 'Where are your images?': the image folder and the optional test folder, typed or chosen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QGridLayout, QLabel, QLineEdit, QPushButton

from petrilab import help as help_texts
from petrilab.gui.context import AppContext
from petrilab.gui.data_folder import meant_folder
from petrilab.gui.widgets.card import Card
from petrilab.tasks import MASK_TASKS as SEGMENTATION_TASKS, is_table_task
from petrilab.tasks import TASKS


class FolderCard(Card):
    """The two folders, written into the settings as they are chosen; 'Check again' reads them afresh."""

    recheck_requested = Signal()

    def __init__(self, context: AppContext):
        super().__init__("Where are your images?")
        self.context = context
        self._noted: tuple | None = None  # (key, folder) the folder note speaks of
        task = TASKS[context.settings.task.kind]
        self.layout_hint = QLabel(f"Expected layout: {task.layout}")
        self.layout_hint.setObjectName("muted")
        self.layout_hint.setWordWrap(True)
        self.body.addWidget(self.layout_hint)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("Choose the folder with one sub-folder per class")
        self.folder_edit.editingFinished.connect(lambda: self._typed("data.folder", self.folder_edit))
        self.folder_edit.setToolTip(help_texts.explanation("data.folder"))
        choose = QPushButton("Choose…")
        choose.clicked.connect(lambda: self._browse("data.folder"))
        self.test_edit = QLineEdit()
        self.test_edit.setPlaceholderText("Optional — otherwise a part of your images is kept aside for testing")
        self.test_edit.editingFinished.connect(lambda: self._typed("data.test_folder", self.test_edit))
        self.test_edit.setToolTip(help_texts.explanation("data.test_folder"))
        choose_test = QPushButton("Choose…")
        choose_test.clicked.connect(lambda: self._browse("data.test_folder"))
        clear_test = QPushButton("Clear")
        clear_test.clicked.connect(lambda: self.set_test_folder(""))
        self.recheck_button = QPushButton("Check again")
        self.recheck_button.setToolTip("Read the folder again, e.g. after adding or fixing images.")
        self.recheck_button.clicked.connect(lambda: self.recheck_requested.emit())
        grid.addWidget(QLabel(help_texts.label("data.folder")), 0, 0)
        grid.addWidget(self.folder_edit, 0, 1)
        grid.addWidget(choose, 0, 2)
        grid.addWidget(self.recheck_button, 0, 3)
        grid.addWidget(QLabel(help_texts.label("data.test_folder")), 1, 0)
        grid.addWidget(self.test_edit, 1, 1)
        grid.addWidget(choose_test, 1, 2)
        grid.addWidget(clear_test, 1, 3)
        grid.setColumnStretch(1, 1)
        self.body.addLayout(grid)
        self.folder_note = QLabel()  # e.g. the 'images' folder itself was chosen: the folder above is used
        self.folder_note.setObjectName("muted")
        self.folder_note.setWordWrap(True)
        self.folder_note.hide()
        self.body.addWidget(self.folder_note)

    def enter(self) -> None:
        """The task's layout and the settings' folders."""
        kind = self.context.settings.task.kind
        self.layout_hint.setText(f"Expected layout: {TASKS[kind].layout}")
        self.folder_edit.setPlaceholderText("Choose the folder that holds images/ and the table"
                                            if is_table_task(kind) else
                                            "Choose the folder that holds images/ and masks/"
                                            if kind in SEGMENTATION_TASKS
                                            else "Choose the folder with one sub-folder per class")
        self._show_folders()

    def settings_changed(self) -> None:
        d = self.context.settings.data
        if self._noted and getattr(d, self._noted[0].split(".")[1]) != self._noted[1]:
            self._noted = None  # another folder (or another experiment): the note is about the old one
            self.folder_note.hide()
        self._show_folders()

    def _show_folders(self) -> None:
        d = self.context.settings.data
        if self.folder_edit.text() != d.folder:
            self.folder_edit.setText(d.folder)
        if self.test_edit.text() != d.test_folder:
            self.test_edit.setText(d.test_folder)

    def _browse(self, key: str) -> None:
        current = getattr(self.context.settings.data, key.split(".")[1]) or str(Path.home())
        title = "Choose the image folder" if key == "data.folder" else "Choose the test folder"
        folder = QFileDialog.getExistingDirectory(self, title, current)
        if folder:
            self._set(key, folder)

    def _typed(self, key: str, edit: QLineEdit) -> None:
        text = edit.text().strip()
        if text != getattr(self.context.settings.data, key.split(".")[1]):
            self._set(key, text)

    def _set(self, key: str, folder: str | Path) -> None:
        """Set a data folder; the 'images' folder itself means the folder above it (the note says so)."""
        folder, note = meant_folder(self.context.settings.task.kind, str(folder))
        self.folder_note.setText(note or "")
        self.folder_note.setVisible(bool(note))
        self._noted = (key, folder) if note else None
        self.context.set_value(key, folder)
        if key == "data.folder" and self.folder_edit.text() != folder:
            self.folder_edit.setText(folder)
        if key == "data.test_folder" and self.test_edit.text() != folder:
            self.test_edit.setText(folder)

    def set_folder(self, folder: str | Path) -> None:
        self._set("data.folder", folder)

    def set_test_folder(self, folder: str | Path) -> None:
        if str(folder) != self.context.settings.data.test_folder:
            self._set("data.test_folder", folder)
