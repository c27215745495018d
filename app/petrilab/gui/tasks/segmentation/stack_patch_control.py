"""The control for data.stack_patch_size: "from the data" (an empty list) or planes × height × width, and beside
it what training on such blocks needs in memory.

Writes exactly data.stack_patch_size through the SettingControl contract: [] when "from the data" is ticked,
else [z, y, x]. `set_resolved` shows what "from the data" becomes for the checked stacks
(tasks/segmentation/stack_blocks.py, the rule the training follows). `show_memory` shows the model helper's
estimate (models/describe.training_memory: the network, its activations for a batch of blocks, the
optimiser; the trainer's own estimate) plus the stacks held in memory, and warns in plain words when that
is more than this computer has free.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from petrilab import help as help_texts
from petrilab.gui.widgets import theme
from petrilab.gui.widgets.setting_controls import SettingControl
from petrilab.settings import RANGES
from petrilab.tasks.segmentation.stack_blocks import DEFAULT_STACK_PATCH

KEY = "data.stack_patch_size"
SIDES = (("planes", 1), ("px", 16), ("px", 16))  # (unit, step) of z, y, x


def size_words(n_bytes: float) -> str:
    """Bytes as a biologist reads them: '350 MB', '2.4 GB'."""
    mb = n_bytes / 1024 ** 2
    if mb < 1024:
        return f"{max(1, round(mb)):,} MB"
    return f"{mb / 1024:.1f} GB"


def stacks_bytes(sizes: dict, channels: int) -> int:
    """The training stacks as held in memory: float32 voxels per channel and an integer label per voxel.
    `sizes`: the data check's "z × y × x" → number of stacks of that size."""
    from petrilab.tasks.segmentation.stack_blocks import stack_shapes

    voxels = sum(z * y * x * int(n) for (z, y, x), n in zip(stack_shapes(sizes), sizes.values()))
    return voxels * (4 * max(1, int(channels)) + 4)


def memory_words(memory: dict | None, data: int = 0) -> tuple[str, bool]:
    """(the estimate in words, whether it is more than the computer has free) from the helper's answer."""
    if not memory:
        return "", False
    needed = int(memory["needed"]) + int(data)
    block = " × ".join(str(n) for n in memory["block"])
    parts = f"the network and a batch of {memory['batch']} blocks of {block} voxels"
    if data:
        parts += f": {size_words(memory['needed'])}; the stacks: {size_words(data)}"
    text = f"Training needs about {size_words(needed)} ({parts}); {size_words(memory['available'])} is free."
    too_much = needed > int(memory["available"])
    if too_much:
        text = (f"Training needs about {size_words(needed)} ({parts}), more than the "
                f"{size_words(memory['available'])} this computer has free: it may run out of memory. Choose "
                "smaller blocks, a smaller batch size, or fewer filters.")
    return text, too_much


def stack_facts(settings, checked) -> dict | None:
    """For a dataset of z-stacks (the check's finding, else the settings'): {"resolved": the block "from the
    data" gives (None before a check), "block": the block training will use, "data": the stacks' bytes in
    memory}; None for 2-D images."""
    from petrilab.data.anisotropy import anisotropy_of, size_multiples
    from petrilab.tasks.segmentation.stack_blocks import stack_patch_size_for, stack_shapes

    report = checked.report if checked is not None else None
    if (report.dimensions if report is not None else settings.data.dimensions) != "3d":
        return None
    voxel = settings.data.voxel_size or (report.voxel if report is not None else None)
    multiples = size_multiples(len(settings.model.filters), anisotropy_of(voxel))
    shapes = stack_shapes(report.sizes) if report is not None else []
    resolved = list(stack_patch_size_for([], shapes, multiples)) if shapes else None
    requested = list(settings.data.stack_patch_size)
    block = list(stack_patch_size_for(requested, shapes, multiples)) if requested else resolved
    data = stacks_bytes(report.sizes, checked.input_shape(settings)[-1]) if report is not None else 0
    return {"resolved": resolved, "block": block, "data": data, "voxel": list(voxel) if voxel else []}


