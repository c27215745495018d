"""Reading one image file into an (height, width, channels) array.

TIFF goes through tifffile (8/16/32-bit, multi-channel, OME, ImageJ
hyperstacks); PNG, JPEG and BMP through imageio. Whatever the format, the
caller gets (H, W, C) with 1 to 4 channels in the file's own bit depth, or a
`UserError` that names the file and says what to do. A z-stack or a time
series is refused rather than silently flattened: which plane matters is the
biologist's decision, not ours.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from petrilab.data import finite as finite_pixels
from petrilab.errors import UserError

from petrilab.data.microscope import MICROSCOPE_SUFFIXES, read_microscope  # CZI, ND2, LIF (optional readers)
from petrilab.data import pillow_read

IMAGE_SUFFIXES = {".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp"} | MICROSCOPE_SUFFIXES
TIFF_SUFFIXES = {".tif", ".tiff"}
MAX_CHANNELS = 4

# Pillow modes whose shape and depth the header tells without decoding:
# mode -> (channels as read_image returns them, dtype, has alpha)
_PIL_MODES = {
    "1": (1, "uint8", False),
    "L": (1, "uint8", False),
    "LA": (1, "uint8", False),  # grey + transparency: the transparency is dropped
    "RGB": (3, "uint8", False),
    "RGBA": (4, "uint8", True),
    "I;16": (1, "uint16", False),
    "I;16L": (1, "uint16", False),
    "I;16B": (1, "uint16", False),
    "F": (1, "float32", False),
}


@dataclass
class ImageInfo:
    height: int
    width: int
    channels: int
    dtype: str
    alpha: bool = False  # the last channel is transparency (PNG/BMP RGBA), not a measurement
    notes: tuple[str, ...] = ()  # what reading does to show it as a viewer does (pillow_read.NOTE_WORDS)


def is_image_file(path) -> bool:
    """True for a file name PetriLab reads as an image (by its extension).

    Names starting with a dot are hidden files, e.g. the '._cell.tif' copies
    macOS leaves on USB drives; they are not images.
    """
    path = Path(path)
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _is_tiff(path: Path) -> bool:
    return path.suffix.lower() in TIFF_SUFFIXES


# ---------------------------------------------------------------- errors


def _unreadable(path: Path, reason: str = "") -> UserError:
    detail = f" ({reason})" if reason else ""
    return UserError(
        f"The image '{path.name}' cannot be read: the file is damaged, cut short or not an image{detail}.",
        file=path,
        fix="Open it in Fiji to check it. Replace it with a good copy, or move it out of the data folder.",
    )


def _no_permission(path: Path) -> UserError:
    return UserError(
        f"The image '{path.name}' cannot be opened: PetriLab has no permission to read it.",
        file=path,
        fix="Ask the file's owner to let you read it, or copy it to a folder of your own and use that copy.",
    )


def _stack_refused(path: Path, kind: str, n: int) -> UserError:
    return UserError(
        f"The image '{path.name}' is a {kind} ({n} planes); PetriLab learns from single 2-D images.",
        file=path,
        fix="In Fiji, choose the plane you want (Image > Stacks > Z Project..., or Duplicate one slice) "
            "and save it as its own TIFF.",
    )


def _too_many_channels(path: Path, n: int) -> UserError:
    return UserError(
        f"The image '{path.name}' has {n} channels; PetriLab handles 1 to {MAX_CHANNELS} channels.",
        file=path,
        fix="In Fiji, keep the channels that matter (Image > Color > Arrange Channels...) and save again.",
    )


# ---------------------------------------------------------------- TIFF


def _tiff_layout(path: Path, shape: tuple[int, ...], axes: str) -> tuple[list[int], list[int], int]:
    """How to turn a TIFF series into (H, W, C).

    Returns (axes to squeeze, transpose order of what is left, channels).
    tifffile names each axis: Y, X the plane; S samples (RGB); C channels;
    Z depth; T time; Q or I an unnamed stack of pages, which we accept as
    channels only when there are few enough (a channel-first stack).
    """
    if len(axes) != len(shape) or "Y" not in axes or "X" not in axes:
        axes = _guess_axes(shape)
    squeeze = [i for i, (a, n) in enumerate(zip(axes, shape)) if n == 1 and a not in "YX"]
    kept = [(a, n) for i, (a, n) in enumerate(zip(axes, shape)) if i not in squeeze]
    names = [a for a, _ in kept]
    extra = [(i, a, n) for i, (a, n) in enumerate(kept) if a not in "YX"]
    for _, a, n in extra:
        if a == "Z":
            raise _stack_refused(path, "z-stack", n)
        if a == "T":
            raise _stack_refused(path, "time series", n)
    if len(extra) > 1:
        raise UserError(
            f"The image '{path.name}' holds several images at once (dimensions {''.join(names)}, "
            f"shape {tuple(n for _, n in kept)}); PetriLab reads single 2-D images.",
            file=path,
            fix="In Fiji, save each image of the stack as its own TIFF (Image > Stacks > Stack to Images).",
        )
    if extra:
        index, a, n = extra[0]
        if n > MAX_CHANNELS:
            if a in "CS":
                raise _too_many_channels(path, n)
            raise _stack_refused(path, "stack of images", n)
        channels = n
        order = [names.index("Y"), names.index("X"), index]
    else:
        channels = 1
        order = [names.index("Y"), names.index("X")]
    return squeeze, order, channels


def _guess_axes(shape: tuple[int, ...]) -> str:
    """Axis names from the shape alone, when the file does not say."""
    if len(shape) == 2:
        return "YX"
    if len(shape) == 3:
        return "YXS" if shape[2] <= MAX_CHANNELS else "QYX"
    return "Q" * (len(shape) - 2) + "YX"


def _check_tiff_complete(path: Path, tif) -> None:
    """A file cut short (copy interrupted, disk full) still has a valid header: compare the
    places its pixel data should be with the file's real size."""
    size = path.stat().st_size
    for page in tif.series[0].pages:
        if page is None:
            continue
        offsets = getattr(page, "dataoffsets", ()) or ()
        counts = getattr(page, "databytecounts", ()) or ()
        for offset, count in zip(offsets, counts):
            if offset + count > size:
                raise _unreadable(path, "the file is shorter than its header says")


