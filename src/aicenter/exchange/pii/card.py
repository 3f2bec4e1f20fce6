"""Payment card numbers: 16 digits (4-4-4-4) or 15 (American Express, 4-6-5), Luhn-checked.

Luhn: from the right, double every second digit (subtracting 9 when the double exceeds 9); the
sum must be ≡ 0 mod 10. The first digit must be an issuer's (3 Amex/JCB/Diners, 4 Visa,
5 Mastercard, 6 UnionPay/Discover, 9 Korean domestic). Separated 0.90; a bare 15/16-digit run
0.85 (one random run in ten with such a first digit passes Luhn, so a context word is required
for it unless the prefix is a Visa/Mastercard one).
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
_ISSUER_FIRST = frozenset("34569")


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

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        for m in SHAPE.finditer(text, start, end):
            digits = m.group().replace("-", "").replace(" ", "")
            if digits[0] not in _ISSUER_FIRST or not luhn_ok(digits):
                continue
            if not m.group("bare"):
                yield Finding(m.start(), m.end(), self.pii_type, 0.9)
            elif digits[0] in "45" or near(CONTEXT, text, m.start(), m.end()):
                yield Finding(m.start(), m.end(), self.pii_type, 0.85)
