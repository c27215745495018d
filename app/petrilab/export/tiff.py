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

from petrilab.data.pixel_size import imagej_sizes, ome_sizes, resolution_sizes
from petrilab.runs import atomic_write_bytes


@dataclass(frozen=True)
class PixelSize:
    """The size of one pixel, in micrometres."""

    y: float
    x: float
    unit: str = "micron"  # as ImageJ writes it


def _from_ome(tif) -> PixelSize | None:
    if not tif.is_ome:
        return None
    sizes = ome_sizes(tif.ome_metadata)
    x = sizes.get("x")
    return PixelSize(sizes.get("y", x), x) if x else None


def _from_resolution(tif) -> PixelSize | None:
    if tif.is_imagej:
        sizes = imagej_sizes(tif)
        return PixelSize(sizes["y"], sizes["x"]) if sizes else None
    tags = tif.pages[0].tags
    code = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 2
    unit = {2: "inch", 3: "cm"}.get(code)  # 1: no unit: pixels only
    plane = resolution_sizes(tif.pages[0], unit)
    if plane is None:
        return None
    if unit == "inch" and any(abs(25_400.0 / plane[1] - dpi) < 1e-6 for dpi in (72, 96)):
        return None  # the screen default of drawing programs, not a calibration
    return PixelSize(*plane)


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
