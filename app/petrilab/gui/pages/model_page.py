"""Step 4: the network and how it learns, with its size computed live by the model helper.

The catalogue and the parameter count come from `petrilab describe-model
--serve`, a child process that loads Keras once: the window itself never
imports it, so it starts fast and never freezes while a model is built.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QFormLayout, QFrame, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from petrilab import help as help_texts
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui import dataset_state
from petrilab.gui.context import AppContext
from petrilab.gui.pages.base import WizardPage
from petrilab.gui.pages.data_page import card
from petrilab.gui.widgets import theme
from petrilab.gui.widgets.augmentation_question import AugmentationQuestion
from petrilab.gui.widgets.help_panel import HelpBinder, HelpPanel
from petrilab.gui.widgets.seg_patch_control import PatchSizeControl
from petrilab.gui.widgets.seg_summary import resolved_patch, unet_words
from petrilab.gui.widgets.setting_controls import SettingControl, form_label, make_control
from petrilab.gui.workers import Debouncer, ModelDescriber
from petrilab.settings import CHOICES

GROUPS: list[tuple[str, list[str]]] = [
    ("Network", ["model.start_from", "model.activation", "model.dense_layers", "model.filters", "model.head_units", "model.backbone",
                 "model.weights", "model.fine_tune_layers", "model.dropout", "model.batch_norm", "model.l1",
                 "model.l2"]),
    ("Training", ["training.epochs", "training.batch_size", "training.learning_rate", "training.optimizer",
                  "training.loss", "training.early_stopping", "training.patience", "training.device",
                  "training.devices", "training.mixed_precision", "training.backend", "training.seed"]),
    ("Input images", ["data.image_size", "data.channels", "data.normalisation", "data.percentile_low",
                      "data.percentile_high", "data.class_weights"]),
    ("Augmentation", ["augmentation.geometric", "augmentation.flip_horizontal", "augmentation.flip_vertical",
                                             "augmentation.rotate_90", "augmentation.rotation",
                                             "augmentation.brightness", "augmentation.contrast",
                                             "augmentation.noise", "augmentation.zoom", "augmentation.elastic"]),
]
GROUP_NOTES = {
    "Network": "The layers of the chosen architecture. Only the settings it uses are shown.",
    "Training": "How the weights are learnt: how long, in which steps, and with which rule.",
    "Input images": "What the network sees of each image. Larger images show more detail but train slower.",
    "Augmentation": "Changed copies of the training images, made on the fly, so the network sees more variety "
                    "and overfits less. Validation and test images are never changed.",
}
ARCHITECTURE_CARD_STYLE = f"""
QPushButton#archCard {{ background: {theme.PANEL}; border: 1px solid {theme.BORDER}; border-radius: 6px;
                        padding: 8px 10px; text-align: left; }}
