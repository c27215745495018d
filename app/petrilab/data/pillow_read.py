"""PNG, JPEG and BMP through Pillow, read as the biologist sees them in a viewer.

What a plain decode gets wrong, and what we do instead (each is said once by
the dataset check, through `notes`):
- a palette ("indexed", mode P) image stores indices into a colour table. A
  grey palette is read as its grey values, a coloured one as RGB; a mask keeps
  the indices, which are its labels (`indices=True`).
- a CMYK JPEG (print software) is converted to RGB, not read as 4 channels.
- an EXIF orientation (phones, some cameras) is applied, so the pixels stand
  the way every viewer shows them, and the mask drawn on that view fits.
- Pillow refuses images above ~179 megapixels as "decompression bombs", a guard
  for web servers; a microscope tile scan is legitimately that large. We lift
  the limit for our reads and check memory ourselves instead.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from petrilab.errors import UserError

# what `notes` may hold, and the words the check uses for each
PALETTE_GREY, PALETTE_COLOUR, CMYK, ROTATED = "palette_grey", "palette_colour", "cmyk", "exif_rotated"
NOTE_WORDS = {
    PALETTE_GREY: "are palette (indexed) PNGs with grey colours: read as their grey values",
    PALETTE_COLOUR: "are palette (indexed) images with colours: read as colour (RGB)",
    CMYK: "are CMYK JPEGs (print colours): converted to RGB",
    ROTATED: "carry an EXIF orientation (rotated or mirrored by the camera): turned the way image viewers "
             "show them",
}
# EXIF tag 0x0112: values 5 to 8 turn the picture by a quarter, so height and width swap
_ORIENTATION_TAG = 0x0112
# An image that needs more than this share of the free memory is refused with a plain message.
MEMORY_SHARE = 0.8


@contextlib.contextmanager
def open_image(path: Path):
    """Image.open without the decompression-bomb limit (our files are the user's own, not a web upload).

    The limit is lifted for the whole engine process, never put back: restoring it after each read would race
    with another thread (batch loading) opening an image at that moment.
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    with Image.open(path) as image:
        yield image


def orientation(image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION_TAG, 1) or 1)
    except Exception:  # a damaged EXIF block: the pixels are still fine
        return 1


def turned_size(image) -> tuple[int, int]:
    """(height, width) as a viewer shows the image (EXIF orientation applied)."""
    width, height = image.size
    return (width, height) if orientation(image) in (5, 6, 7, 8) else (height, width)


def palette_is_grey(image) -> bool:
    """True when every colour the image uses from its palette has R = G = B."""
    palette = image.getpalette() or []
    entries = np.array(palette[: len(palette) // 3 * 3], dtype=np.int64).reshape(-1, 3)
    used = [index for _, index in (image.getcolors(maxcolors=256) or [])] or range(len(entries))
    used = [i for i in used if i < len(entries)]
    return bool(len(used)) and bool(np.all(entries[used, 0] == entries[used, 1])
                                    and np.all(entries[used, 1] == entries[used, 2]))


def palette_mode_after(image) -> tuple[str, str | None]:
    """(mode the pixels are read in, note) for an indexed image; grey palettes become grey."""
    transparent = "transparency" in image.info or image.mode == "PA"
    if palette_is_grey(image):
        return ("LA" if transparent else "L"), PALETTE_GREY
    return ("RGBA" if transparent else "RGB"), PALETTE_COLOUR


def _check_memory(path: Path, image) -> None:
    width, height = image.size
    depth = 4 if image.mode in ("I", "F") else 2 if image.mode.startswith("I;16") else 1
    # the decoded pixels once as Pillow holds them and once as our array (a palette or CMYK turned into RGB: 3 bands)
    needed = 2 * width * height * max(len(image.getbands()), 3 if image.mode in ("P", "PA", "CMYK") else 1) * depth
    try:
        import psutil

        free = psutil.virtual_memory().available
    except Exception:
        return
    if needed > MEMORY_SHARE * free:
        gb = 1024 ** 3
        raise UserError(f"The image '{path.name}' is {width} × {height} pixels: reading it needs about "
                        f"{needed / gb:.1f} GB and only {free / gb:.1f} GB of memory are free.", file=path,
                        fix="Make it smaller in Fiji (Image > Scale...) or crop it, or close other programs.")


def read_pillow(path: Path, indices: bool = False) -> tuple[np.ndarray, list[str]]:
    """The pixels of a PNG, JPEG or BMP (first frame) and what was done to show them as a viewer does."""
    from PIL import ImageOps

    notes: list[str] = []
    with open_image(path) as image:
        _check_memory(path, image)
        turn = orientation(image)
        if turn not in (1, 0):
            image = ImageOps.exif_transpose(image)
            notes.append(ROTATED)
        if image.mode in ("P", "PA"):
            if indices:
                image = image if image.mode == "P" else image.convert("P")
            else:
                mode, note = palette_mode_after(image)
                image = image.convert(mode)
                notes.append(note)
        elif image.mode == "CMYK":
            image = image.convert("RGB")
            notes.append(CMYK)
        elif image.mode not in ("1", "L", "LA", "RGB", "RGBA", "I;16", "I;16L", "I;16B", "I", "F"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 2:
        array = array[..., :1]  # grey + transparency: keep the grey
    return array, notes


def header_notes(image) -> list[str]:
    """The notes read_pillow would give, from the header alone (no decoding)."""
    notes = []
    if orientation(image) not in (1, 0):
        notes.append(ROTATED)
    if image.mode == "CMYK":
        notes.append(CMYK)
    return notes
