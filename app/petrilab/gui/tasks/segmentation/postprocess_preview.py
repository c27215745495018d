"""Post-processing with a live preview: the [postprocess] options on one image's probability maps.

The network runs once on the chosen image (`petrilab predict … --probabilities`
in a child process); moving a control then only re-runs the clean-up, with the
engine's own numpy functions (petrilab.tasks.segmentation.postprocess), so the
overlay and the object count follow within a fraction of a second and show
exactly what the batch prediction will find with these options.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from petrilab import help as help_texts
from petrilab.gui.widgets.overlay_view import OverlayView
from petrilab.settings import RANGES, PostprocessSettings
from petrilab.tasks import has_objects
from petrilab.tasks.segmentation.postprocess import clean_mask, instance_labels, objects_of, semantic_mask

# the options the preview offers, in the order the engine applies them (tune_threshold only matters in training)
KEYS = ("threshold", "split_touching", "fill_holes", "min_size", "max_size", "clear_border")
DEBOUNCE_MS = 40  # a slider dragged fast recomputes once it pauses, not at every pixel
THRESHOLD_STEPS = 100


# ---------------------------------------------------------------- the numbers (no Qt)


def read_probabilities(path: str | Path) -> np.ndarray:
    """A probability TIFF written by `petrilab predict --probabilities` (C, Y, X planes) as (H, W, K) float32."""
    import tifffile

    planes = np.asarray(tifffile.imread(str(path)), dtype=np.float32)
    if planes.ndim == 2:
        planes = planes[np.newaxis]
    if planes.ndim != 3:
        raise ValueError(f"probability maps must be (C, Y, X), not {planes.shape}")
    return np.moveaxis(planes, 0, -1)


def find_objects(probs: np.ndarray, post: PostprocessSettings, task: str) -> np.ndarray:
    """The objects the engine finds in these probabilities with `post`: (H, W) labels, 0 background.

    Instance: prediction.postprocess.instance_labels, as the instance recipe does. Semantic: the
    class mask (threshold, clean-up) and its connected pieces of each class, as the semantic
    recipe counts and measures them.
    """
    if has_objects(task):
        return instance_labels(probs, post, "auto")
    return objects_of(clean_mask(semantic_mask(probs, post.threshold), post))


def count_objects(labels: np.ndarray) -> int:
    return int(len(np.unique(labels[labels > 0])))


def overrides(post: PostprocessSettings) -> list[str]:
    """`--set postprocess.KEY=VALUE` arguments that give the engine exactly these options."""
    args = []
    for key in KEYS:
        value = getattr(post, key)
        text = ("true" if value else "false") if isinstance(value, bool) else repr(value)
        args += ["--set", f"postprocess.{key}={text}"]
    return args


# ---------------------------------------------------------------- the panel


class PostprocessPreview(QWidget):
    """The options as controls, the chosen image with the objects found, and their count."""

    changed = Signal()  # the options changed (the preview follows on its own)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.task = ""  # the run's, from set_task
        self.base = PostprocessSettings()  # the run's own options (Reset goes back to them)
        self.image: np.ndarray | None = None
        self.probs: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.count: int | None = None
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS, timeout=self.refresh)
        self._build()

    def _build(self) -> None:
        tip = help_texts.explanation
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(0, THRESHOLD_STEPS)
        self.threshold_value = QLabel()
        self.threshold_value.setMinimumWidth(34)
        self.min_size = QSpinBox()
        self.min_size.setRange(*RANGES["postprocess.min_size"])
        self.min_size.setSuffix(" px")
        self.min_slider = QSlider(Qt.Orientation.Horizontal)
        self.min_slider.setRange(0, 500)
        self.max_size = QSpinBox()
        self.max_size.setRange(*RANGES["postprocess.max_size"])
        self.max_size.setSuffix(" px")
        self.max_size.setSpecialValueText("no limit")
        for box in (self.min_size, self.max_size):
            box.setMaximumWidth(110)  # sizes of objects, not of the 100-million range they allow
        self.min_slider.setMinimumWidth(90)
        self.fill_holes = QCheckBox(help_texts.label("postprocess.fill_holes"))
        self.clear_border = QCheckBox(help_texts.label("postprocess.clear_border"))
        self.split_touching = QCheckBox(help_texts.label("postprocess.split_touching"))
        self.reset_button = QPushButton("Reset to the run's options")
        self.reset_button.setToolTip("The options the model was trained and evaluated with (its settings.toml).")
        self.reset_button.clicked.connect(lambda: self.set_options(self.base))

        for widget, key in ((self.threshold, "threshold"), (self.min_size, "min_size"),
                            (self.min_slider, "min_size"), (self.max_size, "max_size"),
                            (self.fill_holes, "fill_holes"), (self.clear_border, "clear_border"),
                            (self.split_touching, "split_touching")):
            widget.setToolTip(tip(f"postprocess.{key}"))
        self.threshold.valueChanged.connect(self._on_threshold)
        self.min_slider.valueChanged.connect(self._on_min_slider)
        self.min_size.valueChanged.connect(self._on_min_size)
        self.max_size.valueChanged.connect(self._schedule)
        for box in (self.fill_holes, self.clear_border, self.split_touching):
            box.toggled.connect(self._schedule)

        form = QGridLayout()
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(6)
        self.threshold_label = QLabel(help_texts.label("postprocess.threshold") + ":")
        form.addWidget(self.threshold_label, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.threshold, 1)
        row.addWidget(self.threshold_value)
        form.addLayout(row, 0, 1)
        form.addWidget(QLabel(help_texts.label("postprocess.min_size") + ":"), 1, 0)
        row = QHBoxLayout()
        row.addWidget(self.min_slider, 1)
        row.addWidget(self.min_size)
        form.addLayout(row, 1, 1)
        form.addWidget(QLabel(help_texts.label("postprocess.max_size") + ":"), 2, 0)
        form.addWidget(self.max_size, 2, 1, Qt.AlignmentFlag.AlignLeft)
        form.addWidget(self.split_touching, 3, 0, 1, 2)
        form.addWidget(self.fill_holes, 4, 0, 1, 2)
        form.addWidget(self.clear_border, 5, 0, 1, 2)
        self.count_label = QLabel("–")
        self.count_label.setStyleSheet("font-size: 20px; font-weight: 600;")
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)

        controls = QVBoxLayout()
        controls.addLayout(form)
        controls.addSpacing(6)
        controls.addWidget(self.count_label)
        controls.addWidget(self.note)
        controls.addStretch(1)
        controls.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)
        side = QWidget()
        side.setLayout(controls)
        side.setFixedWidth(340)

        self.view = OverlayView(mode="fill", alpha=0.35, minimum=200)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(side)
        layout.addWidget(self.view, 1)
        self.set_options(self.base)

    # ------------------------------------------------------------ options

    def set_task(self, task: str, base: PostprocessSettings) -> None:
        """The run's task and its own options (shown, and what Reset returns to)."""
        self.task = task
        self.base = dataclasses.replace(base)
        self.split_touching.setVisible(has_objects(task))  # semantic pieces are never split
        self.threshold_label.setText("Interior threshold:" if has_objects(task) else "Threshold:")
        self.set_options(base)

    def set_options(self, post: PostprocessSettings) -> None:
        widgets = (self.threshold, self.min_slider, self.min_size, self.max_size, self.fill_holes,
                   self.clear_border, self.split_touching)
        for widget in widgets:
            widget.blockSignals(True)
        self.threshold.setValue(round(post.threshold * THRESHOLD_STEPS))
        self._threshold = float(post.threshold)  # exact, until the slider moves (it has steps of 0.01)
        self.threshold_value.setText(f"{post.threshold:.2f}")
        self.min_size.setValue(int(post.min_size))
        self.min_slider.setMaximum(max(self.min_slider.maximum(), int(post.min_size)))
        self.min_slider.setValue(int(post.min_size))
        self.max_size.setValue(int(post.max_size))
        self.fill_holes.setChecked(bool(post.fill_holes))
        self.clear_border.setChecked(bool(post.clear_border))
        self.split_touching.setChecked(bool(post.split_touching))
        for widget in widgets:
            widget.blockSignals(False)
        self._schedule()

    def options(self) -> PostprocessSettings:
        """The options as the controls show them now (the run's other postprocess keys unchanged)."""
        return dataclasses.replace(
            self.base, threshold=self._threshold, min_size=self.min_size.value(),
            max_size=self.max_size.value(), fill_holes=self.fill_holes.isChecked(),
            clear_border=self.clear_border.isChecked(),
            split_touching=self.split_touching.isChecked() if has_objects(self.task) else self.base.split_touching)

    def _on_threshold(self, value: int) -> None:
        self._threshold = value / THRESHOLD_STEPS
        self.threshold_value.setText(f"{self._threshold:.2f}")
        self._schedule()

    def _on_min_slider(self, value: int) -> None:
        self.min_size.blockSignals(True)
        self.min_size.setValue(value)
        self.min_size.blockSignals(False)
        self._schedule()

    def _on_min_size(self, value: int) -> None:
        self.min_slider.blockSignals(True)
        self.min_slider.setMaximum(max(self.min_slider.maximum(), value))
        self.min_slider.setValue(value)
        self.min_slider.blockSignals(False)
        self._schedule()

    def _schedule(self, *_args) -> None:
        self.changed.emit()
        self._timer.start()

    # ------------------------------------------------------------ the preview

    def set_prediction(self, image: np.ndarray, probs: np.ndarray) -> None:
        """The chosen image and the network's probabilities for it: the preview starts."""
        if probs.shape[:2] != image.shape[:2]:
            raise ValueError(f"probabilities {probs.shape} and image {image.shape} differ in size")
        self.image, self.probs = image, probs
        # more than two classes: each pixel takes its most probable class, no threshold is involved
        argmax = not has_objects(self.task) and probs.shape[2] > 2
        self.threshold.setEnabled(not argmax)
        self.threshold.setToolTip("With more than two classes each pixel takes its most probable class: "
                                  "no threshold." if argmax else help_texts.explanation("postprocess.threshold"))
        # the size slider spans up to a twentieth of the image: far beyond any object worth keeping
        area = int(image.shape[0] * image.shape[1])
        self.min_slider.setMaximum(max(100, area // 20, self.min_size.value()))
        self.refresh()

    def clear_prediction(self, note: str = "") -> None:
        self.image = self.probs = self.labels = None
        self.count = None
        self.view.clear()
        self.count_label.setText("–")
        self.note.setText(note)

    def refresh(self) -> None:
        """Apply the options to the probabilities now (the debounce timer calls this)."""
        self._timer.stop()
        if self.probs is None or self.image is None:
            return
        self.labels = find_objects(self.probs, self.options(), self.task)
        self.count = count_objects(self.labels)
        self.view.set_arrays(self.image, self.labels)
        self.count_label.setText(f"{self.count} object{'s' if self.count != 1 else ''}")
        self.note.setText("Found in this image with these options; 'Predict' uses them for every image.")
