"""IPv4 addresses: four dotted octets 0–255 without leading zeros (``010.1.2.3`` is not one),
not part of a longer dotted run (so ``1.2.3.4.5`` section numbers are not reported)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aicenter.exchange.pii.base import Finding, PiiType, Trigger

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)"
SHAPE = re.compile(rf"(?<![0-9A-Za-z.\-]){_OCTET}(?:\.{_OCTET}){{3}}(?![0-9A-Za-z]|\.\d)")


class Ipv4Detector:
    pii_type = PiiType.IPV4
    trigger = Trigger.DIGITS
    min_digits = 4
    needs_any = "."
    prefilter = r"(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\d)"
    record_context: re.Pattern[str] | None = None

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        for m in SHAPE.finditer(text, start, end):
            yield Finding(m.start(), m.end(), self.pii_type, 0.85)
