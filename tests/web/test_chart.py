"""The usage page's chart: the axis end and the SVG bars."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from aicenter.web.chart import nice_top, stacked_bars


@pytest.mark.parametrize(("peak", "top"), [(0, 4), (1, 1), (3.7, 4), (4.01, 8), (17, 20),
                                           (999, 1000), (0.0042, 0.008), (0.3, 0.4)])
def test_axis_ends_on_a_nice_number_at_or_above_the_peak(peak: float, top: float) -> None:
    assert nice_top(peak) == pytest.approx(top)
    assert nice_top(peak) >= peak


def test_bars_stack_in_proportion_and_names_are_escaped() -> None:
    days = [date(2026, 3, 1), date(2026, 3, 2)]
    svg = stacked_bars(days, [("<b>Uni</b>", {days[0]: Decimal(1), days[1]: Decimal(3)}),
                              ("Lab & Co", {days[1]: Decimal(1)})])
    assert "<b>" not in svg and "&lt;b&gt;Uni&lt;/b&gt;" in svg and "Lab &amp; Co" in svg
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert len(heights) == 3  # no segment for a zero value
    one, three, other = heights
    assert three == pytest.approx(3 * one, abs=0.2) and other == pytest.approx(one, abs=0.2)
    # the day of 3 + 1 fills the plot to the axis end of 4
    assert three + other == pytest.approx(260 - 12 - 28, abs=0.3)


def test_horizontal_bars_in_proportion_a_missing_value_shows_a_dash() -> None:
    from aicenter.web.chart import bars

    svg = bars([("a<chip>", 1.0), ("b", 3.0), ("c", None)], "days", "Days", highlight="b")
    assert "&lt;chip&gt;" in svg and "<chip>" not in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert len(widths) == 2 and widths[1] == pytest.approx(3 * widths[0], abs=0.2)
    assert svg.count('fill="#f57900"') == 1  # the highlighted row
    assert ">–</text>" in svg
