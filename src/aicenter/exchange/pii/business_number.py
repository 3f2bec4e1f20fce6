"""Business registration number (사업자등록번호): XXX-XX-XXXXX.

Check digit: Σ = Σ wᵢ·dᵢ (w = 1,3,7,1,3,7,1,3,5 on d1..d9) + ⌊5·d9/10⌋; C = (10 − Σ mod 10)
mod 10. About one random 10-digit number in ten passes — dashed 3-2-5 codes included — so every
form needs a context word (사업자, 세금계산서, 거래처 ...) in the same clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aicenter.exchange.pii.base import Finding, PiiType, Trigger
from aicenter.exchange.pii.context import context_pattern, near

SHAPE = re.compile(r"(?<![0-9A-Za-z\-])(\d{3})(-?)(\d{2})\2(\d{5})(?![0-9A-Za-z]|-\d)")
CONTEXT = context_pattern(
    [
        "사업자등록번호",
        "사업자번호",
        "사업자",
        "등록번호",
        "상호",
        "대표자",
        "세금계산서",
        "거래처",
        "사업장",
        "business registration",
    ]
)
_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def business_check_digit_ok(number: str) -> bool:
    """Whether the 10th digit of ``number`` (10 digits) is its check digit."""
    d = [ord(c) - 48 for c in number]
    total = sum(w * x for w, x in zip(_WEIGHTS, d, strict=False)) + (5 * d[8]) // 10
    return (10 - total % 10) % 10 == d[9]


class BusinessNumberDetector:
    pii_type = PiiType.BUSINESS_NUMBER
    trigger = Trigger.DIGITS
    min_digits = 10
    needs_any = ""
    prefilter = r"(?<!\d)\d{3}-?\d{2}-?\d{5}(?!\d)"
    record_context: re.Pattern[str] | None = None

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        for m in SHAPE.finditer(text, start, end):
            if not business_check_digit_ok(m.group(1) + m.group(3) + m.group(4)):
                continue
            if near(CONTEXT, text, m.start(), m.end()):
                yield Finding(m.start(), m.end(), self.pii_type, 0.93)
