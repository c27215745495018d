"""Data page: the summary card of a checked folder: images per class (or values, or masks) and their sizes,
channels and bit depths."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel

from petrilab.data.check import FEW_PER_CLASS, MIN_PER_CLASS
from petrilab.gui.context import AppContext
from petrilab.gui.dataset_state import CheckedData
from petrilab.gui.tasks import panel, panel_of
from petrilab.gui.widgets import theme
from petrilab.gui.widgets.bar_chart import ClassBarChart
from petrilab.gui.widgets.card import Card
from petrilab.tasks import MASK_TASKS as SEGMENTATION_TASKS, RESTORATION_TASKS

SEGMENTATION_ROWS = ("Masks", "Mask values", "Objects", "Object sizes", "Training patches")


class SummaryCard(Card):
    """The counts as a bar chart (or the values panel), and one row of words per property of the images."""

    def __init__(self, context: AppContext):
        super().__init__("Images per class")
        self.context = context
        self.chart = ClassBarChart()
        self.chart.setFixedHeight(190)
        self.body.addWidget(self.chart)
        self.values_panel = panel("values").ValuesPanel(context)  # multi-label, regression: values, not classes
        self.values_panel.hide()
        self.body.addWidget(self.values_panel)
        # a grid, not a QFormLayout: its rows grow with wrapped text instead of clipping the second line
        form = QGridLayout()
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(4)
        form.setColumnStretch(1, 1)
        self.fields: dict[str, QLabel] = {}
        self.names: dict[str, QLabel] = {}
        for row, name in enumerate(("Images", *SEGMENTATION_ROWS, "Image sizes", "Channels", "Bit depth",
                                    "Test folder")):
            title = QLabel(f"{name}:")
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            form.addWidget(title, row, 0, Qt.AlignTop | Qt.AlignLeft)
            form.addWidget(value, row, 1, Qt.AlignTop)
            self.fields[name] = value
            self.names[name] = title
        self.body.addLayout(form)

    def show_segmentation_rows(self, segmentation: bool) -> None:
        for name in SEGMENTATION_ROWS:
            self.fields[name].setVisible(segmentation)
            self.names[name].setVisible(segmentation)

    def show_report(self, checked: CheckedData, pairing, words: str) -> str:
        """Fill the card from the check; returns the status line ('Checked … — `words`.')."""
        report = checked.report
        status = f"Checked {report.n_images} images in {len(report.classes)} classes — {words}."
        counts = [report.counts.get(c, 0) for c in report.classes]
        colours = [theme.LEVEL_COLOURS["error"] if n < MIN_PER_CLASS else
                   theme.LEVEL_COLOURS["warning"] if n < FEW_PER_CLASS else theme.ACCENT for n in counts]
        self.chart.set_counts(report.classes, counts, colours)
        f = self.fields
        extra = []
        if report.unreadable:
            extra.append(f"{len(report.unreadable)} unreadable (left out)")
        if report.skipped:
            extra.append(f"{len(report.skipped)} other files ignored")
        f["Images"].setText(f"{report.n_images} in {len(report.classes)} classes"
                            + (f" · {', '.join(extra)}" if extra else ""))
        f["Image sizes"].setText(_tally(report.sizes, lambda s: s.replace("x", " × ")))
        f["Channels"].setText(_tally(report.channels, _channel_words))
        f["Bit depth"].setText(_tally(report.dtypes, _depth_words))
        if checked.test_report is not None:
            t = checked.test_report
            f["Test folder"].setText(f"{t.n_images} images: " + ", ".join(f"{c} {t.counts.get(c, 0)}"
                                                                          for c in t.classes))
        else:
            f["Test folder"].setText("none — the split keeps a part of the images aside for testing")
        table = self.values_panel.show_report(report)
        self.chart.setVisible(not table)
        self.heading.setText("Values per image" if table else "Images per class")
        if table:
            contents_words = panel("values").contents_words
            status = f"Checked {report.n_images} images with {contents_words(report)} — {words}."
            f["Images"].setText(f"{report.n_images} with {contents_words(report)}"
                                + (f" · {', '.join(extra)}" if extra else ""))
            if checked.test_report is not None:
                f["Test folder"].setText(f"{checked.test_report.n_images} images")
        if report.task in SEGMENTATION_TASKS:
            status = self._show_segmentation(checked, pairing, extra, words)
        if report.task in RESTORATION_TASKS:
            status = self._show_restoration(checked, extra, words)
        return status

    def _show_restoration(self, checked: CheckedData, extra: list[str], words: str) -> str:
        """The summary in restoration's words: noisy images alone (Noise2Void) or with their clean targets."""
        report = checked.report
        self.chart.setVisible(False)
        pairs = any(s.target is not None for s in checked.dataset.samples)
        self.heading.setText("Noisy images and clean targets" if pairs else "Noisy images")
        way = ("with their clean targets: PetriLab can learn from pairs (CARE)" if pairs else
               "alone, no clean targets: PetriLab learns from the noisy images themselves (Noise2Void)")
        self.fields["Images"].setText(f"{report.n_images} {way}" + (f" · {', '.join(extra)}" if extra else ""))
        if checked.test_report is not None:
            self.fields["Test folder"].setText(f"{checked.test_report.n_images} images")
        return f"Checked {report.n_images} {'image pairs' if pairs else 'noisy images'} — {words}."

    def _show_segmentation(self, checked: CheckedData, pairing, extra: list[str], words: str) -> str:
        """The summary in mask words: pairs, what the mask values mean, objects and their sizes."""
        report = checked.report
        mask_words = panel_of(report.task, "summary_words")
        self.chart.setVisible(False)
        self.heading.setText("Images and masks")
        f = self.fields
        f["Images"].setText(f"{report.n_images} with a usable mask, of {pairing.images} in 'images'"
                            + (f" · {', '.join(extra)}" if extra else ""))
        bad = pairing.missing or pairing.mismatched
        f["Masks"].setText(mask_words.masks_words(pairing))
        f["Masks"].setStyleSheet(f"color: {theme.LEVEL_COLOURS['error']};" if bad else "")
        f["Mask values"].setText(mask_words.values_words(report))
        f["Objects"].setText(mask_words.objects_words(report))
        f["Object sizes"].setText(mask_words.sizes_words(report))
        s = self.context.settings
        stacks = panel_of(report.task, "stacks").stack_facts(s, checked)  # z-stacks train on blocks of planes
        f["Training patches"].setText(mask_words.block_words(s.data.stack_patch_size, stacks["block"]) if stacks
                                      else mask_words.patch_words(s.data.patch_size,
                                                                  report.proposals.get("data.patch_size"),
                                                                  s.model.filters))
        if checked.test_report is not None:
            t = checked.test_report
            f["Test folder"].setText(f"{t.n_images} image/mask pairs")
        return f"Checked {report.n_images} image/mask pairs — {words}."


def _tally(counter: dict, words) -> str:
    items = sorted(counter.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{words(k)} ({v})" for k, v in items[:4])
    if len(items) > 4:
        shown += f", and {len(items) - 4} more"
    return shown or "—"


def _channel_words(c) -> str:
    return {1: "grey", 3: "colour (RGB)"}.get(int(c), f"{c} channels")


def _depth_words(dtype: str) -> str:
    return {"uint8": "8-bit", "uint16": "16-bit", "float32": "32-bit float"}.get(dtype, dtype)
