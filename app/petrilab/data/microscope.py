"""Microscope files (Zeiss CZI, Nikon ND2, Leica LIF) through optional readers.

The readers are maintained packages installed with PetriLab's `formats`
extra (czifile, nd2, readlif). When one is missing, the user is told which
extra to install. Like TIFF stacks, a file holding several z-planes or
time points is refused: which plane matters is the biologist's choice.
A LIF project with several images, or a CZI/ND2 with several positions,
gives its first one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.errors import UserError

READERS = {".czi": ("czifile", "Zeiss CZI"), ".nd2": ("nd2", "Nikon ND2"), ".lif": ("readlif", "Leica LIF")}
MICROSCOPE_SUFFIXES = set(READERS)
EXTRA = "formats"


def _import(path: Path):
    module, kind = READERS[path.suffix.lower()]
    try:
        return __import__(module)
    except ImportError:
        raise UserError(f"The image '{path.name}' is a {kind} file, and the reader for {kind} files is not "
                        "installed in this PetriLab.", file=path,
                        fix=f"Install PetriLab with its microscope formats: pip install \"petrilab[{EXTRA}]\" "
                            f"(or pip install {module}); or save the image as TIFF in Fiji.") from None


def _stack(path: Path, what: str, n: int) -> UserError:
    return UserError(f"The image '{path.name}' is a {what} ({n} planes); PetriLab learns from single 2-D images.",
                     file=path, fix="In Fiji, choose the plane you want (Image > Stacks > Z Project..., or "
                                    "Duplicate one slice) and save it as its own TIFF.")


def to_hwc(array: np.ndarray, axes: str, path: Path) -> np.ndarray:
    """An array with named axes (letters as the readers use: Y, X, C, S samples, Z, T, others) → (H, W, C).

    Z and T with more than one plane are refused; other axes (scenes, positions, blocks) give their first.
    """
    axes = axes.upper()
    if len(axes) != array.ndim:
        raise ValueError(f"axes {axes!r} do not match the shape {array.shape}")
    for name, what in (("Z", "z-stack"), ("T", "time series")):
        if name in axes and array.shape[axes.index(name)] > 1:
            raise _stack(path, what, array.shape[axes.index(name)])
    index = tuple(slice(None) if a in "YXCS0" else 0 for a in axes)
    kept = "".join(a for a in axes if a in "YXCS0")
    array = array[index]
    channel_axes = [i for i, a in enumerate(kept) if a in "CS0"]
    order = [kept.index("Y"), kept.index("X"), *channel_axes]
    array = np.transpose(array, order)
    return array.reshape(array.shape[0], array.shape[1], -1)


def _first_scene_only(czi) -> None:
    """czifile 2019 paints every scene (slide-scanner regions) onto one canvas, gaps unfilled: keep the first."""
    def scene(entry) -> int:
        return next((d.start for d in entry.dimension_entries if d.dimension == "S"), 0)

    entries = czi.filtered_subblock_directory
    scenes = {scene(e) for e in entries}
    if len(scenes) > 1:
        czi.filtered_subblock_directory = [e for e in entries if scene(e) == min(scenes)]


def _read_czi(module, path: Path) -> np.ndarray:
    with module.CziFile(str(path)) as czi:
        if hasattr(czi, "axes"):  # czifile up to 2019 (Python 3.11): one array; S = scenes, 0 = colour samples
            _first_scene_only(czi)
            return to_hwc(np.asarray(czi.asarray()), czi.axes.replace("S", "P"), path)
        # czifile from 2025 (Python 3.12+): an image per scene, its axes squeezed; S = colour samples
        image = next(iter(czi.scenes.values()))
        return to_hwc(np.asarray(image.asarray()), image.axes, path)


def _read_nd2(module, path: Path) -> np.ndarray:
    with module.ND2File(str(path)) as f:
        sizes = dict(f.sizes)
        array = np.asarray(f.asarray())
    return to_hwc(array, "".join(k[0] for k in sizes), path)


def _lif_image(path: Path):
    from readlif.reader import LifFile  # the package itself does not export LifFile

    return LifFile(str(path)).get_image(0)


def _read_lif(module, path: Path) -> np.ndarray:
    image = _lif_image(path)
    dims = image.dims  # x, y, z, t, m
    if dims.z > 1:
        raise _stack(path, "z-stack", dims.z)
    if dims.t > 1:
        raise _stack(path, "time series", dims.t)
    planes = [np.asarray(image.get_frame(z=0, t=0, c=c)) for c in range(image.channels)]
    return np.stack(planes, axis=-1)


def _czi_pixel_size(module, path: Path) -> tuple[float, float] | None:
    import xml.etree.ElementTree as ET

    with module.CziFile(str(path)) as czi:
        metadata = czi.metadata()
    root = ET.fromstring(metadata) if isinstance(metadata, str) else metadata
    metres = {}
    for distance in root.iter("Distance"):  # Metadata/Scaling/Items/Distance Id="X": metres per pixel
        value = distance.findtext("Value")
        if distance.get("Id") in ("X", "Y") and value:
            metres[distance.get("Id")] = float(value)
    if "X" not in metres:
        return None
    return metres.get("Y", metres["X"]) * 1e6, metres["X"] * 1e6


def _nd2_pixel_size(module, path: Path) -> tuple[float, float] | None:
    with module.ND2File(str(path)) as f:
        size = f.voxel_size()  # x, y, z in micrometres
    return float(size.y), float(size.x)


def _lif_pixel_size(module, path: Path) -> tuple[float, float] | None:
    scale = _lif_image(path).scale  # pixels per micrometre: x, y, z, t
    if not scale or not scale[0]:
        return None
    return 1.0 / float(scale[1] or scale[0]), 1.0 / float(scale[0])


def microscope_pixel_size(path: Path) -> tuple[float, float] | None:
    """(y, x) size of a pixel in micrometres as the microscope file records it; None when it does not say
    or cannot be read (a missing calibration never stops anything)."""
    path = Path(path)
    reader = {".czi": _czi_pixel_size, ".nd2": _nd2_pixel_size, ".lif": _lif_pixel_size}.get(path.suffix.lower())
    if reader is None:
        return None
    try:
        size = reader(_import(path), path)
    except Exception:
        return None
    if size is None or not all(np.isfinite(v) and v > 0 for v in size):
        return None
    return size


def read_microscope(path: Path) -> np.ndarray:
    """One microscope file as (H, W, C) in its own bit depth; UserError with what to do otherwise."""
    path = Path(path)
    module = _import(path)
    reader = {".czi": _read_czi, ".nd2": _read_nd2, ".lif": _read_lif}[path.suffix.lower()]
    try:
        return reader(module, path)
    except UserError:
        raise
    except Exception as exc:
        kind = READERS[path.suffix.lower()][1]
        raise UserError(f"The image '{path.name}' cannot be read as a {kind} file ({exc.__class__.__name__}): "
                        "it may be damaged, cut short or from a newer microscope software.", file=path,
                        fix="Open it in Fiji (Bio-Formats) to check it, and save the plane you want as TIFF.") from None
