"""Measuring each object of a label image, like "Analyze Particles": one row per object.

Sizes and positions are in pixels; when the pixel size is known (in µm)
each also gets a calibrated column. Intensities are read from the image as
it was on disk, one column per channel, numbered from 1 as in Fiji.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from petrilab.runs import atomic_write_csv

_PROPERTIES = ("label", "area", "centroid", "bbox", "perimeter", "eccentricity", "solidity",
               "intensity_mean", "intensity_max")


def _channel_image(image: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if image is None:
        return None
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    if image.shape[:2] != tuple(shape):
        raise ValueError(f"image {image.shape[:2]} and labels {tuple(shape)} differ in size")
    return image


def measure_objects(labels: np.ndarray, image: np.ndarray | None = None,
                    pixel_size: float | None = None) -> list[dict]:
    """One dict per object (in label order): label, area_px, centroid_y/x, bbox_top/left/height/width,
    perimeter_px, eccentricity, solidity, mean_intensity_chN and max_intensity_chN per channel;
    with `pixel_size` (µm per pixel) also area_um2, perimeter_um, centroid_y_um, centroid_x_um."""
    from skimage.measure import regionprops_table

    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-D label image, not {labels.shape}")
    if labels.dtype == bool:
        labels = labels.astype(np.int32)
    image = _channel_image(image, labels.shape)
    properties = _PROPERTIES if image is not None else _PROPERTIES[:-2]
    if not labels.any():
        return []
    table = regionprops_table(labels.astype(np.int32, copy=False), intensity_image=image,
                              properties=properties)
    n_channels = image.shape[2] if image is not None else 0
    rows = []
    for i in range(len(table["label"])):
        row = {
            "label": int(table["label"][i]),
            "area_px": int(table["area"][i]),
            "centroid_y": float(table["centroid-0"][i]),
            "centroid_x": float(table["centroid-1"][i]),
            "bbox_top": int(table["bbox-0"][i]),
            "bbox_left": int(table["bbox-1"][i]),
            "bbox_height": int(table["bbox-2"][i] - table["bbox-0"][i]),
            "bbox_width": int(table["bbox-3"][i] - table["bbox-1"][i]),
            "perimeter_px": float(table["perimeter"][i]),
            "eccentricity": float(table["eccentricity"][i]),
            "solidity": float(table["solidity"][i]),
        }
        for c in range(n_channels):
            mean = table[f"intensity_mean-{c}"]
            top = table[f"intensity_max-{c}"]
            row[f"mean_intensity_ch{c + 1}"] = float(mean[i])
            row[f"max_intensity_ch{c + 1}"] = top[i].item()
        if pixel_size:
            row["area_um2"] = row["area_px"] * pixel_size ** 2
            row["perimeter_um"] = row["perimeter_px"] * pixel_size
            row["centroid_y_um"] = row["centroid_y"] * pixel_size
            row["centroid_x_um"] = row["centroid_x"] * pixel_size
        rows.append(row)
    return rows


def image_summary(rows: list[dict], image_area: int | None = None) -> dict:
    """One image in a line: count, mean/median/min/max/total area (and calibrated), mean shape and
    intensities; with `image_area` (pixels) also the share of the image the objects cover."""
    summary: dict = {"count": len(rows)}
    areas = np.array([r["area_px"] for r in rows], dtype=float)
    for name, fn in (("mean", np.mean), ("median", np.median), ("min", np.min), ("max", np.max)):
        summary[f"{name}_area_px"] = float(fn(areas)) if len(rows) else None
    summary["total_area_px"] = int(areas.sum())
    if image_area:
        summary["area_fraction"] = float(areas.sum() / image_area)
    if rows and "area_um2" in rows[0]:
        summary["mean_area_um2"] = float(np.mean([r["area_um2"] for r in rows]))
        summary["total_area_um2"] = float(np.sum([r["area_um2"] for r in rows]))
    for key in ("eccentricity", "solidity"):
        summary[f"mean_{key}"] = float(np.mean([r[key] for r in rows])) if rows else None
    for key in (rows[0] if rows else {}):
        if key.startswith("mean_intensity_ch"):
            summary[key] = float(np.mean([r[key] for r in rows]))
    return summary


# ---------------------------------------------------------------- CSV


def format_value(value) -> str:
    """Numbers with a decimal point whatever the computer's language; whole numbers without decimals."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        if abs(value) < 0.01:
            return f"{value:.4g}"
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def write_table(path: str | Path, rows: list[dict], columns: list[str] | None = None, excel: bool = False) -> Path:
    """Rows of numbers as a CSV (runs.atomic_write_csv, the one CSV writer; `excel`: the --excel option).
    `columns` default: the keys of the rows in first-seen order."""
    if columns is None:
        columns = []
        for row in rows:
            columns += [k for k in row if k not in columns]
    return atomic_write_csv(path, columns, [[format_value(row.get(c)) for c in columns] for row in rows], excel=excel)
