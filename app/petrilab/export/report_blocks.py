"""The blocks a report is made of (headings, paragraphs, tables, a confusion matrix, charts, pictures, the
settings' text): export/report.py builds them once, export/report_html.py lays them out as report.html and
export/pdf.py as report.pdf, so both always say the same."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str
    warn: bool = False


@dataclass
class Table:
    rows: list[list]
    header: list[str] | None = None
    facts: bool = False  # two columns: what, value


@dataclass
class Confusion:
    """Rows: true class, columns: predicted class; each cell shaded by its share of the row."""

    classes: list[str]
    matrix: list[list[int]]


@dataclass
class Bullets:
    items: list[str]
    title: str = ""


@dataclass
class Charts:
    svgs: list[str]  # drawn side by side


@dataclass
class Figures:
    """Pictures (H, W, 3 uint8) with captions, and the colours of their outlines."""

    images: list[tuple[object, str]]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, what it marks)


@dataclass
class Code:
    text: str


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list


def cell_colour(row: int, column: int, share: float) -> tuple[int, int, int, float]:
    """Right answers in blue, mistakes in red, as strong as their share of the true class's images."""
    return (31, 119, 180, share) if row == column else (214, 39, 40, share)
