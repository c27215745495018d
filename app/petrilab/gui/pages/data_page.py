"""Step 2: the image folder, checked in the background and summarised in plain words.

Segmentation folders (images/ + masks/) get their own summary rows (masks,
mask values, objects and their sizes, training patches) and a gallery of
image/mask pairs with the mask drawn on each image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (QFileDialog, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QStyle, QVBoxLayout, QWidget)

from petrilab import help as help_texts
from petrilab.data.check import FEW_PER_CLASS, MIN_PER_CLASS, DatasetReport
from petrilab.data.masks import SEGMENTATION_TASKS
from petrilab.errors import UserError
from petrilab.settings import get_value
from petrilab.gui import dataset_state
from petrilab.gui.context import AppContext
from petrilab.gui.data_folder import meant_folder
from petrilab.gui.dataset_state import CheckedData, data_key
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.check_job import check_folders, pairing_of
from petrilab.gui.widgets import theme
from petrilab.gui.widgets import seg_summary
from petrilab.gui.widgets.bar_chart import ClassBarChart
from petrilab.gui.widgets.seg_gallery import MAX_PAIRS, SegmentationGallery, spread
from petrilab.gui.widgets.thumbnail_grid import ThumbnailGrid
from petrilab.gui.widgets.value_columns import ValuesPanel, contents_words, is_table_task
from petrilab.gui.workers import Background, load_thumbnails
from petrilab.tasks import TASKS

THUMBNAILS_PER_CLASS = 12
THUMBNAIL_SIZE = 64
SEGMENTATION_ROWS = ("Masks", "Mask values", "Objects", "Object sizes", "Training patches")
# segmentation: pairs without a mask come first in the gallery (up to this many), so the user sees them
PROBLEM_PAIRS_FIRST = 6
SUGGESTIONS = " · "  # between the check's status and the count of suggestions still to apply


def card(title: str) -> tuple[QFrame, QVBoxLayout]:
    """A white panel with a heading; returns it and the layout to fill."""
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(14, 12, 14, 12)
    layout.setSpacing(8)
    heading = QLabel(title)
    heading.setObjectName("sectionTitle")
    layout.addWidget(heading)
    return frame, layout


def describe_value(key: str, value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if key in ("data.image_size", "data.patch_size"):
        return f"{value[0]} × {value[1]} pixels" if value else "from the data"
    if key == "data.classes":
        return ", ".join(f"{i} = {name}" for i, name in enumerate(value)) if value else "from the data"
    if key == "data.channels":
        return {0: "automatic", 1: "1 (grey)", 3: "3 (RGB)"}.get(value, str(value))
    return str(value)


class DataPage(WizardPage):
    key = "data"
    title = "Data"

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.checked: CheckedData | None = None
        self.pairing: seg_summary.Pairing | None = None  # segmentation: how images and masks pair up
        self.error: UserError | None = None
        self.checking = False
        self._checking_key: tuple | None = None  # the folders being checked now
        self._error_key: tuple | None = None  # the folders whose check failed
        self._applied_here = False  # the user applied a proposal for this check
        self._noted: tuple | None = None  # (key, folder) the folder note speaks of
        self.check_job = Background(self)
        self.thumbnail_job = Background(self)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(12)
        outer.addWidget(self._folder_card())

        self.status = QLabel()
        self.status.setObjectName("muted")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setFixedHeight(8)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status)
        status_row.addWidget(self.progress_bar)
        status_row.addStretch(1)
        outer.addLayout(status_row)
        # pending suggestions at the top, beside the status: "ready to train" must not hide "use 32 × 32"
        outer.addWidget(self._proposals_card())

        self.error_card, error_layout = card("This folder cannot be used yet")
        self.error_card.setStyleSheet(f"QFrame#card {{ border-color: {theme.LEVEL_COLOURS['error']}; }}")
        self.error_text = QLabel()
        self.error_text.setWordWrap(True)
        self.error_text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        error_layout.addWidget(self.error_text)
        outer.addWidget(self.error_card)

        self.results = QWidget()
        columns = QHBoxLayout(self.results)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.setSpacing(12)
        left = QVBoxLayout()
        left.setSpacing(12)
        left.addWidget(self._findings_card())  # problems first: they decide whether one can go on
        left.addWidget(self._summary_card())
        left.addStretch(1)
        columns.addLayout(left, 11)
        right = QVBoxLayout()
        examples, examples_layout = card("Examples")
        self.examples_title = examples_layout.itemAt(0).widget()
        self.thumbnails = ThumbnailGrid(THUMBNAIL_SIZE, columns=6)
        examples_layout.addWidget(self.thumbnails)
        self.pairs_gallery = SegmentationGallery()  # segmentation: image/mask pairs, the mask drawn on the image
        self.pairs_gallery.hide()
        examples_layout.addWidget(self.pairs_gallery)
        examples_layout.addStretch(1)
        right.addWidget(examples)
        right.addStretch(1)
        columns.addLayout(right, 9)
        outer.addWidget(self.results)
        outer.addStretch(1)

        context.settings_changed.connect(self._settings_changed)
        self._show_state()

    # ------------------------------------------------------------ building

    def _folder_card(self) -> QFrame:
        frame, layout = card("Where are your images?")
        task = TASKS[self.context.settings.task.kind]
        self.layout_hint = QLabel(f"Expected layout: {task.layout}")
        self.layout_hint.setObjectName("muted")
        self.layout_hint.setWordWrap(True)
        layout.addWidget(self.layout_hint)
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
        self.recheck_button.clicked.connect(lambda: self.start_check(force=True))
        grid.addWidget(QLabel(help_texts.label("data.folder")), 0, 0)
        grid.addWidget(self.folder_edit, 0, 1)
        grid.addWidget(choose, 0, 2)
        grid.addWidget(self.recheck_button, 0, 3)
        grid.addWidget(QLabel(help_texts.label("data.test_folder")), 1, 0)
        grid.addWidget(self.test_edit, 1, 1)
        grid.addWidget(choose_test, 1, 2)
        grid.addWidget(clear_test, 1, 3)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        self.folder_note = QLabel()  # e.g. the 'images' folder itself was chosen: the folder above is used
        self.folder_note.setObjectName("muted")
        self.folder_note.setWordWrap(True)
        self.folder_note.hide()
        layout.addWidget(self.folder_note)
        return frame

    def _summary_card(self) -> QFrame:
        frame, layout = card("Images per class")
        self.summary_card = frame
        self.summary_title = layout.itemAt(0).widget()
        self.chart = ClassBarChart()
        self.chart.setFixedHeight(190)
        layout.addWidget(self.chart)
        self.values_panel = ValuesPanel(self.context)  # regression and multi-label: their values, not classes
        self.values_panel.hide()
        layout.addWidget(self.values_panel)
        # a grid, not a QFormLayout: its rows grow with wrapped text instead of clipping the second line
        form = QGridLayout()
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(4)
        form.setColumnStretch(1, 1)
        self.summary_fields: dict[str, QLabel] = {}
        self.summary_names: dict[str, QLabel] = {}
        for row, name in enumerate(("Images", *SEGMENTATION_ROWS, "Image sizes", "Channels", "Bit depth",
                                    "Test folder")):
            title = QLabel(f"{name}:")
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            form.addWidget(title, row, 0, Qt.AlignTop | Qt.AlignLeft)
            form.addWidget(value, row, 1, Qt.AlignTop)
            self.summary_fields[name] = value
            self.summary_names[name] = title
        self.summary_form = form
        layout.addLayout(form)
        return frame

    def _findings_card(self) -> QFrame:
        frame, layout = card("What the check found")
        self.findings_layout = QVBoxLayout()
        self.findings_layout.setSpacing(8)
        layout.addLayout(self.findings_layout)
        self.findings_card = frame
        self.finding_rows: list[QWidget] = []
        return frame

    def _proposals_card(self) -> QFrame:
        frame, layout = card("Suggested settings")
        note = QLabel("Safe changes for this data. Apply them one by one, or all at once.")
        note.setObjectName("muted")
        note.setWordWrap(True)
        self.apply_all_button = QPushButton("Apply all")
        self.apply_all_button.clicked.connect(self.apply_all)
        top = QHBoxLayout()  # Apply all beside the note: the card stays short at the top of the page
        top.addWidget(note, 1)
        top.addWidget(self.apply_all_button)
        layout.addLayout(top)
        self.proposals_layout = QVBoxLayout()
        self.proposals_layout.setSpacing(6)
        layout.addLayout(self.proposals_layout)
        self.proposals_card = frame
        self.proposal_rows: list[QWidget] = []
        self.apply_buttons: dict[str, QPushButton] = {}
        return frame

    # ------------------------------------------------------------ user actions

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

    def apply(self, key: str) -> None:
        if self.checked is None or key not in self.checked.report.proposals:
            return
        self._applied_here = True  # keep the card, so the user sees what changed
        self.context.set_value(key, self.checked.report.proposals[key])
        self._show_proposals()

    def apply_all(self) -> None:
        if self.checked is None:
            return
        self._applied_here = True
        for key, value in self._proposals().items():
            self.context.set_value(key, value)
        self._show_proposals()

    # ------------------------------------------------------------ checking

    def enter(self) -> None:
        d = self.context.settings.data
        self.layout_hint.setText(f"Expected layout: {TASKS[self.context.settings.task.kind].layout}")
        kind = self.context.settings.task.kind
        self.folder_edit.setPlaceholderText("Choose the folder that holds images/ and the table"
                                            if is_table_task(kind) else
                                            "Choose the folder that holds images/ and masks/"
                                            if kind in SEGMENTATION_TASKS
                                            else "Choose the folder with one sub-folder per class")
        if self.folder_edit.text() != d.folder:
            self.folder_edit.setText(d.folder)
        if self.test_edit.text() != d.test_folder:
            self.test_edit.setText(d.test_folder)
        self.start_check()

    def _settings_changed(self) -> None:
        d = self.context.settings.data
        if self._noted and getattr(d, self._noted[0].split(".")[1]) != self._noted[1]:
            self._noted = None  # another folder (or another experiment): the note is about the old one
            self.folder_note.hide()
        if self.folder_edit.text() != d.folder:
            self.folder_edit.setText(d.folder)
        if self.test_edit.text() != d.test_folder:
            self.test_edit.setText(d.test_folder)
        if self.checked is not None and self.checked.key == data_key(self.context.settings):
            self._show_proposals()  # a proposal may have been applied elsewhere
        self.start_check()

    def start_check(self, force: bool = False) -> None:
        """Check the folder in the background, unless it was already checked with these settings."""
        key = data_key(self.context.settings)
        if not force and (key == self._checking_key
                          or (self.checked is not None and self.checked.key == key)
                          or (self.error is not None and self._error_key == key)):
            return
        d = self.context.settings.data
        self.checked = None
        self.error = None
        self._applied_here = False
        dataset_state.remember(self.context, None)
        self.thumbnail_job.cancel()
        self.thumbnails.clear()
        self.pairs_gallery.clear()
        self.pairing = None
        if not d.folder:
            self.check_job.cancel()
            self.checking = False
            self._checking_key = None
            self._show_state()
            return
        self.checking = True
        self._checking_key = key
        self.status.setText("Looking at the folder…")
        self.progress_bar.setRange(0, 0)
        self._show_state()
        names = d.target_columns if is_table_task(key[0]) else d.classes
        self.check_job.start(check_folders, key, key[0], d.folder, d.test_folder, list(names),
                             on_progress=self._check_progress, on_done=self._check_done,
                             on_failed=self._check_failed)

    def _check_progress(self, item) -> None:
        if item[0] == "discovered":
            self._start_thumbnails(item[1])
            self.status.setText(f"Reading {len(item[1].samples)} images…")
        elif item[0] == "pairing":
            self.pairing = item[1]
        elif item[0] == "progress":
            _, i, total = item
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(i)
            self.status.setText(f"Reading image {i} of {total}…")

    def _check_done(self, checked: CheckedData | None) -> None:
        if checked is None:
            return
        self.checking = False
        self._checking_key = None
        self.checked = checked
        dataset_state.remember(self.context, checked)
        self._show_state()
        self.validity_changed.emit()

    def _check_failed(self, error: UserError) -> None:
        self.checking = False
        self._error_key = self._checking_key
        self._checking_key = None
        self.error = error
        self.thumbnail_job.cancel()
        self.thumbnails.clear()
        self.pairs_gallery.clear()
        self._show_state()
        self.validity_changed.emit()

    def _start_thumbnails(self, dataset) -> None:
        if dataset.task in SEGMENTATION_TASKS:
            self._start_pairs(dataset)
            return
        per_class: dict[str, list[str]] = {}
        totals: dict[str, int] = {}
        labels = dataset.labels()
        for index, name in enumerate(dataset.classes):
            members = np.flatnonzero(labels == index)
            totals[name] = len(members)
            if len(members) > THUMBNAILS_PER_CLASS:  # spread over the class, not just the first files
                members = members[np.linspace(0, len(members) - 1, THUMBNAILS_PER_CLASS).astype(int)]
            per_class[name] = [str(dataset.samples[i].path) for i in members]
        self.thumbnails.prepare(per_class, totals)
        items = [(name, path) for name, paths in per_class.items() for path in paths]
        self.thumbnail_job.start(load_thumbnails, items, THUMBNAIL_SIZE,
                                 on_progress=lambda item: self.thumbnails.set_thumbnail(*item))
        self._show_state()

    def _start_pairs(self, dataset) -> None:
        """The gallery of image/mask pairs: images without a mask first, then pairs spread over the folder."""
        samples = dataset.samples
        without = [i for i, s in enumerate(samples) if s.mask is None][:PROBLEM_PAIRS_FIRST]
        rest = [i for i in range(len(samples)) if i not in set(without)]
        chosen = without + [rest[i] for i in spread(len(rest), MAX_PAIRS - len(without))]
        pairs = [(str(samples[i].path), str(samples[i].mask) if samples[i].mask else None) for i in chosen]
        self.pairs_gallery.show_pairs(dataset.task, pairs, len(samples))
        self._show_state()

    # ------------------------------------------------------------ showing

    def _show_state(self) -> None:
        self.progress_bar.setVisible(self.checking)
        self.status.setVisible(True)
        self.error_card.setVisible(self.error is not None)
        if self.error is not None:
            text = f"<p>{_html(self.error.message)}</p>"
            if self.error.fix:
                text += f"<p><b>What to do:</b> {_html(self.error.fix)}</p>"
            self.error_text.setText(text)
            self.status.setVisible(False)
        if not self.context.settings.data.folder:
            self.status.setText("Choose a folder to see what is in it.")
        if self.checked is not None:
            self._show_report(self.checked)
        # the examples show up as soon as the folder is listed; the report once every image is read
        has_report = self.checked is not None
        segmentation = self.context.settings.task.kind in SEGMENTATION_TASKS
        self.thumbnails.setVisible(not segmentation)
        self.pairs_gallery.setVisible(segmentation)
        self.examples_title.setText("Images with their masks" if segmentation else "Examples")
        for name in SEGMENTATION_ROWS:
            self.summary_fields[name].setVisible(segmentation)
            self.summary_names[name].setVisible(segmentation)
        self.results.setVisible(has_report or bool(self.thumbnails.slots) or bool(self.pairs_gallery.pairs))
        self.findings_card.setVisible(has_report)
        self.summary_card.setVisible(has_report)
        if not has_report:
            self.proposals_card.setVisible(False)

    def _show_report(self, checked: CheckedData) -> None:
        report = checked.report
        words = "ready to train" if report.ok else "has problems to fix first"
        self.status.setText(f"Checked {report.n_images} images in {len(report.classes)} classes — {words}.")
        counts = [report.counts.get(c, 0) for c in report.classes]
        colours = [theme.LEVEL_COLOURS["error"] if n < MIN_PER_CLASS else
                   theme.LEVEL_COLOURS["warning"] if n < FEW_PER_CLASS else theme.ACCENT for n in counts]
        self.chart.set_counts(report.classes, counts, colours)
        f = self.summary_fields
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
        self.summary_title.setText("Values per image" if table else "Images per class")
        if table:
            self.status.setText(f"Checked {report.n_images} images with {contents_words(report)} — {words}.")
            f["Images"].setText(f"{report.n_images} with {contents_words(report)}"
                                + (f" · {', '.join(extra)}" if extra else ""))
            if checked.test_report is not None:
                f["Test folder"].setText(f"{checked.test_report.n_images} images")
        if report.task in SEGMENTATION_TASKS:
            self._show_segmentation(checked, extra, words)
        self._show_findings(report, checked.test_report)
        self._show_proposals()

    def _show_segmentation(self, checked: CheckedData, extra: list[str], words: str) -> None:
        """The summary in mask words: pairs, what the mask values mean, objects and their sizes."""
        report = checked.report
        pairing = self.pairing or pairing_of(checked.dataset)
        self.chart.setVisible(False)
        self.summary_title.setText("Images and masks")
        self.status.setText(f"Checked {report.n_images} image/mask pairs — {words}.")
        f = self.summary_fields
        f["Images"].setText(f"{report.n_images} with a usable mask, of {pairing.images} in 'images'"
                            + (f" · {', '.join(extra)}" if extra else ""))
        bad = pairing.missing or pairing.mismatched
        f["Masks"].setText(seg_summary.masks_words(pairing))
        f["Masks"].setStyleSheet(f"color: {theme.LEVEL_COLOURS['error']};" if bad else "")
        f["Mask values"].setText(seg_summary.values_words(report))
        f["Objects"].setText(seg_summary.objects_words(report))
        f["Object sizes"].setText(seg_summary.sizes_words(report))
        s = self.context.settings
        f["Training patches"].setText(seg_summary.patch_words(s.data.patch_size,
                                                              report.proposals.get("data.patch_size"),
                                                              s.model.filters))
        if checked.test_report is not None:
            t = checked.test_report
            f["Test folder"].setText(f"{t.n_images} image/mask pairs")
        self.pairs_gallery.set_classes(report.classes)  # the legend names them; 3+ classes keep their colours

    def _show_findings(self, report: DatasetReport, test_report: DatasetReport | None) -> None:
        for row in self.finding_rows:
            self.findings_layout.removeWidget(row)
            row.deleteLater()
        self.finding_rows = []
        findings = [(f, "") for f in report.findings]
        if test_report is not None:
            findings += [(f, "Test folder: ") for f in test_report.findings]
        order = {"error": 0, "warning": 1, "info": 2}
        findings.sort(key=lambda pair: order.get(pair[0].level, 3))
        if not findings:
            what = ("every image has its values" if is_table_task(report.task)
                    else "every image has its mask, of the same size" if report.task in SEGMENTATION_TASKS
                    else "the classes are balanced enough")
            findings_row = _finding_row(self, "ok", f"No problems found: {what}, and all images can be read.", None)
            self.findings_layout.addWidget(findings_row)
            self.finding_rows.append(findings_row)
        for finding, prefix in findings:
            row = _finding_row(self, finding.level, prefix + finding.message, finding.fix)
            self.findings_layout.addWidget(row)
            self.finding_rows.append(row)

    def _proposals(self) -> dict:
        """The check's proposals worth a click: a patch size left 'from the data' already becomes the
        proposed one (the summary's 'Training patches' row says which), so it is not proposed again."""
        if self.checked is None:
            return {}
        proposals = dict(self.checked.report.proposals)
        if not self.context.settings.data.patch_size:
            proposals.pop("data.patch_size", None)
        return proposals

    def _show_proposals(self) -> None:
        for row in self.proposal_rows:
            self.proposals_layout.removeWidget(row)
            row.deleteLater()
        self.proposal_rows = []
        self.apply_buttons = {}
        proposals = self._proposals()
        pending = 0
        for key, value in proposals.items():
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            current = self.context.settings
            done = get_value(current, key) == value
            text = QLabel(f"<b>{help_texts.label(key)}</b>: {describe_value(key, value)}"
                          + ("" if done else f" <span style='color:{theme.MUTED}'>(now "
                             f"{describe_value(key, get_value(current, key))})</span>"))
            text.setToolTip(help_texts.explanation(key))
            text.setWordWrap(True)
            button = QPushButton("Applied" if done else "Apply")
            button.setEnabled(not done)
            button.clicked.connect(lambda _c=False, key=key: self.apply(key))
            h.addWidget(text, 1)
            h.addWidget(button)
            self.proposals_layout.addWidget(row)
            self.proposal_rows.append(row)
            self.apply_buttons[key] = button
            pending += not done
        self.apply_all_button.setEnabled(pending > 0)
        self.proposals_card.setVisible(pending > 0 or self._applied_here)  # nothing to suggest: no card
        status = self.status.text().split(SUGGESTIONS)[0].rstrip(".")
        if pending:
            status += f"{SUGGESTIONS}{pending} suggestion{'s' if pending > 1 else ''} to apply, just below"
        self.status.setText(status + ".")

    # ------------------------------------------------------------ the contract

    def problem(self) -> str | None:
        if not self.context.settings.data.folder:
            return "Choose the folder with your images."
        if self.checking or (self.checked is None and self.error is None):
            return "Checking the images…"
        if self.error is not None:
            return "This folder cannot be used: " + self.error.message
        errors = [f for f in self.checked.report.findings if f.level == "error"]
        if self.checked.test_report is not None:
            errors += [f for f in self.checked.test_report.findings if f.level == "error"]
        if errors:
            return "Fix the problems the check found: " + errors[0].message
        return None

    def shutdown(self) -> None:
        self.check_job.cancel()
        self.thumbnail_job.cancel()
        self.pairs_gallery.shutdown()


# ---------------------------------------------------------------- small helpers


def _finding_row(page: QWidget, level: str, message: str, fix: str | None) -> QWidget:
    icons = {"error": QStyle.SP_MessageBoxCritical, "warning": QStyle.SP_MessageBoxWarning,
             "info": QStyle.SP_MessageBoxInformation, "ok": QStyle.SP_DialogApplyButton}
    row = QWidget()
    row.setProperty("level", level)
    h = QHBoxLayout(row)
    h.setContentsMargins(0, 0, 0, 0)
    h.setSpacing(10)
    icon = QLabel()
    icon.setPixmap(page.style().standardIcon(icons.get(level, QStyle.SP_MessageBoxInformation)).pixmap(QSize(18, 18)))
    icon.setAlignment(Qt.AlignTop)
    icon.setFixedWidth(20)
    text = f"<span>{_html(message)}</span>"
    if fix:
        text += f"<br><span style='color:{theme.MUTED}'>What to do: {_html(fix)}</span>"
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    h.addWidget(icon)
    h.addWidget(label, 1)
    return row


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
