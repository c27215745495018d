"""Model page: the settings of the network and its training, grouped in tabs, one form row per setting."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from petrilab.gui.widgets.help_panel import HelpBinder
from petrilab.gui.widgets.setting_controls import SettingControl, form_label, make_control

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
    # a task family's own section: shown only for its tasks (model_page.py asks the registry)
    ("Restoration", ["restoration.way", "restoration.masked_percent", "restoration.neighbourhood",
                     "restoration.blind_spot_fill", "restoration.blind_spot_network",
                     "restoration.test_time_augmentation", "restoration.output_type",
                     "restoration.save_difference"]),
]
GROUP_NOTES = {
    "Network": "The layers of the chosen architecture. Only the settings it uses are shown.",
    "Training": "How the weights are learnt: how long, in which steps, and with which rule.",
    "Input images": "What the network sees of each image. Larger images show more detail but train slower.",
    "Augmentation": "Changed copies of the training images, made on the fly, so the network sees more variety "
                    "and overfits less. Validation and test images are never changed.",
    "Restoration": "How the network learns to restore: from the noisy images alone (Noise2Void hides a few pixels "
                   "of each patch behind a neighbour and learns to guess them), or from pairs of noisy and clean "
                   "images (CARE); and how the restored images are written.",
}


def settings_tab(keys: list[str], note: str, binder: HelpBinder, on_change: Callable,
                 controls: dict[str, SettingControl], rows: dict[str, tuple[QFormLayout, QWidget]]) -> QWidget:
    """One tab: its note, then a control per key (added to `controls`, its form row to `rows`)."""
    page = QWidget()
    form = QFormLayout(page)
    form.setContentsMargins(16, 12, 16, 14)
    form.setHorizontalSpacing(14)
    form.setVerticalSpacing(8)
    form.setLabelAlignment(Qt.AlignLeft)
    form.setFieldGrowthPolicy(QFormLayout.FieldsStayAtSizeHint)
    form.setRowWrapPolicy(QFormLayout.WrapLongRows)  # on a laptop a long row puts its label above, not past the edge
    intro = QLabel(note)
    intro.setObjectName("muted")
    intro.setWordWrap(True)
    form.addRow(intro)
    for key in keys:
        control = make_control(key)
        control.changed.connect(on_change)
        controls[key] = control
        label = QLabel(form_label(key, control))
        form.addRow(label, control.widget)
        binder.bind(control.widget, key, label)
        rows[key] = (form, control.widget)
    return page
