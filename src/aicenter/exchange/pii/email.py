"""E-mail addresses: local@domain.tld (ASCII local part up to 64, labels up to 63, TLD 2–24).

Only called around an '@', so the cost on text without one is a single ``str.find``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aicenter.exchange.pii.base import Finding, PiiType, Trigger

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
SHAPE = re.compile(
    rf"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{{0,63}}@(?:{_LABEL}\.)+[A-Za-z]{{2,24}}"
    r"(?![A-Za-z0-9\-])"
)


class EmailDetector:
    pii_type = PiiType.EMAIL
    trigger = Trigger.AT
    min_digits = 0
    needs_any = ""
    prefilter = ""
    record_context: re.Pattern[str] | None = None

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        for m in SHAPE.finditer(text, start, end):
            yield Finding(m.start(), m.end(), self.pii_type, 0.95)
