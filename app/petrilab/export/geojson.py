"""Objects as QuPath reads and writes them: a GeoJSON FeatureCollection of polygons, one Feature per object,
exported from a label image and imported back into one (issue #17, item 7).

Coordinates are QuPath's pixel coordinates, the outlines export/outlines.py traces (holes inside an object
are not kept).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from petrilab.errors import UserError
from petrilab.export.outlines import inside, object_outlines
from petrilab.runs import atomic_write_json

QUPATH_CLASS = "classification"  # another program's word: QuPath's property for an object's class


def labels_to_geojson(labels: np.ndarray, classes: dict[int, str] | None = None,
                      object_type: str = "annotation") -> dict:
    """A FeatureCollection with one Feature per object of `labels` (0 = background): a Polygon, or a
    MultiPolygon when the object has several parts; `classes` (label → class name) gives QuPath's
    classification."""
    features = []
    for value, rings in object_outlines(labels):
        polygons = [[ring] for ring in rings]
        geometry = ({"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1
                    else {"type": "MultiPolygon", "coordinates": polygons})
        properties = {"objectType": object_type, "name": f"object {value}", "label": value}
        if classes and value in classes:
            properties[QUPATH_CLASS] = {"name": classes[value]}
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def write_geojson(path: str | Path, labels: np.ndarray, classes: dict[int, str] | None = None) -> Path:
    return atomic_write_json(Path(path), labels_to_geojson(labels, classes))


def geojson_to_labels(data: dict, shape: tuple[int, int], source: str | Path | None = None) -> np.ndarray:
    """A uint16 label image of `shape` from a FeatureCollection (or one Feature): each Polygon or
    MultiPolygon feature an object, numbered in the file's order (its `label` property when it has one);
    holes (a polygon's later rings) cut out; later objects drawn over earlier ones."""
    refuse = UserError(f"{Path(source).name if source else 'The file'} is not GeoJSON with polygons "
                       "(QuPath: File > Export objects as GeoJSON).", file=str(source) if source else None,
                       fix="Export the objects from QuPath as GeoJSON, or choose a label image instead.")
    if not isinstance(data, dict):
        raise refuse
    features = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    if not isinstance(features, list):
        raise refuse
    out = np.zeros(shape, np.uint16)
    used: set[int] = set()
    next_label = 1
    for feature in features:
        geometry = (feature or {}).get("geometry") or {}
        kind, coords = geometry.get("type"), geometry.get("coordinates")
        if kind not in ("Polygon", "MultiPolygon") or not coords:
            continue  # points, lines: not objects with an area
        wanted = (feature.get("properties") or {}).get("label")
        if isinstance(wanted, int) and 0 < wanted < 65536 and wanted not in used:
            value = wanted
        else:
            while next_label in used:
                next_label += 1
            value = next_label
        if value >= 65536:
            raise UserError(f"{Path(source).name if source else 'The file'} holds more than 65535 objects.",
                            file=str(source) if source else None, fix="Split it into several files.")
        used.add(value)
        try:
            polygons = [coords] if kind == "Polygon" else coords
            drawn = np.zeros(shape, bool)
            for rings in polygons:
                for i, ring in enumerate(rings):
                    drawn[inside(ring, shape)] = i == 0  # the first ring the outline, the others holes
        except (TypeError, ValueError, IndexError):
            raise refuse from None
        out[drawn] = value
    return out


def read_geojson(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"{path.name} could not be read as GeoJSON.", file=str(path),
                        fix="Export the objects from QuPath as GeoJSON (File > Export objects as GeoJSON).") from None
    return geojson_to_labels(data, shape, path)
