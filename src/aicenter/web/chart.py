"""A stacked bar chart as inline SVG, drawn on the server (no JavaScript chart library).

One bar per day; each bar stacks one segment per organisation, ``height = value × scale`` with
``scale = plot height / top`` where ``top`` is the axis' end: the smallest "nice" number
(1, 2, 2.5 or 5 × 10^k) times the tick count that is at least the tallest bar.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
TICKS = 4
PALETTE = ("#3465a4", "#f57900", "#4e9a06", "#cc0000", "#75507b", "#c4a000", "#06989a",
           "#555753")
"""Series colours, repeated after eight organisations (the legend names each)."""


def nice_top(peak: float, ticks: int = TICKS) -> float:
    """The axis end: ``ticks × step`` with step 1, 2, 2.5 or 5 × 10^k, the least ≥ ``peak``."""
    if peak <= 0:
        return float(ticks)
    raw = peak / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    return step * ticks


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _label(value: float) -> str:
    return f"{value:g}"


def stacked_bars(days: list[date], series: list[tuple[str, dict[date, Decimal]]],
                 unit: str = "h100e-h") -> str:
    """SVG of one bar per day in ``days``, stacking each (name, values by day) series."""
    totals = [sum((float(v.get(d, 0)) for _, v in series), 0.0) for d in days]
    top = nice_top(max(totals, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    scale = plot_h / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'role="img" aria-label="{escape(unit)} per organisation per day" class="chart">']
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = TOP + plot_h - value * scale
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     f'class="grid"/><text x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_label(value)}</text>')
    parts.append(f'<text x="4" y="{TOP + 10}" class="unit">{escape(unit)}</text>')
    for i, day in enumerate(days):
        x = LEFT + i * slot + (slot - bar) / 2
        base = float(TOP + plot_h)
        for k, (name, values) in enumerate(series):
            value = float(values.get(day, 0))
            if value <= 0:
                continue
            h = value * scale
            base -= h
            parts.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colour(k)}"><title>{escape(name)}, {day.isoformat()}: '
                         f'{value:.6f} {escape(unit)}</title></rect>')
        if len(days) <= 16 or day.day % 5 == 0 or day.day == 1:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 10}" '
                         f'text-anchor="middle">{day.day}</text>')
    parts.append("</svg>")
    return "".join(parts)
