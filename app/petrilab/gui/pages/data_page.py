"""Step 2: the image folder, checked in the background and summarised in plain words.

Segmentation folders (images/ + masks/) get their own summary rows (masks,
mask values, objects and their sizes, training patches) and a gallery of
image/mask pairs with the mask drawn on each image.
The page's cards live beside it: data_folder_card.py (the folders), data_summary.py
(what is in them), data_findings.py (what the check found and the settings it suggests).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from petrilab.errors import UserError
from petrilab.gui import dataset_state
from petrilab.gui.check_job import check_folders, pairing_of
from petrilab.gui.context import AppContext
from petrilab.gui.dataset_state import CheckedData, data_key
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.pages.data_findings import FindingsCard, ProposalsCard, html
from petrilab.gui.pages.data_folder_card import FolderCard
from petrilab.gui.pages.data_summary import SummaryCard
from petrilab.gui.tasks import panel
from petrilab.gui.widgets import theme
from petrilab.gui.widgets.card import card
from petrilab.gui.widgets.thumbnail_grid import ThumbnailGrid
from petrilab.gui.workers import Background, load_thumbnails
from petrilab.tasks import MASK_TASKS as SEGMENTATION_TASKS

THUMBNAILS_PER_CLASS = 12
THUMBNAIL_SIZE = 64
SUGGESTIONS = " · "  # between the check's status and the count of suggestions still to apply


class DataPage(WizardPage):
    key = "data"
    title = "Data"

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.checked: CheckedData | None = None
        self.pairing = None  # segmentation: how images and masks pair up (check_job.pairing_of)
        self.error: UserError | None = None
        self.checking = False
        self._checking_key: tuple | None = None  # the folders being checked now
        self._error_key: tuple | None = None  # the folders whose check failed
        self._applied_here = False  # the user applied a proposal for this check
        self.check_job = Background(self)
        self.thumbnail_job = Background(self)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(12)
        self.folder_card = FolderCard(context)
        self.folder_card.recheck_requested.connect(lambda: self.start_check(force=True))
        self.folder_edit = self.folder_card.folder_edit
        self.folder_note = self.folder_card.folder_note
        outer.addWidget(self.folder_card)

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
        self.proposals_card = ProposalsCard()
        self.proposals_card.apply_requested.connect(self.apply)
        self.proposals_card.apply_all_requested.connect(self.apply_all)
        outer.addWidget(self.proposals_card)

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
        self.findings_card = FindingsCard()
        left.addWidget(self.findings_card)  # problems first: they decide whether one can go on
        self.summary_card = SummaryCard(context)
        self.chart = self.summary_card.chart
        self.values_panel = self.summary_card.values_panel
        self.summary_fields = self.summary_card.fields
        self.summary_title = self.summary_card.heading
        left.addWidget(self.summary_card)
        left.addStretch(1)
        columns.addLayout(left, 11)
        right = QVBoxLayout()
        examples, examples_layout = card("Examples")
        self.examples_title = examples_layout.itemAt(0).widget()
        self.thumbnails = ThumbnailGrid(THUMBNAIL_SIZE, columns=6)
        examples_layout.addWidget(self.thumbnails)
        self.pairs_gallery = panel("examples")()  # segmentation: image/mask pairs, the mask drawn on the image
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

    # ------------------------------------------------------------ user actions

    def set_folder(self, folder: str | Path) -> None:
        self.folder_card.set_folder(folder)

    def set_test_folder(self, folder: str | Path) -> None:
        self.folder_card.set_test_folder(folder)

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
        self.folder_card.enter()
        self.start_check()

    def _settings_changed(self) -> None:
        self.folder_card.settings_changed()
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
        self.check_job.start(check_folders, key, copy.deepcopy(self.context.settings),
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
        """The gallery of image/mask pairs (the family's examples widget chooses which)."""
        self.pairs_gallery.show_dataset(dataset)
        self._show_state()

    # ------------------------------------------------------------ showing

    def _show_state(self) -> None:
        self.progress_bar.setVisible(self.checking)
        self.status.setVisible(True)
        self.error_card.setVisible(self.error is not None)
        if self.error is not None:
            text = f"<p>{html(self.error.message)}</p>"
            if self.error.fix:
                text += f"<p><b>What to do:</b> {html(self.error.fix)}</p>"
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
        self.summary_card.show_segmentation_rows(segmentation)
        self.results.setVisible(has_report or bool(self.thumbnails.slots) or bool(self.pairs_gallery.pairs))
        self.findings_card.setVisible(has_report)
        self.summary_card.setVisible(has_report)
        if not has_report:
            self.proposals_card.setVisible(False)

    def _show_report(self, checked: CheckedData) -> None:
        report = checked.report
        words = "ready to train" if report.ok else "has problems to fix first"
        pairing = (self.pairing or pairing_of(checked.dataset)) if report.task in SEGMENTATION_TASKS else None
        self.status.setText(self.summary_card.show_report(checked, pairing, words))
        if pairing is not None:
            self.pairs_gallery.set_classes(report.classes)  # the legend names them; 3+ classes keep their colours
        self.findings_card.show_findings(report, checked.test_report)
        self._show_proposals()

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
        pending = self.proposals_card.show_proposals(self._proposals(), self.context.settings)
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
