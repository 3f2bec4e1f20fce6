"""Driver's licence number (운전면허번호): AA-BB-CCCCCC-DD with AA ∈ 11–26 or 28.

No public check digit. The dashed 2-2-6-2 form with a valid region code is distinctive enough
to report (0.85); the 12-digit undashed form needs a context word (면허 ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aicenter.exchange.pii.base import Finding, PiiType, Trigger
from aicenter.exchange.pii.context import context_pattern, distinctive_or_in_context

SHAPE = re.compile(
    r"(?<![0-9A-Za-z\-])(?:1[1-9]|2[0-6]|28)(-?)\d{2}\1\d{6}\1\d{2}(?![0-9A-Za-z]|-\d)"
)
CONTEXT = context_pattern(["운전면허", "면허번호", "면허", "driver", "licence", "license"])


class DriverLicenceDetector:
    pii_type = PiiType.DRIVER_LICENCE
    trigger = Trigger.DIGITS
    min_digits = 12
    needs_any = ""
    prefilter = r"(?<!\d)\d{2}-?\d{2}-?\d{6}-?\d{2}(?!\d)"
    record_context: re.Pattern[str] | None = None

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return distinctive_or_in_context(SHAPE, CONTEXT, self.pii_type, text, start, end)
