"""Objects in another program's files, chosen by the file's name: ImageJ ROI sets (.zip, .roi) and QuPath
GeoJSON (.geojson, .json). What the command line (`petrilab export-rois`, `import-rois`) and the annotation
editor share."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.errors import UserError

IMAGEJ = (".zip", ".roi")
GEOJSON = (".geojson", ".json")
KINDS = "an ImageJ ROI set (.zip or .roi) or QuPath GeoJSON (.geojson)"
OPEN_FILTER = "Outlines (*.zip *.roi *.geojson *.json);;ImageJ ROI set (*.zip *.roi);;QuPath GeoJSON (*.geojson *.json)"
SAVE_FILTER = "ImageJ ROI set (*.zip);;QuPath GeoJSON (*.geojson)"


def _kind(path: Path, verb: str) -> str:
    suffix = path.suffix.lower()
    if suffix in IMAGEJ:
        return "imagej"
    if suffix in GEOJSON:
        return "geojson"
    raise UserError(f"PetriLab cannot tell which outlines to {verb} from the name {path.name}.", file=path,
                    fix=f"Give a file name ending in .zip (ImageJ ROI set) or .geojson (QuPath).")


def write_objects(path: str | Path, labels: np.ndarray, classes: dict[int, str] | None = None) -> Path:
    """`labels`' objects (0 = background) as outlines, in the format the name says; `classes` (label →
    class name) go into GeoJSON as QuPath's classification."""
    path = Path(path)
    if _kind(path, "write") == "imagej":
        from petrilab.export.imagej_rois import write_rois

        return write_rois(path, labels)
    from petrilab.export.geojson import write_geojson

    return write_geojson(path, labels, classes)


def read_objects(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A uint16 label image of `shape` (height, width) from outlines, in the format the name says."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path.name} was not found.", file=path, fix=f"Give {KINDS}.")
    if _kind(path, "read") == "imagej":
        from petrilab.export.imagej_rois import read_rois

        return read_rois(path, shape)
    from petrilab.export.geojson import read_geojson

    return read_geojson(path, shape)


def read_label_image(path: str | Path) -> np.ndarray:
    """A label image (one whole number per object, 0 for background) as a 2-D array."""
    from petrilab.data.images import read_image

    path = Path(path)
    labels = read_image(path, finite=False, indices=True)
    if labels.ndim == 3 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.ndim != 2 or not (np.issubdtype(labels.dtype, np.integer)
                                or np.array_equal(labels, np.round(labels))) or labels.min(initial=0) < 0:
        raise UserError(f"{path.name} is not a label image (one channel of whole numbers, 0 for background).",
                        file=path, fix="Give the labels PetriLab wrote (masks/ or a prediction's labels), "
                                       "not the image itself.")
    return labels.astype(np.int64)


def objects_of_classes(mask: np.ndarray, class_names: list[str]) -> tuple[np.ndarray, dict[int, str]]:
    """A class mask (0 = background) as objects: each connected patch of one class an object, with its class."""
    from scipy import ndimage as ndi

    labels = np.zeros(mask.shape, np.int64)
    classes: dict[int, str] = {}
    for k in range(1, len(class_names)):
        parts, n = ndi.label(mask == k, structure=np.ones((3, 3)))
        start = int(labels.max())
        labels[parts > 0] = parts[parts > 0] + start
        classes |= {start + i: class_names[k] for i in range(1, n + 1)}
    return labels, classes
