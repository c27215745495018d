"""QuPath GeoJSON (export/geojson.py): objects exported from a label image and imported back as masks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from petrilab.errors import UserError
from petrilab.export.geojson import geojson_to_labels, labels_to_geojson, read_geojson, write_geojson

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "instance"


def test_the_demo_nuclei_come_back_pixel_for_pixel(tmp_path):
    labels = tifffile.imread(DEMO / "masks" / "nuclei_001.tif")
    path = write_geojson(tmp_path / "nuclei.geojson", labels, {int(v): "Nucleus" for v in np.unique(labels) if v})
    data = json.loads(path.read_text())
    assert data["type"] == "FeatureCollection" and len(data["features"]) == len(np.unique(labels)) - 1
    first = data["features"][0]
    assert first["geometry"]["type"] == "Polygon" and first["properties"]["classification"] == {"name": "Nucleus"}
    np.testing.assert_array_equal(read_geojson(path, labels.shape), labels)


def test_coordinates_are_qupaths_pixel_edges():
    labels = np.zeros((6, 8), np.uint16)
    labels[1:3, 2:5] = 7  # rows 1-2, columns 2-4: x from 2 to 5, y from 1 to 3
    ring = np.asarray(labels_to_geojson(labels)["features"][0]["geometry"]["coordinates"][0])
    assert ring[:, 0].min() == pytest.approx(2, abs=0.5) and ring[:, 0].max() == pytest.approx(5, abs=0.5)
    assert ring[:, 1].min() == pytest.approx(1, abs=0.5) and ring[:, 1].max() == pytest.approx(3, abs=0.5)
    assert list(ring[0]) == list(ring[-1])  # closed
    np.testing.assert_array_equal(geojson_to_labels(labels_to_geojson(labels), labels.shape), labels)


def test_two_parts_make_a_multipolygon_and_a_hole_from_qupath_is_cut_out():
    labels = np.zeros((20, 20), np.uint16)
    labels[2:6, 2:6] = labels[10:14, 10:14] = 3
    feature = labels_to_geojson(labels)["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon" and len(feature["geometry"]["coordinates"]) == 2
    np.testing.assert_array_equal(geojson_to_labels(labels_to_geojson(labels), labels.shape), labels)
    square = [[2, 2], [12, 2], [12, 12], [2, 12], [2, 2]]
    hole = [[5, 5], [9, 5], [9, 9], [5, 9], [5, 5]]
    drawn = geojson_to_labels({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square, hole]},
                               "properties": {}}, (16, 16))
    assert drawn[3, 3] == 1 and drawn[7, 7] == 0 and drawn[2:12, 2:12].sum() == 100 - 16


def test_a_file_that_is_not_geojson_is_refused_by_name(tmp_path):
    bad = tmp_path / "cells.geojson"
    bad.write_text("not json")
    with pytest.raises(UserError, match="cells.geojson") as refused:
        read_geojson(bad, (10, 10))
    assert refused.value.file == str(bad) and refused.value.fix
    odd = tmp_path / "odd.geojson"
    odd.write_text(json.dumps({"type": "FeatureCollection", "features": 3}))
    with pytest.raises(UserError, match="odd.geojson"):
        read_geojson(odd, (10, 10))
