"""report.html: the report's blocks laid out as one self-contained page (inline styles, pictures as inline
PNG), which opens anywhere, offline, and prints cleanly."""

from __future__ import annotations

import base64
import html
import io

from petrilab.export.report_blocks import (Bullets, Charts, Code, Confusion, Document, Figures, Heading, Para,
                                           Table, cell_colour)


def esc(value) -> str:
    return html.escape(str(value))


def _table(rows: list[list], header: list[str] | None = None, cls: str = "") -> str:
    out = [f"<table class='{cls}'>" if cls else "<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _confusion(classes: list[str], matrix: list[list[int]]) -> str:
    out = ["<table class='confusion'><tr><th>true ↓ / predicted →</th>"
           + "".join(f"<th>{esc(c)}</th>" for c in classes) + "</tr>"]
    for i, (c, row) in enumerate(zip(classes, matrix)):
        total = max(sum(row), 1)
        cells = []
        for j, n in enumerate(row):
            r, g, b, a = cell_colour(i, j, n / total)
            cells.append(f"<td style='background:rgba({r},{g},{b},{a:.2f})'>{n}</td>")
        out.append(f"<tr><th>{esc(c)}</th>{''.join(cells)}</tr>")
    out.append("</table>")
    return "".join(out)


def _html_block(block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{esc(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        return f"<p class='warn'>{esc(block.text)}</p>" if block.warn else f"<p>{esc(block.text)}</p>"
    if isinstance(block, Table):
        return _table(block.rows, block.header, cls="facts" if block.facts else "")
    if isinstance(block, Confusion):
        return _confusion(block.classes, block.matrix)
    if isinstance(block, Bullets):
        title = f"<p>{esc(block.title)}</p>" if block.title else ""
        return title + "<ul>" + "".join(f"<li>{esc(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Charts):
        return "<div class='plots'>" + "".join(block.svgs) + "</div>"
    if isinstance(block, Figures):
        legend = ""
        if block.legend:
            legend = "<p>Outlines: " + ", ".join(f"<span style='color:{c}'>{esc(w)}</span>"
                                                 for c, w in block.legend) + ".</p>"
        figures = "".join(f"<figure><img src='{_png(rgb)}' width='{min(360, max(rgb.shape[1], 240))}'>"
                          f"<figcaption>{esc(caption)}</figcaption></figure>" for rgb, caption in block.images)
        return legend + "<div class='plots'>" + figures + "</div>"
    if isinstance(block, Code):
        return "<pre>" + esc(block.text) + "</pre>"
    raise TypeError(f"no HTML for {block!r}")


def _png(rgb) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


STYLE = ("body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222;line-height:1.35}"
         "h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:2px;margin-top:1.4em}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
         "th{background:#f3f3f3}table.facts td:first-child{color:#555}table.confusion td{text-align:center;min-width:3em}"
         ".plots{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}figure{margin:0}"
         "figcaption{font-size:.85em;color:#555}img{image-rendering:pixelated}"
         ".warn{color:#a40}pre{background:#f6f6f6;padding:1em;font-size:.85em;white-space:pre-wrap}"
         "@media print{body{margin:0}h2{break-after:avoid}.plots,table,figure{break-inside:avoid}}")


def render_html(document: Document) -> str:
    body = [f"<h1>{esc(document.title)}</h1>", f"<p>{esc(document.subtitle)}</p>"]
    body += [_html_block(block) for block in document.blocks]
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>PetriLab report</title><style>" + STYLE
            + "</style></head><body>" + "".join(body) + "</body></html>")
