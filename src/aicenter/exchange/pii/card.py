"""Payment card numbers: 16 digits (4-4-4-4) or 15 (American Express, 4-6-5), Luhn-checked.

Luhn: from the right, double every second digit (subtracting 9 when the double exceeds 9); the
sum must be ≡ 0 mod 10. The prefix must be an international issuer's (Visa 4, Mastercard 51–55
and 2221–2720, Amex 34/37, JCB 3528–3589, Diners 36/38, UnionPay 62, Discover 6011/65); numbers
with any other prefix (Korean domestic-only cards start with 9) need a context word. Separated
0.90. A bare 15/16-digit run always needs a context word (카드, 결제 ...), then 0.85: one random
16-digit id in ten passes Luhn, and such ids fill logs and order tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aicenter.exchange.pii.base import Finding, PiiType, Trigger
from aicenter.exchange.pii.context import context_pattern, near

SHAPE = re.compile(
    r"(?<![0-9A-Za-z\-.])(?:\d{4}(?P<s>[- ])\d{4}(?P=s)\d{4}(?P=s)\d{4}"
    r"|3[47]\d\d(?P<a>[- ])\d{6}(?P=a)\d{5}|(?P<bare>\d{15,16}))(?![0-9A-Za-z]|[-.]\d)"
)
CONTEXT = context_pattern(["카드번호", "카드", "신용카드", "체크카드", "결제", "card", "visa"])
_ISSUER_PREFIX = re.compile(
    r"4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|35(?:2[89]|[3-8]\d)|3[68]|62|6011|65"
)


def luhn_ok(digits: str) -> bool:
    """The Luhn check over a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class CardDetector:
    pii_type = PiiType.CARD
    trigger = Trigger.DIGITS
    min_digits = 15
    needs_any = ""
    prefilter = r"(?<!\d)\d{4}[- ]?\d{4,6}[- ]?\d{4,5}(?:[- ]?\d{4})?(?!\d)"
    record_context: re.Pattern[str] | None = None

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        for m in SHAPE.finditer(text, start, end):
            digits = m.group().replace("-", "").replace(" ", "")
            if not luhn_ok(digits):
                continue
            if not m.group("bare") and _ISSUER_PREFIX.match(digits):
                yield Finding(m.start(), m.end(), self.pii_type, 0.9)
            elif near(CONTEXT, text, m.start(), m.end()):
                yield Finding(m.start(), m.end(), self.pii_type, 0.85)
