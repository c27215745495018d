"""Evaluating restoration on the test images: PSNR and SSIM against their clean images where there are any,
always beside the noisy input's and non-local means' (scores.py); without clean images, plainly no ground
truth, and what changed. Each test image's restored version is kept for the window (test_masks/, as
`<name>_restored.tif`). A part of RestorationRecipe (recipe.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.data.images import read_image
from petrilab.errors import UserError
from petrilab.tasks.restoration.normalise import as_channels
from petrilab.tasks.restoration.scores import COMPARED, before_after, compare_to_target

CAUTION = ("A restoration network can invent structures that look real: look at the difference image (restored − "
           "input) and a line profile before trusting a detail, and do not measure intensities on restored images "
           "without checking them against raw data.")
NO_GROUND_TRUTH = ("There is no ground truth: the test images have no clean version (DATA/targets), so how close "
                   "the result is to the truth cannot be measured. Compare before and after by eye, with the "
                   "difference image.")
NAMES = {"input": "noisy input", "non_local_means": "non-local means", "network": "PetriLab"}


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


class RestorationEvaluation:
    """`evaluate`, `summary_line`, `report_section`; the recipe gives `restore`."""

    def evaluate(self, trained, samples):
        from petrilab.tasks.restoration.prediction import restored_tiff, unique_path

        channels = trained.prep.channels
        folder = getattr(trained, "test_masks_dir", None)
        problems: list[str] = []
        scored = {"psnr": {k: [] for k in COMPARED}, "ssim": {k: [] for k in COMPARED}}
        changes: dict[str, list[float]] = {"noise_before": [], "noise_after": [], "mean_change": []}
        header = ["file", "target"] + [f"{m}_{k}" for m in ("psnr", "ssim") for k in COMPARED] + \
                 ["noise_before", "noise_after", "mean_change", "restored"]
        rows, used = [], set()
        for sample in samples:
            try:
                image = read_image(sample.path)
                truth = read_image(sample.target) if getattr(sample, "target", None) else None
            except UserError as exc:
                problems.append(f"Skipped {sample.path}: {exc.message}")
                continue
            if truth is not None and truth.shape[:2] != image.shape[:2]:
                problems.append(f"Skipped {sample.path}: its target has another size.")
                continue
            restored = self.restore(trained, image)
            noisy = as_channels(image, channels)
            saved = ""
            if folder is not None:
                path = unique_path(Path(folder) / f"{sample.path.stem}_restored.tif", used)
                restored_tiff(path, restored, sample.path, image.dtype, trained.settings.restoration.output_type)
                saved = path.name
            change = before_after(noisy, restored)
            for key, value in change.items():
                changes[key].append(value)
            row = [str(sample.path), str(sample.target) if truth is not None else ""]
            if truth is not None:
                found = compare_to_target(noisy, restored, as_channels(truth, channels))
                for metric in ("psnr", "ssim"):
                    for k in COMPARED:
                        scored[metric][k].append(found[metric][k])
                row += [round(found[m][k], 4) for m in ("psnr", "ssim") for k in COMPARED]
            else:
                row += [""] * (2 * len(COMPARED))
            rows.append(row + [round(change[k], 4) for k in ("noise_before", "noise_after", "mean_change")] + [saved])
        ground_truth = bool(scored["psnr"]["network"])
        metrics: dict = {}
        if ground_truth:
            metrics = {"psnr": _mean(scored["psnr"]["network"]), "ssim": _mean(scored["ssim"]["network"])}
            for metric in ("psnr", "ssim"):
                for k in COMPARED[:-1]:
                    metrics[f"{metric}_{k}"] = _mean(scored[metric][k])
        metrics.update({k: _mean(v) for k, v in changes.items()})
        warnings = list(problems)
        if not ground_truth:
            warnings.append(NO_GROUND_TRUTH)
        result = {"metrics": metrics, "ground_truth": ground_truth, "way": trained.settings.restoration.way,
                  "n_scored": len(scored["psnr"]["network"]), "caution": CAUTION, "warnings": warnings,
                  "n_images": len(rows)}
        if ground_truth:
            result["compared"] = {m: {k: _mean(scored[m][k]) for k in COMPARED} for m in ("psnr", "ssim")}
        return result, header, rows

    def summary_line(self, result):
        return summary_line(result)

    def report_section(self, evaluation, run_dir, trained=None):
        from petrilab.tasks.restoration.report import restoration_section

        return restoration_section(evaluation, run_dir, trained)


def summary_line(result: dict) -> str:
    m = result.get("metrics", {})
    if result.get("ground_truth"):
        return (f"Against the clean images ({result.get('n_scored', 0)} test images): PSNR {m['psnr']:.2f} dB "
                f"(noisy input {m['psnr_input']:.2f}, non-local means {m['psnr_non_local_means']:.2f}); SSIM "
                f"{m['ssim']:.3f} (noisy input {m['ssim_input']:.3f}, non-local means "
                f"{m['ssim_non_local_means']:.3f}). {CAUTION}")
    before, after = m.get("noise_before"), m.get("noise_after")
    noise = f" Estimated noise {before:.3g} before, {after:.3g} after." if before is not None else ""
    return f"{NO_GROUND_TRUTH}{noise} {CAUTION}"
