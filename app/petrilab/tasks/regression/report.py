"""Regression's test-set section of report.html and report.pdf."""

from __future__ import annotations

from pathlib import Path

from petrilab.export.report import fmt, read_csv
from petrilab.export.report_blocks import Charts, Para, Table
from petrilab.export.report_svg import svg_scatter

TEST_PREDICTIONS = "test_predictions.csv"


def regression_section(evaluation: dict, run_dir: Path) -> list:
    """Errors per value against the mean's, and a predicted-vs-true plot per value."""
    m = evaluation["metrics"]
    body: list = [Table([[t, fmt(v["mae"], 4), fmt(v["rmse"], 4), fmt(v["r2"]), fmt(v["baseline_mae"], 4),
                          fmt(v["baseline_rmse"], 4)] for t, v in m["per_target"].items()],
                        ["value", "MAE", "RMSE", "R²", "baseline MAE", "baseline RMSE"]),
                  Para("Baseline: always answering the training images' mean. A useful model has errors well "
                       "below it.")]
    rows = read_csv(run_dir / TEST_PREDICTIONS)
    plots = []
    for target in m["per_target"]:
        try:
            true = [float(r[f"true_{target}"]) for r in rows]
            pred = [float(r[f"predicted_{target}"]) for r in rows]
        except (KeyError, ValueError):
            continue
        plots.append(svg_scatter(true, pred, f"{target}: predicted vs true"))
    plots = [p for p in plots if p]
    if plots:
        body.append(Charts(plots))
    return body
