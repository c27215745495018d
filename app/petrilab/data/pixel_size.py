"""Pixel and voxel sizes in micrometres, as image files record them.

One reader of the two calibrations microscopy TIFFs carry, shared by the
stack reader (data/stacks.py) and the label TIFFs written back at the
input's scale (export/tiff.py), so both read a file the same way:

- OME-XML: PhysicalSizeX/Y/Z with their units; a missing unit is a
  micrometre, as the OME schema says.
- ImageJ: the X/YResolution tags in pixels per unit, the unit and the
  z `spacing` in the description. No unit means ImageJ showed pixels:
  not calibrated, so no size.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

_MICRONS_PER = {"m": 1e6, "mm": 1e3, "millimeter": 1e3, "millimetre": 1e3, "cm": 1e4, "um": 1.0, "µm": 1.0,
                "micron": 1.0, "microns": 1.0, "micrometer": 1.0, "micrometre": 1.0, "nm": 1e-3,
                "nanometer": 1e-3, "nanometre": 1e-3, "inch": 25_400.0, "in": 25_400.0}


def to_microns(value, unit: str | None) -> float | None:
    """`value` `unit`s in micrometres; None when the value is not a positive number or the unit unknown."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    # ImageJ descriptions may spell µ as the escape "\u00B5"; the Greek mu (U+03BC) is a common stand-in
    name = (unit or "").strip().replace("\\u00B5", "µ").replace("\\u00b5", "µ").replace("\u03bc", "µ").lower()
    factor = _MICRONS_PER.get(name)
    if factor is None or not math.isfinite(value) or value <= 0:
        return None
    return value * factor


def ome_sizes(xml: str) -> dict[str, float]:
    """The first image's PhysicalSize per axis ("x", "y", "z") in µm; axes the XML does not give are left out."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    pixels = next((e for e in root.iter() if e.tag.split("}")[-1] == "Pixels"), None)
    if pixels is None:
        return {}
    sizes = {}
    for axis in "XYZ":
        size = to_microns(pixels.attrib.get(f"PhysicalSize{axis}"), pixels.attrib.get(f"PhysicalSize{axis}Unit", "µm"))
        if size:
            sizes[axis.lower()] = size
    return sizes


def resolution_sizes(page, unit: str | None) -> tuple[float, float] | None:
    """(y, x) in µm from a TIFF page's resolution tags (pixels per `unit`); None when either is missing."""
    tags = page.tags
    if "XResolution" not in tags:
        return None

    def per_unit(name):
        value = tags[name].value if name in tags else tags["XResolution"].value
        numerator, denominator = value if isinstance(value, tuple) else (value, 1)
        return numerator / denominator if denominator else 0.0

    x_per, y_per = per_unit("XResolution"), per_unit("YResolution")
    if x_per <= 0 or y_per <= 0:
        return None
    y, x = to_microns(1 / y_per, unit), to_microns(1 / x_per, unit)
    return (y, x) if y and x else None


def imagej_sizes(tif) -> dict[str, float]:
    """x, y (and z from `spacing`) in µm of an ImageJ TIFF; {} when it names no unit."""
    meta = tif.imagej_metadata or {}
    unit = meta.get("unit")
    plane = resolution_sizes(tif.pages[0], unit) if unit else None
    if plane is None:
        return {}
    sizes = {"y": plane[0], "x": plane[1]}
    z = to_microns(meta.get("spacing"), unit)
    if z:
        sizes["z"] = z
    return sizes
