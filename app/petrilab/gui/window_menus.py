"""The main window's menus: File, Go and Help."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from petrilab import __version__
from petrilab.gui import steps, welcome


class WindowMenus:
    """Part of MainWindow (which gives the slots: new_experiment, open_dialog, save, go_to, ...)."""

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.action_new = self._action(file_menu, "&New experiment", QKeySequence.New, self.new_experiment)
        self.action_open = self._action(file_menu, "&Open experiment…", QKeySequence.Open, self.open_dialog)
        self.recent_menu = file_menu.addMenu("Recent experiments")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self.action_save = self._action(file_menu, "&Save experiment", QKeySequence.Save, self.save)
        self.action_save_as = self._action(file_menu, "Save experiment &as…", QKeySequence.SaveAs, self.save_as)
        file_menu.addSeparator()
        self.action_annotate = self._action(file_menu, "Annotate images…", None, self.annotate_images)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.Quit, self.close)

        go_menu = self.menuBar().addMenu("&Go")
        self.action_runs = self._action(go_menu, "&Runs…", QKeySequence("Ctrl+R"), lambda: self.go_to("runs"))
        go_menu.addSeparator()
        for s in steps.STEPS:
            if s.in_sequence:
                self._action(go_menu, s.title, None, lambda _c=False, key=s.key: self.go_to(key))

        help_menu = self.menuBar().addMenu("&Help")
        self.action_tour = self._action(help_menu, "Start here (a short tour)", None, self.start_tour)
        self._action(help_menu, "About PetriLab", None, self._about)

    def _action(self, menu, text, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def annotate_images(self) -> None:
        """Ask what to annotate, then open the editor on its own (the main window stays usable)."""
        from petrilab.gui.annotation.start_dialog import StartAnnotationDialog, open_editor

        dialog = StartAnnotationDialog(self)
        if dialog.exec() and dialog.folder is not None:
            self.annotation_windows = [w for w in getattr(self, "annotation_windows", []) if w.isVisible()]
            editor = open_editor(dialog.folder)
            editor.train_requested.connect(self.train_on_annotations)
            if hasattr(editor, "retrain_requested"):
                editor.retrain_requested.connect(self.retrain_on_annotations)
            self.annotation_windows.append(editor)

    def train_on_annotations(self, folder) -> None:
        """The annotation folder becomes this experiment's data, with its task; the Data page checks it."""
        if folder.task != self.context.settings.task.kind:
            self._page("task").choose(folder.task)
        data = self.context.settings.data
        for key, empty in (("data.test_folder", ""), ("data.classes", []), ("data.target_columns", [])):
            if getattr(data, key.split(".")[1]):  # chosen for other data: the folder's own are read from it
                self.context.set_value(key, empty)
        self.context.set_value("data.folder", str(folder.root))
        self.go_to("data")
        self.raise_()
        self.activateWindow()

    def retrain_on_annotations(self, folder, run_dir) -> None:
        """Train again on the annotation folder, fine-tuning the run whose model proposed the masks
        (`model.start_from`); the new run records which images were corrected (corrections.json)."""
        self.train_on_annotations(folder)
        self.context.set_value("model.start_from", str(run_dir))

    def start_tour(self) -> None:
        welcome.start_tour(self)

    def _about(self) -> None:
        QMessageBox.about(self, "About PetriLab",
                          f"PetriLab {__version__}\n\nBuild deep-learning models for microscopy images, "
                          "without writing code.")