QPushButton#archCard:hover {{ border-color: {theme.ACCENT}; }}
QPushButton#archCard:checked {{ border: 2px solid {theme.ACCENT}; background: #eef4fa; font-weight: 600; }}
"""
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
        self._loading = False
        self.describer = describer or ModelDescriber(self)
        self.describer.catalogue.connect(self._catalogue_arrived)
        self.describer.described.connect(self._described)
        self.describer.failed.connect(self._describe_failed)
        self.describer.unavailable.connect(self._helper_unavailable)
        self.describer.busy_changed.connect(self._busy)
        self.debounce = Debouncer(DEBOUNCE_MS, self.request_description, self)
        self.setStyleSheet(ARCHITECTURE_CARD_STYLE)

        columns = QHBoxLayout(self)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.setSpacing(14)
        left = QVBoxLayout()
        left.setSpacing(12)
        left.addWidget(self._architecture_card())
        self.help_panel = HelpPanel("Hover over or click a setting to read what it does and when to change it.")
        self.binder = HelpBinder(self.help_panel)
        self.controls: dict[str, SettingControl] = {}
        self.rows: dict[str, tuple[QFormLayout, QWidget]] = {}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(False)
        for title, keys in GROUPS:
            self.tabs.addTab(self._group(keys, GROUP_NOTES[title]), title)
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
        right.addWidget(self._size_card())
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

    def _architecture_card(self) -> QFrame:
        frame, layout = card("Architecture")
        row = QHBoxLayout()
        row.setSpacing(8)
        self.architecture_group = QButtonGroup(self)
        self.architecture_buttons: dict[str, QPushButton] = {}
        for key in CHOICES["model.architecture"]:
            button = QPushButton(key)
            button.setMinimumWidth(60)
            button.setObjectName("archCard")
            button.setCheckable(True)
            button.setMinimumHeight(38)
            button.clicked.connect(lambda _c=False, key=key: self.choose_architecture(key))
            self.architecture_group.addButton(button)
            self.architecture_buttons[key] = button
            row.addWidget(button, 1)
        layout.addLayout(row)
        self.architecture_text = QLabel()
        self.architecture_text.setWordWrap(True)
        self.architecture_text.setMinimumHeight(52)
        self.architecture_text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        layout.addWidget(self.architecture_text)
        self.unet_text = QLabel()  # the U-Net's shape in the workshop's words
        self.unet_text.setWordWrap(True)
        self.unet_text.setTextFormat(Qt.RichText)
        self.unet_text.hide()
        layout.addWidget(self.unet_text)
        return frame

    def _add_patch_row(self) -> None:
        """Segmentation trains on patches: data.patch_size, in the Input images tab (not in self.controls:
        'from the data' is an empty list, which the generic controls do not offer)."""
        form = self.rows["data.image_size"][0]
        self.patch_control = PatchSizeControl()
        self.patch_control.changed.connect(self._control_changed)
        self.patch_label = QLabel(help_texts.label("data.patch_size") + ":")
        form.insertRow(2, self.patch_label, self.patch_control.widget)  # after the note and the image size
        self.binder.bind(self.patch_control.widget, "data.patch_size", self.patch_label)

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
            if self.context.settings.task.kind == "classification" and classes:
                answer = classes[int(sample.label)]
            elif self.context.settings.task.kind == "multilabel":
                answer = ", ".join(self.context.settings.data.target_columns)
        self.augmentation_question.show_for(self.context.settings, image, name, answer, columns)

    def _show_segmentation(self) -> None:
        """The patch size (and what 'from the data' gives) and the U-Net's shape, for segmentation."""
        s = self.context.settings
        checked = dataset_state.current(self.context)
        proposal = checked.report.proposals.get("data.patch_size") if checked is not None else None
        self.patch_control.set_resolved(resolved_patch(proposal, s.model.filters))
        unet = s.model.architecture == "unet"
        self.unet_text.setVisible(unet)
        if unet:
            self.unet_text.setText(unet_words(s, proposal))

    def _group(self, keys: list[str], note: str) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(16, 12, 16, 14)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(8)
        form.setLabelAlignment(Qt.AlignLeft)
        form.setFieldGrowthPolicy(QFormLayout.FieldsStayAtSizeHint)
        intro = QLabel(note)
        intro.setObjectName("muted")
        intro.setWordWrap(True)
        form.addRow(intro)
        for key in keys:
            control = make_control(key)
            control.changed.connect(self._control_changed)
            self.controls[key] = control
            label = QLabel(form_label(key, control))
            form.addRow(label, control.widget)
            self.binder.bind(control.widget, key, label)
            self.rows[key] = (form, control.widget)
        return page

    def _size_card(self) -> QFrame:
        frame, layout = card("Size of the network")
        self.count_label = QLabel()
        self.count_label.setStyleSheet(f"font-size: 22px; font-weight: 600; color: {theme.TEXT};")
        self.count_detail = QLabel()
        self.count_detail.setObjectName("muted")
        self.status_label = QLabel()
        self.status_label.setObjectName("muted")
        self.status_label.setWordWrap(True)
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet(f"color: {theme.LEVEL_COLOURS['warning']};")
        self.layer_table = QTableWidget(0, 3)
        self.layer_table.setHorizontalHeaderLabels(["Layer", "Output shape", "Parameters"])
        self.layer_table.verticalHeader().setVisible(False)
        self.layer_table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.layer_table.setSelectionMode(QTableWidget.NoSelection)
        self.layer_table.setFocusPolicy(Qt.NoFocus)
        self.layer_table.setAlternatingRowColors(True)
        header = self.layer_table.horizontalHeader()
        # shapes and counts always whole; a long layer name (a U-Net's) is shortened in its middle if need be
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeToContents)
        self.layer_table.setTextElideMode(Qt.ElideMiddle)
        self.layer_table.verticalHeader().setDefaultSectionSize(22)
        self.layer_table.setMinimumHeight(120)
        for w in (self.count_label, self.count_detail, self.status_label, self.warnings_label, self.layer_table):
            layout.addWidget(w)
        return frame

    # ------------------------------------------------------------ settings ↔ controls

    def enter_controls(self) -> None:
        self._loading = True
        try:
            for key, control in self.controls.items():
                control.show_value(settings_io.get_value(self.context.settings, key))
            arch = self.context.settings.model.architecture
            for key, button in self.architecture_buttons.items():
                button.setChecked(key == arch)
            self.patch_control.show_value(self.context.settings.data.patch_size)
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
        if key == "data.normalisation":
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
        for k, button in self.architecture_buttons.items():
            button.setChecked(k == key)
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
        used = self.used_keys()
        percentile = self.context.settings.data.normalisation == "percentile"
        segmentation = self.context.settings.task.kind in ("semantic", "instance")
        for key, (form, widget) in self.rows.items():
            visible = key in used if key.startswith("model.") else True
            if key in ("data.percentile_low", "data.percentile_high"):
                visible = percentile
            if key == "data.image_size":
                visible = not segmentation  # segmentation keeps every pixel: patches, not resized images
            form.setRowVisible(widget, visible)
        form, _ = self.rows["data.image_size"]
        form.setRowVisible(self.patch_control.widget, segmentation)

    def visible_keys(self) -> list[str]:
        used = self.used_keys()
        percentile = self.context.settings.data.normalisation == "percentile"
        keys = []
        for key in self.controls:
            if key.startswith("model.") and key not in used:
                continue
            if key in ("data.percentile_low", "data.percentile_high") and not percentile:
                continue
            if key == "data.image_size" and self.context.settings.task.kind in ("semantic", "instance"):
                continue
            keys.append(key)
        if self.context.settings.task.kind in ("semantic", "instance"):
            keys.append("data.patch_size")
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
        arch = self.context.settings.model.architecture
        task = self.context.settings.task.kind
        for key, button in self.architecture_buttons.items():
            info = (self.catalogue or {}).get(key)
            button.setText(info["title"].split(" (")[0].removesuffix(" network") if info else key)
            # as wide as its words (the row has room for all five): never a cut name
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 34)
            button.setEnabled(info is None or task in info.get("tasks", [task]))
            if info:
                button.setToolTip(info["description"])
        if self.catalogue is None:
            self.architecture_text.setText(self.helper_note or "Loading the descriptions of the architectures…")
        elif arch in self.catalogue:
            self.architecture_text.setText(self.catalogue[arch]["description"])
        start_from = self.context.settings.model.start_from
        if start_from and self.catalogue is not None:  # the size card still describes the settings' network
            self.architecture_text.setText(
                f"Starting from the trained model {Path(start_from).name}: its own network is trained further "
                "(a run folder also brings its network settings); the output layer is replaced if your classes "
                "differ. The size shown is that of the settings' network.")

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
        self.describer.request({"settings": s.to_dict(), "input_shape": input_shape, "n_classes": n_classes})

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
        d = self.description
        if d is None:
            self.count_label.setText("—")
            self.count_detail.setText("")
            self.layer_table.setRowCount(0)
            self.warnings_label.setVisible(False)
            if self.helper_note:
                self.status_label.setText(self.helper_note + " You can still train: the count is only a guide.")
            elif self.describe_error:
                self.status_label.setText(f"This network cannot be built: {self.describe_error}")
            else:
                self.status_label.setText("The size appears here once the model helper has started.")
            return
        self.count_label.setText(f"{d['total']:,} parameters")
        frozen = d.get("non_trainable", 0)
        kept = "frozen" if self.context.settings.model.architecture == "transfer" else "batch-norm statistics"
        self.count_detail.setText(f"{d['trainable']:,} trainable" + (f" · {frozen:,} {kept}" if frozen else ""))
        self.status_label.setText("Updated as you change the settings.")
        warnings = d.get("warnings") or []
        self.warnings_label.setVisible(bool(warnings))
        self.warnings_label.setText("\n\n".join(f"⚠ {w}" for w in warnings))
        layers = d.get("layers", [])
        any_size = bool(layers) and all(len(x.get("output_shape", [])) == 3 and x["output_shape"][0] is None
                                        for x in layers)
        self.layer_table.setHorizontalHeaderLabels(["Layer", "Channels" if any_size else "Output shape",
                                                    "Parameters"])
        self.layer_table.horizontalHeaderItem(1).setToolTip(
            "A U-Net takes images of any size: each layer's height and width follow the patch or image it is "
            "given, so only its channels are fixed." if any_size else "")
        self.layer_table.setRowCount(len(layers))
        for r, layer in enumerate(layers):
            name = QTableWidgetItem(layer["name"])
            name.setToolTip(layer.get("type", ""))
            dims = list(layer.get("output_shape", []))
            if any_size:  # fully convolutional (U-Net): height and width follow the patch or image given
                shape = QTableWidgetItem(str(dims[-1]) if dims else "")
                shape.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            else:
                shape = QTableWidgetItem(" × ".join(str(n) for n in dims))
            params = QTableWidgetItem(f"{layer.get('parameters', 0):,}")
            params.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            for c, item in enumerate((name, shape, params)):
                self.layer_table.setItem(r, c, item)
        # as tall as its rows (up to a limit): no scrolling for the usual small networks
        rows_height = self.layer_table.verticalHeader().defaultSectionSize() * len(layers)
        self.layer_table.setFixedHeight(min(self.layer_table.horizontalHeader().height() + rows_height + 4, 360))

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
