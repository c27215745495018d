"""Model page: 'Size of the network': the parameter count and the layers, as the model helper computed them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem

from petrilab.gui.widgets import theme
from petrilab.gui.widgets.card import Card


class SizeCard(Card):
    """The count, trainable and frozen, the helper's warnings, and one row per layer."""

    def __init__(self):
        super().__init__("Size of the network")
        self.count_label = QLabel()
        self.count_label.setStyleSheet(f"font-size: 22px; font-weight: 600; color: {theme.TEXT};")
        self.count_label.setWordWrap(True)  # "126,019 parameters" wraps in a laptop-narrow card instead of being cut
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
            self.body.addWidget(w)

    def show_nothing(self, helper_note: str | None, describe_error: str | None) -> None:
        """No description: why (the helper cannot start, the settings build no network, or not yet)."""
        self.count_label.setText("—")
        self.count_detail.setText("")
        self.layer_table.setRowCount(0)
        self.warnings_label.setVisible(False)
        if helper_note:
            self.status_label.setText(helper_note + " You can still train: the count is only a guide.")
        elif describe_error:
            self.status_label.setText(f"This network cannot be built: {describe_error}")
        else:
            self.status_label.setText("The size appears here once the model helper has started.")

    def show_description(self, d: dict, architecture: str) -> None:
        """The helper's answer: total, trainable, layers, warnings."""
        self.count_label.setText(f"{d['total']:,} parameters")
        frozen = d.get("non_trainable", 0)
        kept = "frozen" if architecture == "transfer" else "batch-norm statistics"
        self.count_detail.setText(f"{d['trainable']:,} trainable" + (f" · {frozen:,} {kept}" if frozen else ""))
        self.status_label.setText("Updated as you change the settings.")
        warnings = d.get("warnings") or []
        self.warnings_label.setVisible(bool(warnings))
        self.warnings_label.setText("\n\n".join(f"⚠ {w}" for w in warnings))
        layers = d.get("layers", [])
        # a U-Net (2-D, or 3-D for stacks) takes any size: only its channels are fixed
        any_size = bool(layers) and all(len(x.get("output_shape", [])) in (3, 4) and x["output_shape"][0] is None
                                        for x in layers)
        self.layer_table.setHorizontalHeaderLabels(["Layer", "Channels" if any_size else "Output shape",
                                                    "Parameters"])
        self.layer_table.horizontalHeaderItem(1).setToolTip(
            "A U-Net takes images (or stacks) of any size: each layer's height and width (and depth) follow the "
            "patch or image it is given, so only its channels are fixed." if any_size else "")
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
