"""Segmentation's predictions on new images: per image the mask or label image (TIFF, at the input's pixel
size), an outline overlay, optionally the probabilities, and the objects measured into objects.csv and
predictions.csv; `SegmentationPrediction` is a part of SegmentationRecipe (recipe.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from petrilab.data.images import read_image
from petrilab.errors import UserError
from petrilab.prediction.options import DEFAULT
from petrilab.runs import atomic_write_bytes

PREDICTIONS = "predictions.csv"  # the per-image summary, as prediction.predict_folder names it


class SegmentationPrediction:
    """`predict_image` and `predict`; the recipe gives `probabilities` and `decide`."""

    def predict_image(self, trained, image: np.ndarray) -> dict:
        """Everything predicted for one image: {"probabilities" (H, W, K), "mask" (class per pixel),
        "labels" (one number per object), "object_classes" (label → class number)}."""
        probs = self.probabilities(trained, image)
        mask, labels = self.decide(probs, trained.settings.postprocess)
        object_classes = np.zeros(int(labels.max(initial=0)) + 1, dtype=np.int64)
        object_classes[labels.ravel()] = mask.ravel()
        object_classes[0] = 0
        return {"probabilities": probs, "mask": mask, "labels": labels, "object_classes": object_classes}

    def predict(self, trained, images, input_dir, output_dir, options=DEFAULT):
        from petrilab.export.tiff import read_pixel_size
        from petrilab.prediction.overlay import outline_overlay, save_png
        from petrilab.tasks.segmentation.measurements import image_summary, measure_objects, write_table

        output_dir = Path(output_dir)
        summaries, measured = [], []
        used: set[Path] = set()
        for path in images:
            rel = path.relative_to(input_dir)
            row = {"file": str(rel)}
            try:
                image = read_image(path)
            except UserError as exc:
                summaries.append({**row, "problem": exc.message})
                continue
            found = self.predict_image(trained, image)
            mask_file = unique_path(
                output_dir / self.outputs_folder / rel.parent / f"{rel.stem}{self.outputs_suffix}.tif", used)
            overlay_file = unique_path(output_dir / "overlays" / rel.parent / f"{rel.stem}_overlay.png", used)
            pixel_size = read_pixel_size(path)
            write_tiff(mask_file, self.saved_array(found), pixel_size)  # the input's scale, for Fiji
            save_png(overlay_file, outline_overlay(image, self.saved_array(found)))
            if options.probabilities:
                _write_probabilities(unique_path(output_dir / "probabilities" / rel.parent
                                                 / f"{rel.stem}_probabilities.tif", used), found["probabilities"])
            # calibrated columns (µm) too when the input says its pixel size (square pixels: the x size)
            objects = measure_objects(found["labels"], image, pixel_size=pixel_size.x if pixel_size else None)
            for obj in objects:
                measured.append({"file": str(rel), "class": trained.classes[found["object_classes"][obj["label"]]],
                                 **obj})
            summary = image_summary(objects, image_area=int(image.shape[0] * image.shape[1]))
            summaries.append({**row, "mask_file": str(mask_file.relative_to(output_dir)),
                              "overlay_file": str(overlay_file.relative_to(output_dir)), **summary, "problem": ""})
        summaries.sort(key=lambda r: r["file"])
        write_table(output_dir / "objects.csv", measured, None if measured else ["file", "label", "area_px"],
                    excel=options.excel)
        return write_table(output_dir / PREDICTIONS, summaries, excel=options.excel)

    outputs_folder = "masks"
    outputs_suffix = "_mask"

    def saved_array(self, found: dict) -> np.ndarray:
        return found["mask"]


def unique_path(path: Path, used: set) -> Path:
    """`path`, or a numbered variant when another input of the same name (other extension) already took it."""
    candidate, n = path, 2
    while candidate in used:
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
        n += 1
    used.add(candidate)
    return candidate


def write_tiff(path: Path, array: np.ndarray, pixel_size=None, voxel=None) -> None:
    """A mask or label image as an ImageJ TIFF with the input's pixel size (see export/tiff.py; Fiji, napari);
    a (Z, Y, X) one as a stack with its `voxel` size, (z, y, x) µm."""
    from petrilab.export.tiff import write_label_stack, write_labels

    if array.ndim == 3:
        write_label_stack(path, array, voxel)
        return

    write_labels(path, array, pixel_size)


def _write_probabilities(path: Path, probabilities: np.ndarray) -> None:
    """(H, W, K) probabilities as a float32 ImageJ TIFF, one plane per output channel (a stack in Fiji)."""
    import tifffile

    buffer = io.BytesIO()
    planes = np.ascontiguousarray(np.moveaxis(probabilities.astype(np.float32), -1, 0))
    tifffile.imwrite(buffer, planes, imagej=True, metadata={"axes": "CYX"}, compression="zlib")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
