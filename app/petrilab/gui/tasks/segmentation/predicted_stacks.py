"""Predict page: the predicted z-stacks, one at a time in the stack viewer with the objects found outlined.

A prediction on stacks (a 3-D run, or a 2-D run with `predict --slices`) writes one label stack (or class
mask stack) per input stack and one line per stack in predictions.csv, and no overlay pictures. This panel
offers those stacks: the chosen one's input stack and label stack are read in a background thread (a stack
may be hundreds of megabytes), x and y thinned to the view's size, and shown in the stack viewer. A stack
moved or deleted since the prediction is said in plain words; the other stacks stay browsable.

The input folder is the one the prediction's record (prediction.json) names, else the page's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from petrilab.errors import UserError
from petrilab.gui.widgets.stack_viewer import StackViewer
from petrilab.gui.workers import Background

RECORD = "prediction.json"  # as prediction/results_folder.py names it
LONGEST = 512  # x and y thinned to at most this many pixels for the viewer
STACK_COLUMN = "total_volume_voxels"  # predictions.csv has it for stacks only (measurements3d.stack_summary)


def is_stack_results(columns) -> bool:
    """Whether a predictions.csv's columns are those of predicted stacks (volumes, not areas)."""
    return STACK_COLUMN in columns


def prediction_record(output_dir: Path) -> dict:
    """The prediction's record (the folder and task it predicted); {} when it cannot be read."""
    from petrilab.file_names import from_shown

    try:
        record = json.loads((Path(output_dir) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict):
        return {}
    if isinstance(record.get("input_folder"), str):
        record["input_folder"] = from_shown(record["input_folder"])
    return record


def read_predicted_stack(stack_path: Path, labels_path: Path, task: str, longest: int = LONGEST) -> dict:
    """The viewer's arrays of one predicted stack: {'stack' (Z, Y, X, 3) uint8, 'labels' (Z, Y, X), 'voxel'}.
    Runs in a background thread; a missing, moved or changed file is a UserError naming it."""
    from petrilab.data.stacks import read_stack
    from petrilab.gui.widgets.stack_viewer import display_stack
    from petrilab.tasks.segmentation.stack_masks import read_stack_mask  # no Keras

    stack_path, labels_path = Path(stack_path), Path(labels_path)
    if not stack_path.is_file():
        raise UserError(f"The stack {stack_path.name} is no longer in {stack_path.parent}: it was moved, renamed "
                        "or deleted since the prediction.", file=stack_path,
                        fix="Put it back, or predict again from the folder it is in now.")
    if not labels_path.is_file():
        raise UserError(f"The predicted objects of {stack_path.name} ({labels_path.name}) are no longer in "
                        f"{labels_path.parent}.", file=labels_path, fix="Predict again to write them anew.")
    stack = read_stack(stack_path)
    labels = read_stack_mask(labels_path, task)
    if labels.shape != stack.pixels.shape[:3]:
        raise UserError(f"{stack_path.name} ({'×'.join(map(str, stack.pixels.shape[:3]))}) and its predicted "
                        f"objects ({'×'.join(map(str, labels.shape))}) differ in size: the stack was replaced "
                        "since the prediction.", file=stack_path, fix="Predict again to see this stack's objects.")
    step = max(1, int(np.ceil(max(labels.shape[1:]) / max(1, longest))))
    voxel = None if stack.voxel is None else (stack.voxel[0], stack.voxel[1] * step, stack.voxel[2] * step)
    return {"stack": display_stack(stack.pixels[:, ::step, ::step]), "labels": labels[:, ::step, ::step],
            "voxel": voxel}


def _count(row: dict) -> str:
    try:
        n = int(float(row.get("count", "")))
    except ValueError:
        return ""
    return f"{n} object{'s' if n != 1 else ''}"


class PredictedStacks(QWidget):
    """A choice of the predicted stacks and the chosen one in the stack viewer, its objects outlined."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows: list[dict] = []
        self.task = ""
        self.input_dir: Path | None = None
        self.output_dir: Path | None = None
        self.problem = ""  # why the chosen stack is not shown ('' when it is, or while it is read)
        self.shown: str | None = None  # the file of the stack the viewer holds
        self.worker = Background(self)
        self.choice = QComboBox()
        self.choice.setMinimumWidth(200)
        self.choice.setToolTip("The predicted stacks: choose one to see its objects.")
        self.choice.currentIndexChanged.connect(self.show_stack)
        self.previous_button = QPushButton("◀ Previous")
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton("Next ▶")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.outlines = QCheckBox("Show outlines")
        self.outlines.setChecked(True)
        self.outlines.setToolTip("Hide them to see the stack itself.")
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        self.viewer = StackViewer(minimum=160)
        self.viewer.setMinimumHeight(300)  # a short window scrolls the page rather than squeeze the planes
        self.outlines.toggled.connect(lambda shown: self.viewer.set_view(overlay_visible=shown))
        top = QHBoxLayout()
        top.addWidget(self.previous_button)
        top.addWidget(self.choice, 1)
        top.addWidget(self.next_button)
        top.addWidget(self.outlines)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.viewer, 1)

    def clear(self) -> None:
        self.worker.cancel()
        self.rows, self.shown, self.problem = [], None, ""
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.blockSignals(False)
        self.viewer.clear()
        self.status.clear()

    def show_rows(self, rows: list[dict], task: str, input_dir: Path | None, output_dir: Path) -> None:
        """The stacks of one prediction (rows of its predictions.csv); the first is shown."""
        self.clear()
        self.output_dir = Path(output_dir)
        record = prediction_record(self.output_dir)  # the page's folder and run may have changed since
        self.task = record.get("task") or task
        self.input_dir = Path(record["input_folder"]) if record.get("input_folder") else input_dir
        self.rows = [r for r in rows if r.get("file") and r.get("mask_file") and not r.get("problem")]
        self.choice.blockSignals(True)
        for row in self.rows:
            count = _count(row)
            self.choice.addItem(row["file"] + (f"  ({count})" if count else ""), row["file"])
        self.choice.blockSignals(False)
        several = len(self.rows) > 1
        self.previous_button.setEnabled(several)
        self.next_button.setEnabled(several)
        if self.rows:
            self.choice.setCurrentIndex(0)
            self.show_stack(0)
        else:
            self.status.setText("No stack of this prediction could be read: the table says why.")

    def step(self, delta: int) -> None:
        if self.rows:
            self.choice.setCurrentIndex((self.choice.currentIndex() + delta) % len(self.rows))

    def show_stack(self, index: int) -> None:
        """Read the chosen stack and its labels in the background; the viewer shows them when read."""
        if not 0 <= index < len(self.rows):
            return
        from petrilab.file_names import from_shown

        row = self.rows[index]
        name = row["file"]
        stack = Path(from_shown(name))
        if not stack.is_absolute() and self.input_dir is not None:
            stack = self.input_dir / stack
        labels = self.output_dir / from_shown(row["mask_file"])
        self.problem = ""
        self.status.setText(f"Reading {Path(name).name}…")
        self.worker.start(read_predicted_stack, stack, labels, self.task,
                          on_done=lambda arrays: self._show(name, row, arrays),
                          on_failed=lambda error: self._failed(name, error))

    @property
    def busy(self) -> bool:
        return self.worker.busy

    def _show(self, name: str, row: dict, arrays: dict) -> None:
        self.shown = name
        self.viewer.set_stack(arrays["stack"], arrays["labels"], arrays["voxel"])
        self.viewer.set_view(overlay_visible=self.outlines.isChecked())
        count = _count(row)
        self.status.setText(f"{Path(name).name}: {count + ' ' if count else ''}outlined on every view. "
                            "Move through the planes with the slider or the wheel; click a plane to place the "
                            "cross-sections.")

    def _failed(self, name: str, error) -> None:
        self.shown = None
        self.viewer.clear()
        message = error.message if isinstance(error, UserError) else str(error)
        fix = getattr(error, "fix", "") or ""
        self.problem = f"{message} {fix}".strip()
        self.status.setText(self.problem)
