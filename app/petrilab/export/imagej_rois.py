"""Objects as ImageJ and Fiji read and write them: a ROI set (a .zip of .roi files, the ROI Manager's
More › Save…), one polygon ROI per object, exported from a label image and imported back into one
(issue #17). The `roifile` package reads and writes the .roi format.

Coordinates are ImageJ's pixel coordinates, the same pixel edges as QuPath's: the outlines export/outlines.py
traces, stored with subpixel precision. An object in several parts is one ROI per part, all named after its
label (`label-0007`, `label-0007.2`), so they come back as one object.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np

from petrilab.errors import UserError
from petrilab.export.outlines import inside, object_outlines
from petrilab.runs import atomic_write_bytes

ROI_NAME = re.compile(r"label-(\d+)(?:\.\d+)?$")  # the names written here; ImageJ's own ("0012-0034") differ
FIX = ("Save the ROIs again from ImageJ's ROI Manager (More › Save…, a .zip), or choose a label image "
       "or a QuPath GeoJSON file instead.")


def _roifile():
    try:
        import roifile
    except ImportError:
        raise UserError("ImageJ ROI sets need the roifile package, which is not installed here.",
                        fix="pip install 'petrilab[formats]' (or pip install roifile), then try again.") from None
    return roifile


def _rois(labels: np.ndarray) -> list:
    ImagejRoi = _roifile().ImagejRoi

    rois = []
    for value, rings in object_outlines(labels):
        for k, ring in enumerate(rings):
            name = f"label-{value:04d}" + (f".{k + 1}" if k else "")
            rois.append(ImagejRoi.frompoints(np.asarray(ring[:-1], np.float32), name=name))
    return rois


def write_rois(path: str | Path, labels: np.ndarray) -> Path:
    """Write `labels`' objects as a ROI set (`path` ends in .zip), or as one .roi file when it ends in .roi
    and the image holds a single object in one part. Written whole or not at all."""
    path = Path(path)
    rois = _rois(labels)
    if path.suffix.lower() == ".roi":
        if len(rois) != 1:
            raise UserError(f"A .roi file holds one outline; this image has {len(rois)}.", file=path,
                            fix="Give a file name ending in .zip, for a ROI set.")
        return atomic_write_bytes(path, rois[0].tobytes())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for roi in rois:
            zf.writestr(f"{roi.name}.roi", roi.tobytes())
    return atomic_write_bytes(path, buffer.getvalue())


def read_rois(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A uint16 label image of `shape` from a ROI set (.zip) or one .roi file: each ROI with an area
    (polygon, freehand, traced, rectangle, oval, composite) an object, numbered in the file's order (the
    label in its name when it was written here); lines and points are skipped; later objects drawn over
    earlier ones; a composite ROI's inner paths cut holes."""
    roifile = _roifile()
    ROI_TYPE = roifile.ROI_TYPE
    path = Path(path)
    try:
        found = roifile.roiread(path)
    except OSError as exc:
        raise UserError(f"{path.name} could not be read ({exc.strerror or exc}).", file=path, fix=FIX) from None
    except (ValueError, zipfile.BadZipFile, EOFError, IndexError, KeyError, TypeError) as exc:
        raise UserError(f"{path.name} is not an ImageJ ROI file, or it is damaged ({exc}).", file=path,
                        fix=FIX) from None
    rois = found if isinstance(found, list) else [found]
    flat = (ROI_TYPE.LINE, ROI_TYPE.FREELINE, ROI_TYPE.POLYLINE, ROI_TYPE.ANGLE, ROI_TYPE.POINT, ROI_TYPE.NOROI)
    out = np.zeros(shape, np.uint16)
    by_name: dict[str, int] = {}
    used: set[int] = set()
    next_label = 1
    for roi in rois:
        if roi.roitype in flat and roi.multi_coordinates is None:
            continue  # no area: not an object
        match = ROI_NAME.match(roi.name or "")
        key = match.group(1) if match else None
        if key in by_name:
            value = by_name[key]
        elif match and 0 < int(key) < 65536 and int(key) not in used:
            value = int(key)
        else:
            while next_label in used:
                next_label += 1
            value = next_label
        if value >= 65536:
            raise UserError(f"{path.name} holds more than 65535 objects.", file=path, fix="Split it into several files.")
        used.add(value)
        if key is not None:
            by_name[key] = value
        try:
            drawn = np.zeros(shape, bool)
            for ring in roi.coordinates(multi=True):
                if len(ring) >= 3:
                    drawn ^= inside(ring, shape)  # a composite's inner paths are holes
        except (TypeError, ValueError, IndexError) as exc:
            raise UserError(f"{path.name} holds an outline that cannot be drawn ({exc}).", file=path,
                            fix=FIX) from None
        out[drawn] = value
    return out
