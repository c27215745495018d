"""Measuring each object of a label stack, like Fiji's 3D Objects Counter: one row per object.

Volume in voxels and, when the voxel size is known, in µm³; the surface (a marching-cubes mesh of the object,
in µm² when the voxel size is known, else in pixel units); the centroid (z, y, x) in voxels (and µm); the
bounding box; the mean and largest intensity of each channel of the stack as it was on disk, numbered from 1
as in Fiji.
"""

from __future__ import annotations

import numpy as np


def _surface(mask: np.ndarray, spacing) -> float:
    """The area of the object's outer surface, from a mesh around its voxels (padded so it closes)."""
    from skimage.measure import marching_cubes, mesh_surface_area

    padded = np.pad(mask.astype(np.float32), 1)
    try:
        vertices, faces, _, _ = marching_cubes(padded, level=0.5, spacing=tuple(float(s) for s in spacing))
    except (ValueError, RuntimeError):  # too small or flat for a mesh
        return 0.0
    return float(mesh_surface_area(vertices, faces))


def measure_objects_3d(labels: np.ndarray, stack: np.ndarray | None = None, voxel=None) -> list[dict]:
    """One dict per object (label order): label, volume_voxels, surface, centroid_z/y/x, bbox_z/y/x and
    depth/height/width, mean_intensity_chN and max_intensity_chN per channel of the (Z, Y, X, C) `stack`; with
    `voxel` ((z, y, x) µm) also volume_um3, surface_um2 and centroid_z/y/x_um (else surface_px)."""
    from skimage.measure import regionprops

    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise ValueError(f"labels must be a (Z, Y, X) label stack, not {labels.shape}")
    if not labels.any():
        return []
    intensity = None
    if stack is not None:
        intensity = np.asarray(stack)
        if intensity.ndim == 3:
            intensity = intensity[..., np.newaxis]
        if intensity.shape[:3] != labels.shape:
            raise ValueError(f"stack {intensity.shape[:3]} and labels {labels.shape} differ in shape")
    spacing = tuple(float(v) for v in voxel) if voxel else (1.0, 1.0, 1.0)
    rows = []
    for region in regionprops(labels.astype(np.int32, copy=False)):
        z0, y0, x0, z1, y1, x1 = region.bbox
        cz, cy, cx = region.centroid
        row = {"label": int(region.label), "volume_voxels": int(region.area),
               "centroid_z": float(cz), "centroid_y": float(cy), "centroid_x": float(cx),
               "bbox_z": z0, "bbox_y": y0, "bbox_x": x0, "bbox_depth": z1 - z0, "bbox_height": y1 - y0,
               "bbox_width": x1 - x0}
        surface = _surface(region.image, spacing)
        if voxel:
            row.update({"volume_um3": row["volume_voxels"] * float(np.prod(spacing)), "surface_um2": surface,
                        "centroid_z_um": cz * spacing[0], "centroid_y_um": cy * spacing[1],
                        "centroid_x_um": cx * spacing[2]})
        else:
            row["surface_px"] = surface
        if intensity is not None:
            inside = intensity[region.slice][region.image]  # (voxels, C)
            for c in range(intensity.shape[3]):
                row[f"mean_intensity_ch{c + 1}"] = float(inside[:, c].mean())
                row[f"max_intensity_ch{c + 1}"] = inside[:, c].max().item()
        rows.append(row)
    return rows


def stack_summary(rows: list[dict], n_voxels: int) -> dict:
    """One stack in a line: the count, mean/median/min/max/total volume (and µm³), the share of the stack the
    objects fill, and the objects' mean intensity per channel."""
    summary: dict = {"count": len(rows)}
    volumes = np.array([r["volume_voxels"] for r in rows], dtype=float)
    for name, fn in (("mean", np.mean), ("median", np.median), ("min", np.min), ("max", np.max)):
        summary[f"{name}_volume_voxels"] = float(fn(volumes)) if rows else None
    summary["total_volume_voxels"] = int(volumes.sum())
    summary["volume_fraction"] = float(volumes.sum() / n_voxels) if n_voxels else None
    if rows and "volume_um3" in rows[0]:
        summary["mean_volume_um3"] = float(np.mean([r["volume_um3"] for r in rows]))
        summary["total_volume_um3"] = float(np.sum([r["volume_um3"] for r in rows]))
    for key in (rows[0] if rows else {}):
        if key.startswith("mean_intensity_ch"):
            summary[key] = float(np.mean([r[key] for r in rows]))
    return summary
