"""Numbers in the words of the evidence and advice: losses with enough digits to tell them apart,
fractions as percentages."""

from __future__ import annotations

import math


def fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "not a number"
    if x == 0:
        return "0"
    if abs(x) >= 1e7:  # a loss that blew up: 7.3e+28, not 29 digits
        return f"{x:.2g}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.3g}"


def fmt_pair(a: float, b: float) -> tuple[str, str]:
    """Two values with enough digits to show that they differ (1.100 and 1.095, not 1.1 and 1.1)."""
    if fmt(a) != fmt(b):
        return fmt(a), fmt(b)
    for digits in (4, 5):
        left, right = f"{a:#.{digits}g}", f"{b:#.{digits}g}"  # '#' keeps trailing zeros: 1.100
        if left != right:
            return left, right
    return fmt(a), fmt(b)


def pct(fraction: float) -> str:
    return f"{100 * fraction:.0f} %"
