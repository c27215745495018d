"""Label images and masks as TIFF that Fiji and napari open at the right scale.

The pixel size is read from the input image (OME PhysicalSizeX/Y, ImageJ's
unit with the resolution tags, plain TIFF resolution in cm or inch, or the
scaling a CZI, ND2 or LIF file records) and
written back as ImageJ does: X/YResolution in pixels per unit plus the unit
in the ImageJ description. Fiji shows the calibration in Image > Properties;
napari's TIFF reader (tifffile) reads the same tags.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from petrilab.runs import atomic_write_bytes

_TO_MICRONS = {"m": 1e6, "mm": 1e3, "cm": 1e4, "um": 1.0, "µm": 1.0, "μm": 1.0, "micron": 1.0, "microns": 1.0,
               "micrometer": 1.0, "micrometre": 1.0, "nm": 1e-3, "nanometer": 1e-3, "nanometre": 1e-3,
               "inch": 25_400.0, "in": 25_400.0, "\\u00B5m": 1.0}


@dataclass(frozen=True)
class PixelSize:
    """The size of one pixel, in micrometres."""

    y: float
    x: float
    unit: str = "micron"  # as ImageJ writes it


def _microns(value: float, unit: str | None) -> float | None:
    factor = _TO_MICRONS.get((unit or "").strip().lower()) or _TO_MICRONS.get((unit or "").strip())
    if factor is None or not value or not np.isfinite(value) or value <= 0:
        return None
    return float(value) * factor


def _from_ome(tif) -> PixelSize | None:
    if not tif.is_ome:
        return None
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(tif.ome_metadata)
    except ET.ParseError:
        return None
    pixels = next((e for e in root.iter() if e.tag.endswith("Pixels")), None)
    if pixels is None or "PhysicalSizeX" not in pixels.attrib:
        return None
    x = _microns(float(pixels.attrib["PhysicalSizeX"]), pixels.attrib.get("PhysicalSizeXUnit", "µm"))
    y = _microns(float(pixels.attrib.get("PhysicalSizeY", pixels.attrib["PhysicalSizeX"])),
                 pixels.attrib.get("PhysicalSizeYUnit", "µm"))
    return PixelSize(y, x) if x and y else None


def _from_resolution(tif) -> PixelSize | None:
    page = tif.pages[0]
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
    if tif.is_imagej:
        unit = (tif.imagej_metadata or {}).get("unit")
    else:
        code = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 2
        unit = {2: "inch", 3: "cm"}.get(code)  # 1: no unit: pixels only
        if unit == "inch" and abs(x_per - 72) < 1e-6 or unit == "inch" and abs(x_per - 96) < 1e-6:
            return None  # the screen default of drawing programs, not a calibration
    x, y = _microns(1 / x_per, unit), _microns(1 / y_per, unit)
    return PixelSize(y, x) if x and y else None


def read_pixel_size(path: str | Path) -> PixelSize | None:
    """The input's pixel size in micrometres, or None when the file does not tell (PNG, JPEG, uncalibrated)."""
    path = Path(path)
    from petrilab.data.microscope import MICROSCOPE_SUFFIXES, microscope_pixel_size

    if path.suffix.lower() in MICROSCOPE_SUFFIXES:
        size = microscope_pixel_size(path)
        return PixelSize(*size) if size else None
    if path.suffix.lower() not in (".tif", ".tiff"):
        return None
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            return _from_ome(tif) or _from_resolution(tif)
    except Exception:  # unreadable metadata never stops a prediction: the labels are written without scale
        return None


def write_labels(path: str | Path, labels: np.ndarray, pixel_size: PixelSize | None = None,
                 dtype: type | None = None) -> Path:
    """A label image or mask as an ImageJ TIFF (8 or 16 bits; 32-bit float past 65,535 objects, as ImageJ
    has no 32-bit integers), compressed, with the pixel size when known. Written atomically.

    `dtype` fixes the bit depth (annotation masks keep one depth per task whatever their largest label)."""
    import tifffile

    labels = np.asarray(labels)
    if dtype is None:
        top = int(labels.max(initial=0))
        dtype = np.uint8 if top < 256 else np.uint16 if top < 65536 else np.float32
    options = {"imagej": True, "compression": "zlib"}
    if pixel_size is not None:
        options["resolution"] = (1.0 / pixel_size.x, 1.0 / pixel_size.y)
        options["metadata"] = {"unit": pixel_size.unit}
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, labels.astype(dtype), **options)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, buffer.getvalue())


def write_label_stack(path: str | Path, labels: np.ndarray, voxel=None) -> Path:
    """A (Z, Y, X) label stack or mask as an ImageJ hyperstack TIFF (axes ZYX) with its voxel size, (z, y, x)
    in µm, when known: the plane spacing as ImageJ's `spacing`, the pixel size as X/YResolution, unit micron,
    as Fiji saves a calibrated stack (Fiji and napari open it at scale). Bit depth as write_labels chooses."""
    import tifffile

    labels = np.asarray(labels)
    top = int(labels.max(initial=0))
    dtype = np.uint8 if top < 256 else np.uint16 if top < 65536 else np.float32
    metadata: dict = {"axes": "ZYX"}
    options: dict = {"imagej": True, "compression": "zlib"}
    if voxel:
        z, y, x = (float(v) for v in voxel)
        metadata.update({"spacing": z, "unit": "micron"})
        options["resolution"] = (1.0 / x, 1.0 / y)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, labels.astype(dtype), metadata=metadata, **options)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, buffer.getvalue())