def _tiff_series(path: Path):
    import tifffile

    tif = tifffile.TiffFile(path)
    try:
        if not tif.series:
            raise _unreadable(path, "no image inside")
        series = tif.series[0]
        return tif, series, str(series.axes), tuple(int(n) for n in series.shape)
    except BaseException:
        tif.close()
        raise


def _read_tiff(path: Path) -> np.ndarray:
    tif, series, axes, shape = _tiff_series(path)
    with tif:
        squeeze, order, _ = _tiff_layout(path, shape, axes)
        _check_tiff_complete(path, tif)
        array = series.asarray()
    array = np.asarray(array).reshape(shape)
    if squeeze:
        array = np.squeeze(array, axis=tuple(squeeze))
    array = np.transpose(array, order)
    return array


def _tiff_info(path: Path) -> ImageInfo:
    tif, series, axes, shape = _tiff_series(path)
    with tif:
        squeeze, order, channels = _tiff_layout(path, shape, axes)
        _check_tiff_complete(path, tif)
        kept = [n for i, n in enumerate(shape) if i not in squeeze]
        height, width = kept[order[0]], kept[order[1]]
        dtype = _native_dtype(np.dtype(series.dtype))
    return ImageInfo(height, width, channels, dtype.name)


# ---------------------------------------------------------------- PNG, JPEG, BMP


def _read_other(path: Path, indices: bool = False) -> np.ndarray:
    _check_other_complete(path)
    return pillow_read.read_pillow(path, indices=indices)[0]  # Pillow, as image_info


