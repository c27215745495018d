"""Reading one z-stack (a confocal or light-sheet volume) into a (Z, Y, X, C) array and its voxel size.

The 2-D reader (images.py) refuses stacks; this one is for the per-pixel tasks that accept them
(`Task.stacks`). TIFF and OME-TIFF go through tifffile: ZYX, ZCYX and ImageJ hyperstacks; axes of
length one are dropped, a time series is refused (which time point matters is the biologist's choice).
A TIFF that does not name its axes (pages written one after another) is read as planes when it has more
pages than a 2-D image has channels. The voxel size (z, y, x in µm) comes from the OME metadata
(PhysicalSizeZ/Y/X) or ImageJ's (spacing and the resolution tags) when the file has it, else it is None.

Nothing here imports Keras or Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from petrilab.data.microscope import MICROSCOPE_SUFFIXES
from petrilab.data.pixel_size import imagej_sizes, ome_sizes
from petrilab.errors import UserError

STACK_SUFFIXES = {".tif", ".tiff"}
MAX_CHANNELS = 4


@dataclass(frozen=True)
class Stack:
    pixels: np.ndarray  # (Z, Y, X, C), the file's own bit depth
    voxel: tuple[float, float, float] | None  # (z, y, x) in µm, None when the file does not say

    @property
    def size(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.pixels.shape[:3])


def _not_a_stack(path: Path) -> UserError:
    return UserError(f"The image '{path.name}' is a single 2-D image, not a z-stack.", file=path,
                     fix="Give a folder of z-stacks only (every image a stack), or choose 2-D data for this run.")


def _time_refused(path: Path, n: int) -> UserError:
    return UserError(f"The image '{path.name}' is a time series ({n} time points); PetriLab reads one z-stack "
                     "per file.", file=path,
                     fix="In Fiji, keep the time point you want (Image > Duplicate..., one frame) and save it as "
                         "its own TIFF.")


def _unreadable(path: Path, reason: str) -> UserError:
    return UserError(f"The image '{path.name}' cannot be read as a z-stack ({reason}).", file=path,
                     fix="Open it in Fiji to check it. Replace it with a good copy, or move it out of the data "
                         "folder.")


def stack_axes(shape: tuple[int, ...], axes: str) -> str:
    """The axes tifffile names, with unnamed page axes (Q, I) called Z or C by their length."""
    if len(axes) != len(shape):
        axes = "Q" * (len(shape) - 2) + "YX"
    named = []
    for a, n in zip(axes, shape):
        if a in "QI":
            a = "C" if (n <= MAX_CHANNELS and "Z" in axes) else "Z"
        if a == "S":
            a = "C"
        named.append(a)
    return "".join(named)


def _to_zyxc(path: Path, data: np.ndarray, axes: str) -> np.ndarray:
    keep = [i for i, (a, n) in enumerate(zip(axes, data.shape)) if n > 1 or a in "ZYX"]
    extra = [(axes[i], data.shape[i]) for i in keep if axes[i] not in "ZYXC"]
    for a, n in extra:
        if a == "T":
            raise _time_refused(path, n)
    if "Z" not in axes:
        raise _not_a_stack(path)
    if extra or axes.count("Z") != 1 or axes.count("C") > 1:
        raise UserError(f"The image '{path.name}' holds several images at once (dimensions {axes}, shape "
                        f"{data.shape}); PetriLab reads one z-stack per file.", file=path,
                        fix="In Fiji, save each stack as its own TIFF (Image > Duplicate...).")
    data = data.squeeze(axis=tuple(i for i in range(data.ndim) if i not in keep))
    names = "".join(axes[i] for i in keep)
    if "C" not in names:
        data, names = data[..., None], names + "C"
    if data.shape[names.index("Z")] < 2:
        raise _not_a_stack(path)
    channels = data.shape[names.index("C")]
    if channels > MAX_CHANNELS:
        raise UserError(f"The image '{path.name}' has {channels} channels; PetriLab handles 1 to {MAX_CHANNELS}.",
                        file=path, fix="In Fiji, keep the channels that matter (Image > Color > Arrange "
                                       "Channels...) and save again.")
    return np.transpose(data, [names.index(a) for a in "ZYXC"])


def _ome_voxel(xml: str) -> tuple[float, float, float] | None:
    sizes = ome_sizes(xml)
    return (sizes["z"], sizes["y"], sizes["x"]) if len(sizes) == 3 else None


def _imagej_voxel(tif) -> tuple[float, float, float] | None:
    sizes = imagej_sizes(tif)
    return (sizes["z"], sizes["y"], sizes["x"]) if len(sizes) == 3 else None


def read_stack(path) -> Stack:
    """The stack in `path` as (Z, Y, X, C) and its voxel size, or a UserError naming the file."""
    import tifffile

    path = Path(path)
    if path.suffix.lower() in MICROSCOPE_SUFFIXES:
        from petrilab.data.microscope_stacks import read_microscope_stack

        return Stack(*read_microscope_stack(path))
    if path.suffix.lower() not in STACK_SUFFIXES:
        raise UserError(f"The file '{path.name}' is not a TIFF; PetriLab reads z-stacks from TIFF, OME-TIFF, CZI, "
                        "ND2 and LIF.", file=path, fix="In Fiji, open it and save it as TIFF (File > Save As > "
                                                       "Tiff...).")
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = series.asarray()
            axes = stack_axes(data.shape, series.axes)
            if tif.is_ome and tif.ome_metadata:
                voxel = _ome_voxel(tif.ome_metadata)
            elif tif.is_imagej:
                voxel = _imagej_voxel(tif)
            else:
                voxel = None
    except PermissionError:
        raise UserError(f"The image '{path.name}' cannot be opened: PetriLab has no permission to read it.",
                        file=path, fix="Ask the file's owner to let you read it, or copy it to a folder of your "
                                       "own and use that copy.") from None
    except (OSError, ValueError, IndexError, KeyError, tifffile.TiffFileError) as error:
        raise _unreadable(path, str(error) or type(error).__name__) from None
    return Stack(_to_zyxc(path, data, axes), voxel)


def stack_planes(path) -> int:
    """How many z-planes the TIFF in `path` holds by its header (1 for a 2-D image); 0 if it cannot say."""
    import tifffile

    if Path(path).suffix.lower() not in STACK_SUFFIXES:
        return 1  # PNG, JPEG, BMP: always one plane
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            axes = stack_axes(series.shape, series.axes)
    except Exception:  # noqa: BLE001 - unreadable files are reported by the reader, not here
        return 0
    return int(np.prod([n for a, n in zip(axes, series.shape) if a == "Z"] or [1]))


def anisotropy_words(voxel: tuple[float, float, float] | None) -> str:
    """The voxel size in plain words: how much farther apart the planes are than the pixels."""
    if voxel is None:
        return "The files do not say how far apart the planes are; PetriLab treats planes and pixels alike."
    z, y, x = voxel
    ratio = z / ((y + x) / 2)
    size = f"voxels of {z:g} × {y:g} × {x:g} µm (z × y × x)"
    if abs(ratio - 1) < 0.1:
        return f"{size.capitalize()}: planes are as far apart as pixels."
    if ratio > 1:
        return f"{size.capitalize()}: planes are {ratio:.3g}× farther apart than pixels."
    return f"{size.capitalize()}: planes are {1 / ratio:.3g}× closer together than pixels."


def _few(paths: list[Path], n: int = 3) -> str:
    names = ", ".join(f"'{p.name}'" for p in paths[:n])
    return names + (f" and {len(paths) - n} more" if len(paths) > n else "")


def folder_dimensions(paths) -> str:
    """'3d' when every image in `paths` is a z-stack, '2d' when none is or when 2-D images are the majority
    (a stray stack among them is then refused on its own by the 2-D reader and left out, as before stacks
    were read); a mix with as many stacks as 2-D images or more is refused, naming files of each."""
    paths = [Path(p) for p in paths]
    planes = {p: stack_planes(p) for p in paths}
    stacks = [p for p in paths if planes[p] > 1]
    flat = [p for p in paths if planes[p] == 1]
    if stacks and flat and len(stacks) >= len(flat):
        raise UserError(
            f"The folder mixes z-stacks ({len(stacks)}: {_few(stacks)}) and single 2-D images ({len(flat)}: "
            f"{_few(flat)}); PetriLab learns from one or the other.", file=flat[0].parent,
            fix="Keep only z-stacks in the folder (or only 2-D images): move the others to a folder of their own.")
    return "3d" if stacks and not flat else "2d"
