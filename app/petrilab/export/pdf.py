"""`petrilab report RUN --pdf`: not built in this version.

No PDF library on the registry renders our report (inline SVG charts) without system libraries
we cannot ship with the installer, so the PDF comes from the browser: report.html has print
styles (tables and plots are never split across pages), and File > Print > Save as PDF gives it.
"""

from __future__ import annotations

from pathlib import Path

from petrilab import runs
from petrilab.errors import UserError


def write_pdf(run_dir: str | Path) -> Path:
    report = Path(run_dir) / runs.REPORT
    raise UserError("PetriLab does not write PDF files itself in this version.", file=report,
                    fix=f"Open {report} in your browser and choose File > Print > Save as PDF; "
                        "the page is laid out for printing.")