def _check_other_complete(path: Path) -> None:
    """Cheap end-of-file checks that catch a PNG, JPEG or BMP cut short without decoding it."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(32)
        f.seek(max(0, size - 1024))
        tail = f.read()
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        if b"IEND" not in tail[-16:]:
            raise _unreadable(path, "the file is cut short")
    elif head.startswith(b"\xff\xd8"):
        if b"\xff\xd9" not in tail:
            raise _unreadable(path, "the file is cut short")
    elif head.startswith(b"BM") and len(head) >= 6:
        declared = struct.unpack("<I", head[2:6])[0]
        if size < declared:
            raise _unreadable(path, "the file is cut short")


def _other_info(path: Path) -> ImageInfo:
    from PIL import Image

    _check_other_complete(path)
    with pillow_read.open_image(path) as image:
        height, width = pillow_read.turned_size(image)
        mode = image.mode
        notes = pillow_read.header_notes(image)
        if mode in ("P", "PA"):
            mode, note = pillow_read.palette_mode_after(image)
            notes.append(note)
        elif mode == "CMYK":
            mode = "RGB"
    if mode in _PIL_MODES:
        channels, dtype, alpha = _PIL_MODES[mode]
        return ImageInfo(height, width, channels, dtype, alpha, tuple(notes))
    array = read_image(path)  # a rare mode: decode to know what we will get
    return ImageInfo(array.shape[0], array.shape[1], array.shape[2], array.dtype.name,
                     alpha=mode in ("RGBA", "PA"), notes=tuple(notes))


# ---------------------------------------------------------------- public


def _native_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype read_image hands out for a file stored as `dtype`."""
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    if dtype == np.float16:
        return np.dtype(np.float32)
    return dtype


def _as_hwc(array: np.ndarray, path: Path) -> np.ndarray:
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3 or array.shape[0] < 1 or array.shape[1] < 1:
        raise _unreadable(path, f"unexpected shape {array.shape}")
    if array.shape[2] > MAX_CHANNELS:
        raise _too_many_channels(path, array.shape[2])
    if np.iscomplexobj(array) or array.dtype.kind not in "biuf":
        raise _unreadable(path, f"pixel type {array.dtype} is not supported")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255  # black and white: 0 and 255, like an 8-bit mask
    elif array.dtype == np.float16:
        array = array.astype(np.float32)
    return np.ascontiguousarray(array)


def _missing(path: Path) -> UserError:
    return UserError(f"The image '{path.name}' does not exist (any more).", file=path,
                     fix="Check that the data folder was not moved or renamed, then check the data again.")


def read_image(path, finite: bool = True, indices: bool = False) -> np.ndarray:
    """The pixels of one image as (height, width, channels), in the file's own bit depth.

    `finite`: NaN and infinite pixels of a float image become the median of its finite pixels
    (data/finite.py), so one such pixel cannot turn a whole training into NaN; False gives the
    file's values as they are (masks, and the check that counts them).
    indices=True (masks): a palette image gives its indices, which are the labels, not its colours.
    """
    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    try:
        if path.suffix.lower() in MICROSCOPE_SUFFIXES:
            array = read_microscope(path)
        elif _is_tiff(path):
            try:
                array = _read_tiff(path)
            except UserError:
                raise
            except Exception as exc:
                if not _not_a_tiff(exc):
                    raise
                array = _read_other(path, indices)  # e.g. a PNG or JPEG saved with a .tif name
        else:
            array = _read_other(path, indices)
        array = _as_hwc(array, path)
    except UserError:
        raise
    except PermissionError:
        raise _no_permission(path) from None
    except MemoryError:
        raise UserError(f"The image '{path.name}' is too large to fit in memory.", file=path,
                        fix="Make it smaller in Fiji (Image > Scale...) or crop it.") from None
    except Exception as exc:
        raise _unreadable(path, _reason(exc, path)) from None
    return finite_pixels.fill(array, path) if finite else array


def image_info(path) -> ImageInfo:
    """Size, channels and bit depth of an image, from its header where the format allows."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    try:
        if path.suffix.lower() in MICROSCOPE_SUFFIXES:  # no cheap header reading: decode the plane
            array = read_image(path)
            return ImageInfo(array.shape[0], array.shape[1], array.shape[2], array.dtype.name)
        if _is_tiff(path):
            try:
                return _tiff_info(path)
            except UserError:
                raise
            except Exception as exc:
                if not _not_a_tiff(exc):
                    raise
                return _other_info(path)
        return _other_info(path)
    except UserError:
        raise
    except PermissionError:
        raise _no_permission(path) from None
    except Exception as exc:
        raise _unreadable(path, _reason(exc, path)) from None


def _not_a_tiff(exc: Exception) -> bool:
    return "not a TIFF file" in str(exc) and "header=b''" not in str(exc)


def _reason(exc: Exception, path: Path) -> str:
    """The reader's own words, short and without the full path (the message names the file already)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.replace(f"'{path}'", "").replace(str(path), "").replace("  ", " ").strip(" :")
    return text[:120]