def as_trained(settings, facts: dict | None):
    """The settings as training will complete them for stacks: data.voxel_size the stacks' own when unset (the
    3-D U-Net's kernels and poolings follow it), so the helper describes the network training will build."""
    if not facts or settings.data.voxel_size or not facts["voxel"]:
        return settings
    import copy

    completed = copy.deepcopy(settings)
    completed.data.voxel_size = [float(v) for v in facts["voxel"]]
    return completed


class StackPatchSizeControl(SettingControl):
    def __init__(self):
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.from_data = QCheckBox("from the data")
        self.spins, self.times = [], []
        row.addWidget(self.from_data)
        for i, ((unit, step), default) in enumerate(zip(SIDES, DEFAULT_STACK_PATCH)):
            spin = QSpinBox()
            spin.setRange(*RANGES[KEY])
            spin.setSingleStep(step)
            spin.setKeyboardTracking(False)
            spin.setSuffix(f" {unit}")
            spin.setMinimumWidth(84 if i else 96)
            spin.setValue(default)
            spin.valueChanged.connect(self._sizes)
            if i:
                self.times.append(QLabel("×"))
                row.addWidget(self.times[-1])
            row.addWidget(spin)
            self.spins.append(spin)
        self.resolved = QLabel()
        self.resolved.setObjectName("muted")
        row.addWidget(self.resolved)
        row.addStretch(1)
        self.memory = QLabel()  # the estimate, under the sizes
        self.memory.setObjectName("muted")
        self.memory.setWordWrap(True)
        self.memory.hide()
        column.addLayout(row)
        column.addWidget(self.memory)
        super().__init__(KEY, box, self.from_data)
        tip = help_texts.explanation(KEY)
        for w in (box, self.from_data, *self.spins):
            w.setToolTip(tip)
        self.from_data.toggled.connect(self._toggled)
        self._resolved: list[int] | None = None
        self.too_much = False  # the last estimate is more than the free memory
        self._show_enabled()

    def value(self) -> list[int]:
        return [int(spin.value()) for spin in self.spins]

    def _toggled(self, checked: bool) -> None:
        self._show_enabled()
        self._emit([] if checked else self.value())

    def _sizes(self, _value) -> None:
        if not self.from_data.isChecked():
            self._emit(self.value())

    def _set_spins(self, sides) -> None:
        for spin, n in zip(self.spins, sides):
            spin.blockSignals(True)
            spin.setValue(int(n))
            spin.blockSignals(False)

    def _show(self, value) -> None:
        value = list(value or [])
        self.from_data.setChecked(not value)
        if value:
            self._set_spins(value)
        elif self._resolved:  # unticking then starts from what the data gave
            self._set_spins(self._resolved)
        self._show_enabled()

    def set_resolved(self, block: list[int] | None) -> None:
        """What 'from the data' is for the checked stacks (None: not known yet)."""
        self._resolved = list(block) if block else None
        if self._resolved and self.from_data.isChecked():
            self._set_spins(self._resolved)
        self._show_enabled()

    def show_memory(self, memory: dict | None, data: int = 0) -> None:
        """The helper's estimate for the current block and batch, with the stacks' own `data` bytes."""
        text, self.too_much = memory_words(memory, data)
        self.memory.setText(("⚠ " if self.too_much else "") + text)
        self.memory.setObjectName("problem" if self.too_much else "muted")
        self.memory.setStyleSheet(f"color: {theme.LEVEL_COLOURS['warning']};" if self.too_much else "")
        self.memory.setVisible(bool(text))

    def _show_enabled(self) -> None:
        automatic = self.from_data.isChecked()
        for w in self.spins + self.times:
            w.setVisible(not automatic or self._resolved is not None)
            w.setEnabled(not automatic)
        self.resolved.setText("(the data page's check decides)" if automatic and not self._resolved else "")
