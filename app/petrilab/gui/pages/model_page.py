"""Step 4: the network and how it learns, with its size computed live by the model helper.

The catalogue and the parameter count come from `petrilab describe-model
--serve`, a child process that loads Keras once: the window itself never
imports it, so it starts fast and never freezes while a model is built.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from petrilab import help as help_texts
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui import dataset_state
from petrilab.gui.context import AppContext
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.pages.model_architecture_card import ArchitectureCard
from petrilab.gui.pages.model_settings_tabs import GROUP_NOTES, GROUPS, settings_tab
from petrilab.gui.pages.model_size_card import SizeCard
from petrilab.gui.tasks import panel
from petrilab.gui.widgets.augmentation_question import AugmentationQuestion
from petrilab.gui.widgets.help_panel import HelpBinder, HelpPanel
from petrilab.gui.widgets.setting_controls import SettingControl
from petrilab.gui.workers import Debouncer, ModelDescriber
from petrilab.tasks import TASKS, is_per_pixel

DEBOUNCE_MS = 350


class ModelPage(WizardPage):
    key = "model"
    title = "Model"

    def __init__(self, context: AppContext, parent: QWidget | None = None, describer: ModelDescriber | None = None):
        super().__init__(context, parent)
        self.catalogue: dict[str, dict] | None = None
        self.description: dict | None = None  # the latest answer: total, trainable, layers, warnings
        self.describe_error: str | None = None
        self.helper_note: str | None = None
        self.stacks: dict | None = None  # z-stacks: the block "from the data", the block used, the stacks' bytes
        self._loading = False
        self.describer = describer or ModelDescriber(self)
        self.describer.catalogue.connect(self._catalogue_arrived)
        self.describer.described.connect(self._described)
        self.describer.failed.connect(self._describe_failed)
        self.describer.unavailable.connect(self._helper_unavailable)
        self.describer.busy_changed.connect(self._busy)
        self.debounce = Debouncer(DEBOUNCE_MS, self.request_description, self)

        columns = QHBoxLayout(self)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.setSpacing(14)
        left = QVBoxLayout()
        left.setSpacing(12)
        self.architecture_card = ArchitectureCard()
        self.architecture_card.chosen.connect(self.choose_architecture)
        self.architecture_buttons = self.architecture_card.buttons
        self.architecture_text = self.architecture_card.text
        self.unet_text = self.architecture_card.unet_text
        left.addWidget(self.architecture_card)
        self.help_panel = HelpPanel("Hover over or click a setting to read what it does and when to change it.")
        self.binder = HelpBinder(self.help_panel)
        self.controls: dict[str, SettingControl] = {}
        self.rows: dict[str, tuple[QFormLayout, QWidget]] = {}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(False)
        for title, keys in GROUPS:
            self.tabs.addTab(settings_tab(keys, GROUP_NOTES[title], self.binder, self._control_changed,
                                          self.controls, self.rows), title)
        self._add_patch_row()
        self._add_augmentation_question()
        left.addWidget(self.tabs)
        left.addStretch(1)
        columns.addLayout(left, 1)

        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(12)
        self.help_panel.setMinimumHeight(150)
        right.addWidget(self.help_panel)
        self.size_card = SizeCard()
        self.count_label = self.size_card.count_label
        self.status_label = self.size_card.status_label
        self.layer_table = self.size_card.layer_table
        right.addWidget(self.size_card)
        right.addStretch(1)
        holder = QWidget()
        holder.setLayout(right)
        # narrower on a laptop screen rather than pushing the page past the window's edge
        holder.setMinimumWidth(250)
        holder.setMaximumWidth(370)
        columns.addWidget(holder, 0, Qt.AlignTop)

        context.settings_changed.connect(self._settings_changed)
        self.enter_controls()
        self._show_catalogue()
        self._show_description()

    # ------------------------------------------------------------ building

    def _add_patch_row(self) -> None:
        """Segmentation trains on patches: data.patch_size, in the Input images tab (not in self.controls:
        'from the data' is an empty list, which the generic controls do not offer)."""
        form = self.rows["data.image_size"][0]
        self.patch_control = panel("patch_control")()
        self.patch_control.changed.connect(self._control_changed)
        self.patch_label = QLabel(help_texts.label("data.patch_size") + ":")
        form.insertRow(2, self.patch_label, self.patch_control.widget)  # after the note and the image size
        self.binder.bind(self.patch_control.widget, "data.patch_size", self.patch_label)
        # z-stacks train on blocks instead: planes × height × width, with the memory they need beside
        self.stack_patch_control = panel("stacks").StackPatchSizeControl()
        self.stack_patch_control.changed.connect(self._control_changed)
        self.stack_patch_label = QLabel(help_texts.label("data.stack_patch_size") + ":")
        form.insertRow(3, self.stack_patch_label, self.stack_patch_control.widget)
        self.binder.bind(self.stack_patch_control.widget, "data.stack_patch_size", self.stack_patch_label)

    def _add_augmentation_question(self) -> None:
        """The question with the picture, first in the Augmentation tab (above its settings)."""
        form = self.rows["augmentation.geometric"][0]
        self.augmentation_question = AugmentationQuestion(self)
        self.augmentation_question.changed.connect(self._control_changed)
        form.insertRow(1, self.augmentation_question.widget)
        self._question_image: tuple[str, object] | None = None  # (path, display array): read once per image

    def _show_augmentation_question(self) -> None:
        checked = dataset_state.current(self.context)
        image, name, answer, columns = None, "", "", []
        if checked is not None:
            columns = list(getattr(checked.dataset, "columns", []) or [])
        if checked is not None and checked.usable().samples:
            dataset = checked.usable()
            sample = dataset.samples[0]
            path = str(sample.path)
            if self._question_image is None or self._question_image[0] != path:
                from petrilab.gui.workers import read_for_display

                try:
                    self._question_image = (path, read_for_display(path))
                except (UserError, OSError, ValueError):  # the dataset check names unreadable files
                    self._question_image = (path, None)
            image, name = self._question_image[1], sample.path.name
            classes = list(getattr(dataset, "classes", []) or [])
            task = TASKS[self.context.settings.task.kind]
            if task.answer == "class" and classes:
                answer = classes[int(sample.label)]
            elif task.multi_label:
                answer = ", ".join(self.context.settings.data.target_columns)
        self.augmentation_question.show_for(self.context.settings, image, name, answer, columns)

    def _show_segmentation(self) -> None:
        """The patch size (and what 'from the data' gives) and the U-Net's shape, for segmentation."""
        s = self.context.settings
        checked = dataset_state.current(self.context)
        proposal = checked.report.proposals.get("data.patch_size") if checked is not None else None
        words = panel("summary_words")  # the patch size and the U-Net in the words of the family that has them
        self.patch_control.set_resolved(words.resolved_patch(proposal, s.model.filters))
        self.stacks = panel("stacks").stack_facts(s, checked)  # None for 2-D images
        self.stack_patch_control.set_resolved(self.stacks["resolved"] if self.stacks else None)
        unet = s.model.architecture == "unet"
        self.unet_text.setVisible(unet)
        if unet:
            self.unet_text.setText(words.unet_words(s, proposal))

    # ------------------------------------------------------------ settings ↔ controls

    def enter_controls(self) -> None:
        self._loading = True
        try:
            for key, control in self.controls.items():
                control.show_value(settings_io.get_value(self.context.settings, key))
            self.architecture_card.check(self.context.settings.model.architecture)
            self.patch_control.show_value(self.context.settings.data.patch_size)
            self.stack_patch_control.show_value(self.context.settings.data.stack_patch_size)
            self._show_segmentation()
            self._show_catalogue()  # which networks fit the task, and the chosen one's text, follow the settings
            self._show_augmentation_question()
        finally:
            self._loading = False
        self._show_rows()

    def enter(self) -> None:
        self.enter_controls()
        self.warm_up()
        self.request_description()

    def _settings_changed(self) -> None:
        if self._loading:
            return
        self.enter_controls()
        self.debounce.poke()
        self.validity_changed.emit()

    def _control_changed(self, key: str, value) -> None:
        if self._loading:
            return
        self._loading = True
        try:
            self.context.set_value(key, value)
        except UserError as exc:
            self.status_label.setText(exc.message)
            return
        finally:
            self._loading = False
        if key in ("data.normalisation", "restoration.way"):
            self._show_rows()
        if key in ("augmentation.geometric", "data.target_kinds"):  # asked in two places: both show the answer
            self.enter_controls()
        if key == "model.start_from":
            self._show_catalogue()
        self._show_segmentation()  # the U-Net summary follows its filters, dropout and patch size
        self.debounce.poke()
        self.validity_changed.emit()

    def choose_architecture(self, key: str) -> None:
        if key != self.context.settings.model.architecture:
            self._loading = True
            try:
                self.context.set_value("model.architecture", key)
            finally:
                self._loading = False
        self.architecture_card.check(key)
        self._show_catalogue()
        self._show_segmentation()
        self._show_rows()
        self.debounce.poke()
        self.validity_changed.emit()

    def used_keys(self) -> set[str]:
        """The model.* keys the chosen architecture uses (all of them until the catalogue is known)."""
        arch = self.context.settings.model.architecture
        if self.catalogue and arch in self.catalogue:
            return set(self.catalogue[arch].get("uses", [])) | {"model.start_from"}  # any network can start so
        return {k for k in self.controls if k.startswith("model.")}

    def _show_rows(self) -> None:
        restores = TASKS[self.context.settings.task.kind].restores
        self.tabs.setTabVisible([title for title, _ in GROUPS].index("Restoration"), restores)
        used = self.used_keys()
        percentile = self.context.settings.data.normalisation == "percentile"
        segmentation = is_per_pixel(self.context.settings.task.kind)
        for key, (form, widget) in self.rows.items():
            visible = key in used if key.startswith("model.") else True
            if key in ("data.percentile_low", "data.percentile_high"):
                visible = percentile
            if key == "data.image_size":
                visible = not segmentation  # segmentation keeps every pixel: patches, not resized images
            if key in ("restoration.masked_percent", "restoration.neighbourhood", "restoration.blind_spot_fill",
                       "restoration.blind_spot_network"):
                visible = self.context.settings.restoration.way != "pairs"  # the blind spot: Noise2Void only
            form.setRowVisible(widget, visible)
        form, _ = self.rows["data.image_size"]
        form.setRowVisible(self.patch_control.widget, segmentation and not self.stacks)
        form.setRowVisible(self.stack_patch_control.widget, segmentation and bool(self.stacks))

    def visible_keys(self) -> list[str]:
        used = self.used_keys()
        percentile = self.context.settings.data.normalisation == "percentile"
        keys = []
        for key in self.controls:
            if key.startswith("model.") and key not in used:
                continue
            if key in ("data.percentile_low", "data.percentile_high") and not percentile:
                continue
            if key == "data.image_size" and is_per_pixel(self.context.settings.task.kind):
                continue
            if key.startswith("restoration.") and not TASKS[self.context.settings.task.kind].restores:
                continue
            keys.append(key)
        if is_per_pixel(self.context.settings.task.kind):
            keys.append("data.stack_patch_size" if self.stacks else "data.patch_size")
        return keys

    # ------------------------------------------------------------ the catalogue

    def warm_up(self) -> None:
        """Start the model helper and ask for the catalogue (Keras loads there, in the background)."""
        self.describer.request_catalogue()

    def _catalogue_arrived(self, catalogue: dict) -> None:
        self.catalogue = catalogue
        self._show_catalogue()
        self._show_rows()
        self.validity_changed.emit()

    def _show_catalogue(self) -> None:
        checked = dataset_state.current(self.context)
        dimensions = checked.report.dimensions if checked is not None else "2d"
        self.architecture_card.show_catalogue(self.catalogue, self.context.settings, self.helper_note, dimensions)

    # ------------------------------------------------------------ the description

    def request_description(self) -> None:
        if self.helper_note is not None:
            return
        try:
            settings_io.validate(self.context.settings)
        except UserError as exc:
            self.describe_error = exc.message
            self.description = None
            self._show_description()
            return
        checked = dataset_state.current(self.context)
        s = self.context.settings
        if checked is not None:
            input_shape = checked.input_shape(s)
            # outputs: one per class, or per value / label of a table (TableReport.columns)
            n_classes = len(getattr(checked.report, "columns", None) or checked.dataset.classes)
        else:
            input_shape = [*s.data.image_size, s.data.channels or 1]
            n_classes = max(len(s.data.classes), 2)
        trained_as = panel("stacks").as_trained(s, self.stacks)
        request = {"settings": trained_as.to_dict(), "input_shape": input_shape, "n_classes": n_classes}
        if self.stacks and self.stacks["block"]:
            request["block"] = self.stacks["block"]  # the helper answers the memory training on it needs
        self.describer.request(request)

    def _busy(self, busy: bool) -> None:
        if busy:
            self.status_label.setText("Computing…" if self.description is not None
                                      else "Computing the size of the network… (the first time takes a few seconds)")

    def _described(self, answer: dict) -> None:
        self.description = answer
        self.describe_error = None
        self._show_description()

    def _describe_failed(self, message: str) -> None:
        self.description = None
        self.describe_error = message
        self._show_description()

    def _helper_unavailable(self, message: str) -> None:
        self.helper_note = message
        self._show_description()
        self._show_catalogue()

    def _show_description(self) -> None:
        if self.description is None:
            self.size_card.show_nothing(self.helper_note, self.describe_error)
        else:
            self.size_card.show_description(self.description, self.context.settings.model.architecture)
        self.stack_patch_control.show_memory((self.description or {}).get("memory") if self.stacks else None,
                                             self.stacks["data"] if self.stacks else 0)

    # ------------------------------------------------------------ the contract

    def problem(self) -> str | None:
        try:
            settings_io.validate(self.context.settings)
        except UserError as exc:
            return exc.message
        arch = self.context.settings.model.architecture
        if self.catalogue and arch in self.catalogue:
            if self.context.settings.task.kind not in self.catalogue[arch].get("tasks", []):
                return f"{self.catalogue[arch]['title']} cannot learn this task; choose another architecture."
        return None

    def shutdown(self) -> None:
        self.debounce.timer.stop()
        self.describer.stop()
