"""Predict page: the post-processing of a segmentation run, tried live on one chosen image.

The engine predicts that image once (`--probabilities`, into a scratch folder of our own) and every
change of an option re-runs only the clean-up, in the window. Its own engine job keeps the batch
prediction's free.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QSizePolicy, \
    QVBoxLayout, QWidget

from petrilab import runs
from petrilab.errors import UserError
from petrilab.gui.context import AppContext
from petrilab.gui.engine_job import show_failure, stop_job
from petrilab.gui.process import EngineProcess
from petrilab.gui.tasks.segmentation.postprocess_preview import PostprocessPreview, read_probabilities
from petrilab.gui.tasks.segmentation.stack_pairs import trained_on_stacks
from petrilab.gui.widgets.message_box import InlineMessage
from petrilab.tasks import MASK_TASKS as SEGMENTATION  # the tasks whose runs get the preview

PREVIEW_CHOICES = 500  # images offered for the preview at most
PREVIEW_LOG = "engine-preview.log"


class PreviewSection(QWidget):
    """'Try on' an image of the input folder, and the post-processing options live on it."""

    def __init__(self, context: AppContext, input_edit: QLineEdit, message: InlineMessage,
                 command: list[str] | None = None):
        super().__init__()
        self.context = context
        self.input_edit = input_edit  # the page's folder of new images
        self.message = message  # the page's message box: a failed preview speaks there
        self.task: str | None = None  # the current run's task
        self.stacks = False  # the current run learnt from z-stacks: the live preview (2-D) is not offered
        self.engine = EngineProcess(self, command=command)
        self.engine.finished.connect(self._on_finished)
        self.scratch: Path | None = None
        self._image: Path | None = None  # the image the running (or last) preview predicts
        self._previewed: tuple | None = None  # (run, image) whose probabilities the panel holds
        self._run: str | None = None  # the run the running (or last) preview uses
        self._failed = False  # the message shown is the preview's failure
        self.list_timer = QTimer(self, singleShot=True, interval=300, timeout=self.list_images)

        self.choice = QComboBox()
        self.choice.setMinimumWidth(200)
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.choice.setMinimumContentsLength(18)
        self.choice.setToolTip("The image the options are tried on; choose one typical of your data.")
        self.choice.currentIndexChanged.connect(lambda _i: self.start())
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        # long file names wrap or are cut, never widen the page beyond the window
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setFixedHeight(12)
        self.busy.setMaximumWidth(120)
        self.busy.hide()
        title = QLabel("Post-processing: from probabilities to objects")
        title.setObjectName("sectionTitle")
        choose = QHBoxLayout()
        choose.addWidget(title)
        choose.addSpacing(12)
        choose.addWidget(QLabel("Try on:"))
        choose.addWidget(self.choice)
        choose.addWidget(self.busy)
        self.retry_button = QPushButton("Try again")
        self.retry_button.clicked.connect(lambda: self.start())
        self.retry_button.hide()
        choose.addWidget(self.retry_button)
        choose.addWidget(self.status, 1)
        self.preview = PostprocessPreview()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 4, 0, 0)
        box.setSpacing(4)
        box.addLayout(choose)
        box.addWidget(self.preview, 1)
        self.hide()

    def shutdown(self) -> None:
        """End a running preview and remove its scratch folder."""
        stop_job(self.engine)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)  # our own scratch folder, never user data
            self.scratch = None

    def show_run(self, task: str | None, postprocess, changed: bool) -> None:
        """The run's task and options: segmentation runs get the preview, a new one starts afresh."""
        self.task = task
        segmentation = task in SEGMENTATION
        # the preview tries the options on one 2-D image; a run on z-stacks predicts with its own (tuned)
        # options, which the panel still holds, so the prediction is given them unchanged
        self.stacks = segmentation and trained_on_stacks(self.context.current_run)
        self.setVisible(segmentation and not self.stacks)
        if changed and segmentation:
            self.preview.set_task(task, postprocess)
            self.preview.clear_prediction()
            self._previewed = None
            self.list_images()

    def list_images(self) -> None:
        """Offer the input folder's images for the preview (the first one is tried at once)."""
        from petrilab.data.images import is_image_file  # light: no Keras

        if self.stacks:
            return
        folder = Path(self.input_edit.text().strip())
        chosen = self.choice.currentData()
        images = []
        if self.input_edit.text().strip() and folder.is_dir():
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(folder)
                if not any(part.startswith(".") for part in rel.parts) and path.is_file() and is_image_file(path):
                    images.append(path)
                    if len(images) >= PREVIEW_CHOICES:
                        break
        self.choice.blockSignals(True)
        self.choice.clear()
        for path in images:
            self.choice.addItem(str(path.relative_to(folder)), str(path))
        index = self.choice.findData(chosen) if chosen else -1
        self.choice.setCurrentIndex(max(0, index) if images else -1)
        self.choice.blockSignals(False)
        if not images:
            self.status.setText("Choose the folder of new images: the options are tried on one of them.")
            return
        self.start()

    def start(self) -> bool:
        """Predict the chosen image once (probabilities); False when there is nothing to do or it must wait."""
        run = self.context.current_run
        chosen = self.choice.currentData()
        if (run is None or not chosen or self.task not in SEGMENTATION or self.stacks
                or not (Path(run) / runs.BEST_MODEL).exists()):
            return False
        if self._previewed == (str(run), chosen):
            return False  # its probabilities are in the panel already
        if self.engine.is_running():
            return False  # the chosen image is tried when this one ends
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="petrilab-preview-"))
        source = Path(chosen)
        inbox, outbox = self.scratch / "in", self.scratch / "out"
        for folder in (inbox, outbox):
            shutil.rmtree(folder, ignore_errors=True)  # the scratch folder of the previous preview
        inbox.mkdir(parents=True)
        try:
            shutil.copy2(source, inbox / source.name)  # a copy: the engine predicts a folder, the data stays as is
        except OSError as exc:
            self.status.setText(f"{source.name} cannot be read ({exc.strerror}).")
            return False
        self._image = source
        self._run = str(run)
        self.retry_button.hide()
        self.engine.start_predict(run, inbox, outbox, extra=["--probabilities"], log_path=self.scratch / PREVIEW_LOG)
        self.busy.show()
        self.status.setText(f"The model predicts {source.name} once; then every option shows at once.")
        return True

    def _on_finished(self, exit_code: int, normal: bool) -> None:
        from petrilab.data.images import read_image

        self.busy.hide()
        source = self._image
        if self.scratch is None or source is None:
            return  # the window closed meanwhile
        maps = self.scratch / "out" / "probabilities" / f"{source.stem}_probabilities.tif"
        if exit_code == 0 and maps.exists():
            try:
                self.preview.set_prediction(read_image(source), read_probabilities(maps))
                self._previewed = (self._run, str(source))
                if self._failed:
                    self.message.clear()  # the earlier preview's failure is over
                self._failed = False
                self.status.setText(f"{source.name}: move the options, the objects follow.")
            except (UserError, ValueError, OSError) as exc:
                self.status.setText(f"The preview of {source.name} could not be shown ({exc}).")
        else:
            self.preview.clear_prediction()
            show_failure(self.message, self.engine, "The preview")
            self.status.setText("The preview failed: see the message below.")
            self.retry_button.show()
            self._failed = True
        if self.choice.currentData() != str(source):
            self.start()  # the user chose another image meanwhile
