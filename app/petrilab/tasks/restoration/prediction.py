"""Writing restored images: TIFFs at the input's scale (its pixel type or 32-bit float, restoration.output_type)
with its pixel size, and on request the difference image (restored − input), so that what the network changed
can be looked at in Fiji. A part of RestorationRecipe (recipe.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from petrilab.data.images import read_image
from petrilab.errors import UserError
from petrilab.prediction.options import DEFAULT
from petrilab.runs import atomic_write_bytes, atomic_write_csv
from petrilab.tasks.restoration.normalise import as_channels

PREDICTIONS = "predictions.csv"
COLUMNS = ["file", "restored_file", "difference_file", "noise_before", "noise_after", "mean_change", "problem"]


def unique_path(path: Path, used: set) -> Path:
    """`path`, or a numbered variant when another input of the same name (other extension) already took it."""
    candidate, n = path, 2
    while candidate in used:
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
        n += 1
    used.add(candidate)
    return candidate


def in_type(image: np.ndarray, dtype, output_type: str) -> np.ndarray:
    """The restored values as the file will hold them: the input's integer type (rounded, clipped to its range),
    or float32 (every value kept; also for float inputs)."""
    dtype = np.dtype(dtype)
    if output_type == "float32" or not np.issubdtype(dtype, np.integer):
        return image.astype(np.float32)
    if dtype.itemsize > 2:  # ImageJ has no 32-bit integers
        return image.astype(np.float32)
    info = np.iinfo(dtype)
    return np.clip(np.round(image), info.min, info.max).astype(dtype)


def write_image_tiff(path: Path, image: np.ndarray, pixel_size) -> Path:
    """An (H, W, C) image as an ImageJ TIFF (channels as a stack), compressed, with the pixel size when known."""
    import tifffile

    planes = image[..., 0] if image.shape[-1] == 1 else np.ascontiguousarray(np.moveaxis(image, -1, 0))
    options = {"imagej": True, "compression": "zlib", "metadata": {"axes": "YX" if planes.ndim == 2 else "CYX"}}
    if pixel_size is not None:
        options["resolution"] = (1.0 / pixel_size.x, 1.0 / pixel_size.y)
        options["metadata"]["unit"] = pixel_size.unit
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, planes, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, buffer.getvalue())


def restored_tiff(path: Path, restored: np.ndarray, source: Path, dtype, output_type: str) -> Path:
    from petrilab.export.tiff import read_pixel_size

    return write_image_tiff(path, in_type(restored, dtype, output_type), read_pixel_size(source))


class RestorationPrediction:
    """`predict`: the recipe gives `restore`."""

    def predict(self, trained, images, input_dir, output_dir, options=DEFAULT):
        from petrilab.export.tiff import read_pixel_size
        from petrilab.tasks.restoration.scores import before_after

        output_dir = Path(output_dir)
        wanted = trained.settings.restoration
        rows, used = [], set()
        for path in images:
            rel = path.relative_to(input_dir)
            try:
                image = read_image(path)
            except UserError as exc:
                rows.append([str(rel), "", "", "", "", "", exc.message])
                continue
            restored = self.restore(trained, image)
            target = unique_path(output_dir / "restored" / rel.parent / f"{rel.stem}_restored.tif", used)
            pixel_size = read_pixel_size(path)
            write_image_tiff(target, in_type(restored, image.dtype, wanted.output_type), pixel_size)
            noisy = as_channels(image, trained.prep.channels)
            difference = ""
            if wanted.save_difference:
                diff_path = unique_path(output_dir / "difference" / rel.parent / f"{rel.stem}_difference.tif", used)
                write_image_tiff(diff_path, (restored - noisy).astype(np.float32), pixel_size)
                difference = str(diff_path.relative_to(output_dir))
            change = before_after(noisy, restored)
            rows.append([str(rel), str(target.relative_to(output_dir)), difference,
                         *(round(change[k], 4) for k in ("noise_before", "noise_after", "mean_change")), ""])
        rows.sort(key=lambda r: r[0])
        return atomic_write_csv(output_dir / PREDICTIONS, COLUMNS, rows, excel=options.excel)
