"""Restoration's test-set section of report.html and report.pdf: PSNR and SSIM of the noisy input, non-local means
and the network side by side (or plainly: no ground truth), the warning against measuring on restored images,
and a few test images before and after with their difference."""

from __future__ import annotations

from pathlib import Path

from petrilab.export.report import fmt
from petrilab.export.report_blocks import Figures, Heading, Para, Table
from petrilab.tasks.restoration.evaluation import CAUTION, NAMES, NO_GROUND_TRUTH
from petrilab.tasks.restoration.scores import COMPARED

EXAMPLES = 2


def restoration_section(evaluation: dict, run_dir: Path, trained) -> list:
    body: list = [Para(f"Learnt {'from pairs of noisy and clean images (CARE)' if evaluation.get('way') == 'pairs' else 'from the noisy images alone (Noise2Void)'}.")]
    compared = evaluation.get("compared")
    if compared:
        body.append(Table([[NAMES[k], fmt(compared["psnr"][k], 2), fmt(compared["ssim"][k])] for k in COMPARED],
                          ["", "PSNR (dB)", "SSIM"]))
        body.append(Para("Higher is better for both; each is scored against the clean images after a straight-line "
                         "fit of its intensities (scores.py)."))
    else:
        body.append(Para(NO_GROUND_TRUTH, warn=True))
        m = evaluation.get("metrics", {})
        body.append(Table([["estimated noise before", fmt(m.get("noise_before"))],
                           ["estimated noise after", fmt(m.get("noise_after"))],
                           ["mean change per pixel", fmt(m.get("mean_change"))]], facts=True))
    body.append(Para(CAUTION, warn=True))
    body += _examples(run_dir)
    return body


def _examples(run_dir: Path) -> list:
    """A few test images: input, restored and their difference, from test_predictions.csv and test_masks/."""
    try:
        from petrilab.data.images import read_image
        from petrilab.evaluation.evaluate_run import TEST_MASKS
        from petrilab.export.report import read_csv
        from petrilab.tasks.restoration.views import before_after_strip

        rows = [r for r in read_csv(run_dir / "test_predictions.csv") if r.get("restored")][:EXAMPLES]
        figures = []
        for row in rows:
            before = read_image(Path(row["file"]))
            after = read_image(run_dir / TEST_MASKS / row["restored"])
            figures.append((before_after_strip(before, after), f"{Path(row['file']).name}: input, restored, "
                                                                 "difference"))
        return [Heading("Examples from the test images", 3), Figures(figures)] if figures else []
    except Exception as exc:  # a report never fails because an example could not be drawn
        return [Para(f"Examples could not be drawn ({exc.__class__.__name__}).", warn=True)]

