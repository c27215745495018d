"""The report's charts drawn as inline SVG, no plotting library: training curves, predicted against true,
scores as bars."""

from __future__ import annotations

import math

from petrilab.export.report_html import esc

CURVE_COLOURS = {"train": "#1f77b4", "validation": "#d62728"}


def _tick(value: float, other: float) -> str:
    """`value` with enough digits to differ from `other` (a loss going from 1.0987 to 1.0981)."""
    for digits in range(3, 8):
        if f"{value:.{digits}g}" != f"{other:.{digits}g}":
            return f"{value:.{digits}g}"
    return f"{value:.3g}"


def svg_curves(history: list[dict], metric: str, title: str, width=440, height=250) -> str:
    series = {"train": [h.get(metric) for h in history], "validation": [h.get(f"val_{metric}") for h in history]}
    values = [v for s in series.values() for v in s if isinstance(v, float) and math.isfinite(v)]
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        high = low + 1e-9
    left, pad = 48, 30
    n = max(len(history) - 1, 1)

    def point(i, v):
        x = left + (width - left - pad) * i / n
        y = height - pad - (height - 2 * pad) * (v - low) / (high - low)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{esc(title)}</text>',
             f'<line x1="{left}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>',
             f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{height - pad}" stroke="#888"/>',
             f'<text x="{left - 4}" y="{pad + 4}" text-anchor="end" font-size="10">{_tick(high, low)}</text>',
             f'<text x="{left - 4}" y="{height - pad}" text-anchor="end" font-size="10">{_tick(low, high)}</text>',
             f'<text x="{left}" y="{height - pad + 14}" font-size="10">1</text>',
             f'<text x="{width - pad}" y="{height - pad + 14}" text-anchor="end" font-size="10">epoch {len(history)}</text>',
             f'<text x="{(left + width - pad) / 2}" y="{height - pad + 14}" text-anchor="middle" font-size="10">epochs</text>']
    for k, (name, vals) in enumerate(series.items()):
        pts = [point(i, v) for i, v in enumerate(vals) if isinstance(v, float) and math.isfinite(v)]
        if pts:
            parts.append(f'<polyline fill="none" stroke="{CURVE_COLOURS[name]}" stroke-width="2" points="{" ".join(pts)}"/>')
            if len(pts) == 1:
                x, y = pts[0].split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{CURVE_COLOURS[name]}"/>')
            parts.append(f'<text x="{left + 90 * k}" y="{height - 4}" font-size="11" '
                         f'fill="{CURVE_COLOURS[name]}">— {name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_scatter(true: list[float], pred: list[float], title: str, size=260) -> str:
    """Predicted against true, with the diagonal a perfect model would follow."""
    pairs = [(t, p) for t, p in zip(true, pred) if math.isfinite(t) and math.isfinite(p)]
    if not pairs:
        return ""
    low = min(min(t, p) for t, p in pairs)
    high = max(max(t, p) for t, p in pairs)
    if high == low:
        high = low + 1e-9
    pad = 40

    def xy(t, p):
        x = pad + (size - 2 * pad) * (t - low) / (high - low)
        y = size - pad - (size - 2 * pad) * (p - low) / (high - low)
        return x, y

    (x0, y0), (x1, y1) = xy(low, low), xy(high, high)
    parts = [f'<svg width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img" aria-label="{esc(title)}">',
             f'<text x="{size / 2}" y="16" text-anchor="middle" font-size="13">{esc(title)}</text>',
             f'<rect x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}" fill="none" stroke="#888"/>',
             f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#aaa" stroke-dasharray="4 3"/>',
             f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle" font-size="10">true</text>',
             f'<text x="12" y="{size / 2}" text-anchor="middle" font-size="10" '
             f'transform="rotate(-90 12 {size / 2})">predicted</text>',
             f'<text x="{pad}" y="{size - pad + 12}" font-size="9">{low:.3g}</text>',
             f'<text x="{size - pad}" y="{size - pad + 12}" text-anchor="end" font-size="9">{high:.3g}</text>']
    for t, p in pairs:
        x, y = xy(t, p)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#1f77b4" fill-opacity="0.6"/>')
    parts.append("</svg>")
    return "".join(parts)


def svg_bars(values: dict[str, float], title: str, width=440) -> str:
    """Horizontal bars from 0 to 1 (scores per label or class)."""
    if not values:
        return ""
    row, left = 20, 120
    height = 30 + row * len(values)
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="13">{esc(title)}</text>']
    span = width - left - 50
    for i, (name, v) in enumerate(values.items()):
        y = 24 + i * row
        v = v if isinstance(v, float) and math.isfinite(v) else 0.0
        parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" font-size="11">{esc(name[:18])}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{max(span * min(max(v, 0), 1), 1):.1f}" height="{row - 6}" '
                     'fill="#1f77b4"/>')
        parts.append(f'<text x="{left + span * min(max(v, 0), 1) + 4:.1f}" y="{y + 12}" font-size="10">{v:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)
