"""Corporate registration number (법인등록번호): XXXXXX-XXXXXXX.

Check digit: C = (10 − Σ wᵢ·dᵢ mod 10) mod 10 with w = 1,2,1,2,… on d1..d12 (plain products,
not digit sums). One random number in ten passes, and the layout is that of a resident number,
so a context word (법인 ...) is required; with it, the finding (0.97) outranks a resident-number
reading of the same digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aicenter.exchange.pii import registration_shape as shape
from aicenter.exchange.pii.base import Finding, PiiType, Trigger
from aicenter.exchange.pii.context import context_pattern, near

CONTEXT = context_pattern(
    ["법인등록번호", "법인번호", "법인", "등기번호", "corporate registration"]
)


def corporate_check_digit_ok(digits: list[int]) -> bool:
    """Whether the 13th digit is the corporate-number check digit of the first 12."""
    total = sum(d * (1 if i % 2 == 0 else 2) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == digits[12]


class CorporateNumberDetector:
    pii_type = PiiType.CORPORATE_NUMBER
    trigger = Trigger.DIGITS
    min_digits = 13
    needs_any = ""
    prefilter = r"(?<!\d)\d{6}[- ]{0,3}\d{7}(?!\d)"
    record_context: re.Pattern[str] | None = None

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        for m in shape.matches(text, start, end):
            digits = shape.digits_of(m.group(1), m.group(3))
            if corporate_check_digit_ok(digits) and near(CONTEXT, text, m.start(), m.end()):
                yield Finding(m.start(), m.end(), self.pii_type, 0.97)
