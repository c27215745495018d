"""Z-stacks from microscope files (Zeiss CZI, Nikon ND2, Leica LIF), with their voxel sizes.

The same optional readers as the 2-D images (microscope.py), keeping the z planes the 2-D reader
refuses. `to_zyxc` turns an array whose axes the reader names (Z, Y, X, C, S or 0 colour samples, T, and
others such as scenes and positions) into (Z, Y, X, C): a time series is refused, other axes give their
first entry. The voxel size (z, y, x in µm) is the one the file records, or None.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.data.microscope import READERS, _czi_pixel_size, _first_scene_only, _import, _lif_image
from petrilab.errors import UserError


def to_zyxc(array: np.ndarray, axes: str, path: Path) -> np.ndarray:
    """(Z, Y, X, C) from an array with named axes; UserError naming the file for a 2-D image or a time series."""
    from petrilab.data.stacks import _not_a_stack, _time_refused

    axes = axes.upper()
    if len(axes) != array.ndim:
        raise ValueError(f"axes {axes!r} do not match the shape {array.shape}")
    if "T" in axes and array.shape[axes.index("T")] > 1:
        raise _time_refused(path, array.shape[axes.index("T")])
    if "Z" not in axes or array.shape[axes.index("Z")] < 2:
        raise _not_a_stack(path)
    index = tuple(slice(None) if a in "ZYXCS0" else 0 for a in axes)
    kept = "".join(a for a in axes if a in "ZYXCS0")
    array = np.transpose(array[index], [kept.index(a) for a in "ZYX"] + [i for i, a in enumerate(kept) if a in "CS0"])
    return array.reshape(array.shape[:3] + (-1,))


def _czi(module, path: Path):
    with module.CziFile(str(path)) as czi:
        if hasattr(czi, "axes"):  # czifile up to 2019
            _first_scene_only(czi)
            pixels = to_zyxc(np.asarray(czi.asarray()), czi.axes.replace("S", "P"), path)
        else:
            image = next(iter(czi.scenes.values()))
            pixels = to_zyxc(np.asarray(image.asarray()), image.axes, path)
    return pixels, _czi_voxel(module, path)


def _czi_voxel(module, path: Path):
    import xml.etree.ElementTree as ET

    plane = _czi_pixel_size(module, path)
    with module.CziFile(str(path)) as czi:
        metadata = czi.metadata()
    root = ET.fromstring(metadata) if isinstance(metadata, str) else metadata
    z = next((float(d.findtext("Value")) * 1e6 for d in root.iter("Distance")
              if d.get("Id") == "Z" and d.findtext("Value")), None)
    return (z, *plane) if plane and z else None


def _nd2(module, path: Path):
    with module.ND2File(str(path)) as f:
        sizes = dict(f.sizes)
        array = np.asarray(f.asarray())
        size = f.voxel_size()  # x, y, z in µm
    return to_zyxc(array, "".join(k[0] for k in sizes), path), (float(size.z), float(size.y), float(size.x))


def _lif(module, path: Path):
    image = _lif_image(path)
    dims = image.dims  # x, y, z, t, m
    if dims.t > 1:
        from petrilab.data.stacks import _time_refused

        raise _time_refused(path, dims.t)
    planes = [np.stack([np.asarray(image.get_frame(z=z, t=0, c=c)) for c in range(image.channels)], axis=-1)
              for z in range(dims.z)]
    pixels = to_zyxc(np.stack(planes), "ZYXC", path)
    scale = image.scale  # pixels per µm: x, y, z, t
    voxel = None
    if scale and all(scale[:3]):
        voxel = (1.0 / float(scale[2]), 1.0 / float(scale[1]), 1.0 / float(scale[0]))
    return pixels, voxel


def read_microscope_stack(path: Path):
    """(pixels (Z, Y, X, C), voxel or None) of a CZI, ND2 or LIF z-stack; UserError with what to do otherwise."""
    path = Path(path)
    module = _import(path)
    reader = {".czi": _czi, ".nd2": _nd2, ".lif": _lif}[path.suffix.lower()]
    try:
        pixels, voxel = reader(module, path)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - the readers raise anything on a damaged file
        kind = READERS[path.suffix.lower()][1]
        raise UserError(f"The image '{path.name}' cannot be read as a {kind} z-stack ({exc.__class__.__name__}): "
                        "it may be damaged, cut short or from a newer microscope software.", file=path,
                        fix="Open it in Fiji (Bio-Formats) to check it, and save the stack as TIFF.") from None
    if voxel is not None and not all(np.isfinite(v) and v > 0 for v in voxel):
        voxel = None
    return pixels, voxel
