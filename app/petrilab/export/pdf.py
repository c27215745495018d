"""report.pdf: the run's report as a PDF, for a lab notebook, an email or a thesis appendix.

`petrilab report RUN --pdf [-o FILE.pdf]`. The content is report.html's, block
by block (export/report.py builds the blocks of export/report_blocks.py once):
the same tables, the training curves and score charts as vector drawings (fpdf2
draws our SVG), the segmentation examples as pictures, the settings and
software versions.

Fonts: fpdf2's built-in Helvetica has no Greek, arrows or non-Latin names, so
a Unicode font is embedded: DejaVu Sans, shipped in resources/fonts (free
licence, LICENSE-DejaVu.txt beside it; it travels into the frozen app with the
rest of resources/), so Greek, Cyrillic and accented class names print
everywhere. Chinese, Japanese and Korean are not in DejaVu: a CJK font of the
computer is added as a fallback when one is found (Windows and macOS have one;
on Linux e.g. fonts-noto-cjk). Without any Unicode font, the text falls back to
Helvetica with the few typographic signs we use spelt in ASCII.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from petrilab import runs
from petrilab.export import report_blocks as rb
from petrilab.export.report import build_document
from petrilab.resources import resources_dir

REPORT_PDF = "report.pdf"
PAGE_WIDTH, MARGIN = 210.0, 15.0  # A4, millimetres
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
PX = 0.2  # millimetres per SVG pixel: a 440-pixel chart is 88 mm wide, two fit side by side
FIGURE_WIDTH = 56.0  # segmentation examples, three a row
GREY, WARN, RULE = (85, 85, 85), (170, 68, 0), (200, 200, 200)

# (regular, bold, monospace) — the first set whose regular file exists is used; ours first
_OURS = resources_dir() / "fonts"
FONT_FILES = [
    (str(_OURS / "DejaVuSans.ttf"), str(_OURS / "DejaVuSans-Bold.ttf"), str(_OURS / "DejaVuSansMono.ttf")),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
     "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
     "/usr/share/fonts/dejavu/DejaVuSansMono.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
     "/usr/share/fonts/TTF/DejaVuSansMono.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"),
    ("C:/Windows/Fonts/arial.ttf", "C:/Windows/Fonts/arialbd.ttf", "C:/Windows/Fonts/consola.ttf"),
    ("/System/Library/Fonts/Supplemental/Arial.ttf", "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
     "/System/Library/Fonts/Supplemental/Courier New.ttf"),
    ("/Library/Fonts/Arial.ttf", "/Library/Fonts/Arial Bold.ttf", "/Library/Fonts/Courier New.ttf"),
]
# Fonts with Chinese, Japanese and Korean, used for the characters DejaVu lacks (the first found)
CJK_FONTS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "C:/Windows/Fonts/msyh.ttc", "C:/Windows/Fonts/simsun.ttc", "C:/Windows/Fonts/meiryo.ttc",
    "C:/Windows/Fonts/malgun.ttf", "/System/Library/Fonts/PingFang.ttc", "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
]
# for Helvetica (Latin-1 only): the signs our reports use, in plain letters
ASCII_SIGNS = {"—": "-", "–": "-", "≥": ">=", "≤": "<=", "→": "->", "↓": "", "…": "...", "•": "-", "’": "'",
               "“": '"', "”": '"', "≈": "~"}


class _Pdf:
    """fpdf2 with our fonts, page furniture and one method per block kind."""

    def __init__(self, title: str):
        from fpdf import FPDF

        writer = self

        class Pages(FPDF):
            def footer(self):
                self.set_y(-12)
                writer.font(7.5, colour=GREY)
                self.cell(0, 5, writer.text(f"{title} · page {self.page_no()}/{{nb}}"), align="C")

        self.pdf = Pages(format="A4", unit="mm")
        self.pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self.pdf.set_auto_page_break(True, margin=16)
        self.pdf.set_title(title)
        self.pdf.set_creator("PetriLab")
        self.unicode = self._load_fonts()
        self.pdf.add_page()

    # ------------------------------------------------------------ fonts and text

    def _load_fonts(self) -> bool:
        for regular, bold, mono in FONT_FILES:
            if Path(regular).is_file():
                try:
                    self.pdf.add_font("body", "", regular)
                    self.pdf.add_font("body", "B", bold if Path(bold).is_file() else regular)
                    self.pdf.add_font("mono", "", mono if Path(mono).is_file() else regular)
                    self._add_cjk_fallback()
                    return True
                except Exception:  # an unreadable font file: try the next, or Helvetica
                    continue
        return False

    def _add_cjk_fallback(self) -> None:
        for path in CJK_FONTS:
            if Path(path).is_file():
                try:
                    self.pdf.add_font("cjk", "", path)
                    self.pdf.set_fallback_fonts(["cjk"], exact_match=False)
                    return
                except Exception:  # a font fpdf2 cannot read: try the next
                    continue

    def font(self, size: float, bold: bool = False, mono: bool = False, colour=(34, 34, 34)) -> None:
        if self.unicode:
            self.pdf.set_font("mono" if mono else "body", "B" if bold else "", size)
        else:
            self.pdf.set_font("courier" if mono else "helvetica", "B" if bold else "", size)
        self.pdf.set_text_color(*colour)

    def text(self, value) -> str:
        value = str(value)
        if self.unicode:
            return value
        for sign, plain in ASCII_SIGNS.items():
            value = value.replace(sign, plain)
        return value.encode("latin-1", "replace").decode("latin-1")

    # ------------------------------------------------------------ layout

    def room(self, height: float) -> None:
        """A new page unless `height` millimetres still fit on this one."""
        if self.pdf.get_y() + height > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def title(self, title: str, subtitle: str) -> None:
        self.font(16, bold=True)
        self.pdf.multi_cell(0, 8, self.text(title), new_x="LMARGIN", new_y="NEXT")
        self.font(8.5, colour=GREY)
        self.pdf.multi_cell(0, 5, self.text(subtitle), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2)

    def heading(self, block: rb.Heading, following: float = 20.0) -> None:
        """`following`: the height of what comes under it, kept on the same page when it fits on one."""
        if block.level <= 2:
            self.room(14 + min(following, 120))  # never a heading alone at the foot of a page
            self.pdf.ln(3)
            self.font(12.5, bold=True)
            self.pdf.multi_cell(0, 7, self.text(block.text), new_x="LMARGIN", new_y="NEXT")
            y = self.pdf.get_y()
            self.pdf.set_draw_color(*RULE)
            self.pdf.line(MARGIN, y, PAGE_WIDTH - MARGIN, y)
            self.pdf.ln(2)
        else:
            self.room(8 + min(following, 120))
            self.pdf.ln(1)
            self.font(10.5, bold=True)
            self.pdf.multi_cell(0, 6, self.text(block.text), new_x="LMARGIN", new_y="NEXT")

    def para(self, block: rb.Para) -> None:
        self.font(9, colour=WARN if block.warn else (34, 34, 34))
        self.pdf.multi_cell(0, 4.8, self.text(block.text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def bullets(self, block: rb.Bullets) -> None:
        if block.title:
            self.font(9)
            self.pdf.multi_cell(0, 4.8, self.text(block.title), new_x="LMARGIN", new_y="NEXT")
        self.font(9)
        for item in block.items:
            self.pdf.set_x(MARGIN + 3)
            self.pdf.multi_cell(TEXT_WIDTH - 3, 4.8, self.text("• " + item), align="L", new_x="LMARGIN",
                                new_y="NEXT")
        self.pdf.ln(1)

    def _widths(self, rows: list[list], header: list[str] | None) -> list[float]:
        """Columns as wide as their longest text (within limits), the table at most the text width."""
        columns = max(len(r) for r in [*(rows or [[]]), header or []])
        longest = [4] * columns
        for row in [header or [], *rows]:
            for i, cell in enumerate(row):
                longest[i] = max(longest[i], min(len(str(cell)), 48))
        widths = [2.0 * n + 4 for n in longest]
        scale = min(1.0, TEXT_WIDTH / sum(widths))
        return [w * scale for w in widths]

    def table(self, block: rb.Table) -> None:
        from fpdf.fonts import FontFace

        rows = [[self.text(c) for c in row] for row in block.rows]
        header = [self.text(h) for h in block.header] if block.header else None
        widths = self._widths(rows, header)
        self.font(8.5)
        self.room(6 * min(len(rows) + 1, 4))
        with self.pdf.table(col_widths=widths, width=sum(widths), align="LEFT", text_align="LEFT",
                            first_row_as_headings=bool(header), line_height=4.6, padding=(1, 1.5),
                            headings_style=FontFace(emphasis="BOLD", fill_color=(243, 243, 243)),
                            borders_layout="ALL") as table:
            self.pdf.set_draw_color(*RULE)
            if header:
                table.row(header)
            for cells in rows:
                row = table.row()
                for i, cell in enumerate(cells):
                    row.cell(cell, style=FontFace(color=GREY) if block.facts and i == 0 else None)
        self.pdf.ln(2)

    def confusion(self, block: rb.Confusion) -> None:
        from fpdf.fonts import FontFace

        classes = [self.text(c) for c in block.classes]
        first = min(45.0, max(24.0, 1.9 * max(len(c) for c in classes) + 6))
        other = min(24.0, max(14.0, 1.9 * max(len(c) for c in classes) + 4), (TEXT_WIDTH - first) / len(classes))
        widths = [first] + [other] * len(classes)
        self.font(8.5 if len(classes) <= 5 else 7.5)
        self.room(7.0 * (len(classes) + 1) + 12)  # the whole matrix on one page (headers may take two lines)
        with self.pdf.table(col_widths=widths, width=sum(widths), align="LEFT", text_align="CENTER",
                            line_height=5, padding=(1, 1), borders_layout="ALL",
                            headings_style=FontFace(emphasis="BOLD", fill_color=(243, 243, 243))) as table:
            self.pdf.set_draw_color(*RULE)
            table.row([self.text("true ↓ / predicted →"), *classes])
            for i, (name, counts) in enumerate(zip(classes, block.matrix)):
                row = table.row()
                row.cell(name, style=FontFace(emphasis="BOLD", fill_color=(243, 243, 243)))
                total = max(sum(counts), 1)
                for j, n in enumerate(counts):
                    r, g, b, a = rb.cell_colour(i, j, n / total)
                    shade = tuple(round(255 - a * (255 - c)) for c in (r, g, b))
                    row.cell(str(n), style=FontFace(fill_color=shade))
        self.pdf.ln(2)

    def charts(self, block: rb.Charts) -> None:
        sizes = []
        for svg in block.svgs:
            width = float(re.search(r'width="([\d.]+)"', svg).group(1))
            height = float(re.search(r'height="([\d.]+)"', svg).group(1))
            sizes.append((width * PX, height * PX))
        x, row_height = MARGIN, 0.0
        top = self.pdf.get_y()
        for svg, (w, h) in zip(block.svgs, sizes):
            if x + w > PAGE_WIDTH - MARGIN + 0.1 and x > MARGIN:  # the next row
                top, x, row_height = top + row_height + 3, MARGIN, 0.0
            if top + h > self.pdf.page_break_trigger:
                self.pdf.add_page()
                top, x, row_height = self.pdf.get_y(), MARGIN, 0.0
            self.pdf.image(io.BytesIO(self._svg_for_pdf(svg).encode("utf-8")), x=x, y=top, w=w, h=h)
            x += w + 4
            row_height = max(row_height, h)
        self.pdf.set_xy(MARGIN, top + row_height + 3)

    def _svg_for_pdf(self, svg: str) -> str:
        """The chart with our font (fpdf2 draws SVG text in the font its family names)."""
        family = "body" if self.unicode else "helvetica"
        svg = svg.replace("<svg ", f'<svg font-family="{family}" ', 1)
        return svg if self.unicode else self.text(svg)

    def figures(self, block: rb.Figures) -> None:
        from PIL import Image

        if block.legend:
            self.font(9)
            self.pdf.write(4.8, self.text("Outlines: "))
            for k, (colour, word) in enumerate(block.legend):
                hexa = colour.lstrip("#")
                if len(hexa) == 3:
                    hexa = "".join(c * 2 for c in hexa)
                self.font(9, bold=True, colour=tuple(int(hexa[i:i + 2], 16) for i in (0, 2, 4)))
                self.pdf.write(4.8, self.text(word))
                self.font(9)
                self.pdf.write(4.8, ", " if k < len(block.legend) - 1 else ".")
            self.pdf.ln(6)
        x, top, row_height = MARGIN, self.pdf.get_y(), 0.0
        for rgb, caption in block.images:
            h = FIGURE_WIDTH * rgb.shape[0] / rgb.shape[1]
            if x + FIGURE_WIDTH > PAGE_WIDTH - MARGIN + 0.1:
                top, x, row_height = top + row_height + 2, MARGIN, 0.0
            if top + h + 6 > self.pdf.page_break_trigger:
                self.pdf.add_page()
                top, x, row_height = self.pdf.get_y(), MARGIN, 0.0
            self.pdf.image(Image.fromarray(rgb), x=x, y=top, w=FIGURE_WIDTH, h=h)
            self.pdf.set_xy(x, top + h + 0.5)
            self.font(7.5, colour=GREY)
            self.pdf.cell(FIGURE_WIDTH, 4, self.text(caption)[:60])
            x += FIGURE_WIDTH + 6
            row_height = max(row_height, h + 5)
        self.pdf.set_xy(MARGIN, top + row_height + 3)

    def code(self, block: rb.Code) -> None:
        self.font(7, mono=True)
        self.pdf.set_fill_color(246, 246, 246)
        self.pdf.multi_cell(0, 3.4, self.text(block.text.rstrip()), fill=True, padding=2, new_x="LMARGIN",
                            new_y="NEXT")
        self.pdf.set_fill_color(255, 255, 255)  # tables after it stay white
        self.pdf.ln(2)

    def add(self, block, following=None) -> None:
        if isinstance(block, rb.Heading):
            self.heading(block, _height(following))
            return
        kinds = {rb.Para: self.para, rb.Bullets: self.bullets, rb.Table: self.table, rb.Confusion: self.confusion,
                 rb.Charts: self.charts, rb.Figures: self.figures, rb.Code: self.code}
        kinds[type(block)](block)

    def bytes(self) -> bytes:
        return bytes(self.pdf.output())


def _height(block) -> float:
    """Roughly how tall a block is (mm), to keep a heading with it."""
    if isinstance(block, rb.Charts):
        return max(float(re.search(r'height="([\d.]+)"', svg).group(1)) * PX for svg in block.svgs) + 4
    if isinstance(block, rb.Figures):
        return FIGURE_WIDTH + 12
    if isinstance(block, (rb.Table, rb.Confusion)):
        return 5.5 * (len(block.rows if isinstance(block, rb.Table) else block.matrix) + 1) + 3
    return 20.0


def render_pdf(document: rb.Document) -> bytes:
    pdf = _Pdf(document.title)
    pdf.title(document.title, document.subtitle)
    blocks = document.blocks
    for i, block in enumerate(blocks):
        pdf.add(block, blocks[i + 1] if i + 1 < len(blocks) else None)
    return pdf.bytes()


def write_pdf(run_dir: str | Path, output: str | Path | None = None, trained=None) -> Path:
    """Write the run's report as a PDF (default: RUN/report.pdf) and return its path."""
    run_dir = Path(run_dir)
    path = Path(output) if output else run_dir / REPORT_PDF
    return runs.atomic_write_bytes(path, render_pdf(build_document(run_dir, trained)))
