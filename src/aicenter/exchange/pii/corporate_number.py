"""Corporate registration number (법인등록번호): XXXXXX-XXXXXXX.

Check digit: C = (10 − Σ wᵢ·dᵢ mod 10) mod 10 with w = 1,2,1,2,… on d1..d12 (plain products,
not digit sums). One random number in ten passes, and the layout is that of a resident number,
so a context word (법인 ...) is required; with it, the finding (0.97) outranks a resident-number
reading of the same digits.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence

from aicenter.exchange.pii import compiled, samples
from aicenter.exchange.pii import registration_shape as registration
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

CONTEXT = context_pattern(
    [
        "법인등록번호",
        "법인번호",
        "법인",
        "등기번호",
        "corporate registration",
        "corporate reg",
        "corporation reg",
        "corporate no",
        "corporate number",
        "company reg",
        "CRN",
    ]
)


def corporate_check_digit_ok(digits: Sequence[int]) -> bool:
    """Whether the 13th digit is the corporate-number check digit of the first 12."""
    total = sum(digits[0:12:2]) + 2 * sum(digits[1:12:2])
    return (10 - total % 10) % 10 == digits[12]


class CorporateNumberDetector(NumberHandling):
    pii_type = PiiType.CORPORATE_NUMBER
    default_action = Action.KEEP  # identifies a firm, not a person
    label = "corporate registration numbers"
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = registration.SHAPE
    record_context: re.Pattern[str] | None = None  # check() rejects 9 in 10 before near()
    native = compiled.corporate_number(CONTEXT)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        digits = registration.digits_of(text[start : start + 6], text[end - 7 : end])
        if corporate_check_digit_ok(digits) and near(CONTEXT, text, start, end):
            return 0.97
        return 0.0

    def sample(self, rng: random.Random) -> Sample:
        body = samples.digits(rng, 12)
        values = [int(c) for c in body]
        number = body + str(next(c for c in range(10) if corporate_check_digit_ok([*values, c])))
        label = rng.choice(["법인등록번호 ", "Corporate Reg. No. "])
        return Sample(label, rng.choice([number[:6] + "-" + number[6:], number]), "")
