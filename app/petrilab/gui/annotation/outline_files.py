"""The annotation editor's outlines from and to other programs: the current image's objects imported from an
ImageJ ROI set or QuPath GeoJSON (replacing its labels, as one undo step, saved), or exported to one.
The formats themselves are export/object_files.py's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMenu, QPushButton

from petrilab.errors import UserError
from petrilab.export.object_files import OPEN_FILTER, SAVE_FILTER, objects_of_classes, read_objects, write_objects

IMPORT_TEXT = "Import outlines (ImageJ ROIs, QuPath GeoJSON)…"
EXPORT_TEXT = "Export this image's objects…"


def outlines_button(editor) -> QPushButton:
    """"ImageJ / QuPath outlines": a menu to import into the image shown, or export its objects."""
    button = QPushButton("ImageJ / QuPath outlines")
    button.setToolTip("Objects drawn in ImageJ/Fiji (a ROI set, .zip) or QuPath (GeoJSON) as this image's "
                      "labels, or this image's objects for them")
    menu = QMenu(button)
    editor.import_outlines_action = menu.addAction(IMPORT_TEXT, lambda: import_outlines(editor))
    editor.export_outlines_action = menu.addAction(EXPORT_TEXT, lambda: export_outlines(editor))
    button.setMenu(menu)
    return button


def import_outlines(editor, path: str | Path | None = None) -> bool:
    """Replace the shown image's labels by the objects in an outline file (a class folder: drawn in the class
    in hand). Undo brings the labels back. False when nothing was imported."""
    if editor.entry is None or editor.canvas.image is None or not editor.canvas.isEnabled():
        return False
    if path is None:
        path, _ = QFileDialog.getOpenFileName(editor, f"Outlines for {editor.entry.name}",
                                              str(Path(editor.folder.images_folder)), OPEN_FILTER)
        if not path:
            return False
    try:
        objects = read_objects(path, editor.canvas.mask.shape)
    except UserError as exc:
        editor._show_error(exc)
        return False
    if editor.folder.has_objects:
        mask = objects.astype(editor.folder.mask_dtype)
    else:
        mask = np.where(objects > 0, int(editor.canvas.value), 0).astype(editor.folder.mask_dtype)
    editor.message.clear()
    editor.canvas.replace_mask(mask, announce=True)  # saved, one undo step
    if editor.folder.has_objects:
        from petrilab.annotation.editing import next_free_label

        editor._set_value(next_free_label(editor.canvas.mask))
    n = len(np.unique(objects)) - 1
    editor.message.show_message("note", f"{n} objects imported from {Path(path).name} into {editor.entry.name}.",
                                None, "Undo (Ctrl+Z) brings the earlier labels back.")
    return True


def export_outlines(editor, path: str | Path | None = None) -> Path | None:
    """The shown image's objects (a class folder: each patch of one class, with its class) as an ImageJ ROI
    set or QuPath GeoJSON, by the name chosen; never inside the annotation folder or the originals' folder."""
    if editor.entry is None or editor.canvas.mask is None or not editor.canvas.isEnabled():
        return None
    if path is None:
        start = editor.folder.root.parent / f"{editor.entry.stem}_objects.zip"
        path, _ = QFileDialog.getSaveFileName(editor, f"Save the objects of {editor.entry.name} as", str(start),
                                              SAVE_FILTER)
        if not path:
            return None
    from petrilab.output_folders import refuse_output_in_data

    mask = editor.canvas.mask
    if editor.folder.has_objects:
        labels, classes = mask, None
    else:
        labels, classes = objects_of_classes(mask, editor.folder.classes)
    try:
        refuse_output_in_data(path, [editor.folder.root, editor.folder.images_folder], "outline file")
        if not labels.any():
            raise UserError(f"{editor.entry.name} has no objects to export yet.",
                            fix="Draw or propose its labels first.")
        written = write_objects(path, labels, classes)
    except UserError as exc:
        editor._show_error(exc)
        return None
    except OSError as exc:
        editor._show_error(UserError(f"{Path(path).name} could not be written ({exc.strerror or exc}).",
                                     file=path, fix="Choose another folder (one you can write to, with space)."))
        return None
    editor.message.show_message("note", f"The objects of {editor.entry.name} were written to {Path(written).name}.",
                                str(written), None)
    return Path(written)
