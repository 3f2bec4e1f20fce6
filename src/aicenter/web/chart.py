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


BAR_ROW = 22
"""Height of one row of :func:`bars` in SVG units."""


def bars(rows: list[tuple[str, float | None]], unit: str, label: str,
         highlight: str | None = None) -> str:
    """SVG of one horizontal bar per (name, value) row, ``width = value × scale`` with
    ``scale = plot width / top`` (``top`` as in :func:`nice_top`); a row without a value
    shows "–" and no bar; ``highlight`` names the row drawn in the second colour."""
    top = nice_top(max((v for _, v in rows if v is not None), default=0.0))
    left, right = 200, 80
    plot_w = WIDTH - left - right
    height = TOP + BOTTOM + BAR_ROW * max(len(rows), 1)
    scale = plot_w / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'role="img" aria-label="{escape(label)}" class="chart">']
    for i in range(TICKS + 1):
        value = top * i / TICKS
        x = left + value * scale
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{height - BOTTOM}" '
                     f'class="grid"/><text x="{x:.1f}" y="{height - 10}" '
                     f'text-anchor="middle">{_label(value)}</text>')
    parts.append(f'<text x="{WIDTH - 4}" y="{height - 10}" text-anchor="end" '
                 f'class="unit">{escape(unit)}</text>')
    for k, (name, shown) in enumerate(rows):
        y = TOP + k * BAR_ROW
        parts.append(f'<text x="{left - 6}" y="{y + BAR_ROW * 0.7:.1f}" '
                     f'text-anchor="end">{escape(name)}</text>')
        if shown is None:
            parts.append(f'<text x="{left + 4}" y="{y + BAR_ROW * 0.7:.1f}">–</text>')
            continue
        value = shown
        w = value * scale
        fill = colour(1) if name == highlight else colour(0)
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{BAR_ROW - 6}" '
                     f'fill="{fill}"><title>{escape(name)}: {value:,.6g} {escape(unit)}'
                     f'</title></rect><text x="{left + w + 4:.1f}" '
                     f'y="{y + BAR_ROW * 0.7:.1f}">{value:,.4g}</text>')
    parts.append("</svg>")
    return "".join(parts)
