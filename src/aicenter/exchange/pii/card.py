"""Payment card numbers: 16 digits (4-4-4-4) or 15 (American Express, 4-6-5), Luhn-checked.

Luhn: from the right, double every second digit (subtracting 9 when the double exceeds 9); the
sum must be ≡ 0 mod 10. The prefix must be an international issuer's (Visa 4, Mastercard 51–55
and 2221–2720, Amex 34/37, JCB 3528–3589, Diners 36/38, UnionPay 62, Discover 6011/65); numbers
with any other prefix (Korean domestic-only cards start with 9) need a context word. Separated
0.90. A bare 15/16-digit run always needs a context word (카드, 결제 ...), then 0.85: one random
16-digit id in ten passes Luhn, and such ids fill logs and order tables.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from aicenter.exchange.pii import compiled, samples
from aicenter.exchange.pii.base import (
    Action,
    Finding,
    NumberHandling,
    PiiType,
    Sample,
    Trigger,
    find_by_shape,
)
from aicenter.exchange.pii.context import context_pattern, near

# value-free: that a 4-6-5 number is an American Express one (34, 37) is tested by check()
SHAPE = re.compile(
    r"(?<![0-9A-Za-z\-.])(?:\d{4}([- ])\d{4}\1\d{4}\1\d{4}"
    r"|\d{4}([- ])\d{6}\2\d{5}|\d{15,16})(?![0-9A-Za-z]|[-.]\d)",
    re.ASCII,
)
CONTEXT = context_pattern(
    ["카드번호", "카드", "신용카드", "체크카드", "결제", "card", "visa", "mastercard", "amex"]
)
_ISSUER_PREFIX = re.compile(
    r"4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|35(?:2[89]|[3-8]\d)|3[68]|62|6011|65"
)


_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED = bytes.maketrans(b"0123456789", bytes((2 * d - 9 if d > 4 else 2 * d) for d in range(10)))


def luhn_ok(digits: str) -> bool:
    """The Luhn check over a string of digits: the digits in odd places from the right as
    they are, those in even places doubled (minus 9 above 9); the sum must be ≡ 0 mod 10."""
    b = digits.encode("ascii")
    total = sum(b[-1::-2].translate(_VALUES)) + sum(b[-2::-2].translate(_DOUBLED))
    return total % 10 == 0


class CardDetector(NumberHandling):
    pii_type = PiiType.CARD
    default_action = Action.REDACT
    label = "card numbers"
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = SHAPE
    record_context: re.Pattern[str] | None = None
    native = compiled.card(CONTEXT)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        number = text[start:end]
        digits = number.replace("-", "").replace(" ", "")
        separated = len(digits) < len(number)
        if separated and len(digits) == 15 and digits[:2] not in ("34", "37"):
            return 0.0  # 4-6-5 is American Express's grouping only
        if not luhn_ok(digits):
            return 0.0
        if separated and _ISSUER_PREFIX.match(digits):
            return 0.9
        return 0.85 if near(CONTEXT, text, start, end) else 0.0

    def sample(self, rng: random.Random) -> Sample:
        roll = rng.random()
        if roll < 0.4:
            v = card_number(rng, rng.choice(["4", "51", "52", "9410"]), 16)
            return Sample(
                rng.choice(["카드번호 ", "Card No. "]),
                samples.dash(v, (4, 4, 4, 4), rng.choice(["-", " "])),
                "",
            )
        if roll < 0.6:
            amex = card_number(rng, rng.choice(["34", "37"]), 15)
            return Sample("Amex ", samples.dash(amex, (4, 6, 5)), "")
        return Sample("결제 카드 ", card_number(rng, rng.choice(["4", "53", "9"]), 16), " 승인")


def card_number(rng: random.Random, first: str, length: int) -> str:
    """A card number starting with ``first``, ``length`` digits, Luhn-valid."""
    body = first + samples.digits(rng, length - len(first) - 1)
    return body + next(str(c) for c in range(10) if luhn_ok(body + str(c)))
