"""Foreigner registration number (외국인등록번호): YYMMDD-GNNNNNC with G ∈ {5,6,7,8}.

Check digit: C = (13 − Σ wᵢ·dᵢ mod 11) mod 10, w = 2,3,4,5,6,7,8,9,2,3,4,5. As with resident
numbers, a number that fails the check is still reported when a context word (외국인, 등록번호 ...)
is nearby.
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
from aicenter.exchange.pii.context import context_pattern

CONTEXT = context_pattern(
    [
        "외국인등록번호",
        "외국인등록",
        "외국인",
        "등록번호",
        "alien registration",
        "ARC",
        "alien reg",
        "foreigner reg",
        "foreigner registration",
        "foreign resident",
    ]
)
_FOREIGNER_G = frozenset("5678")
_CHECK_OFFSET = 13


def foreigner_check_digit_ok(digits: Sequence[int]) -> bool:
    """Whether the 13th digit is the foreigner-number check digit of the first 12."""
    return (_CHECK_OFFSET - registration.weighted_mod11(digits)) % 10 == digits[12]


class ForeignerNumberDetector(NumberHandling):
    pii_type = PiiType.FOREIGNER_NUMBER
    default_action = Action.DROP_RECORD  # PIPA art. 24-2: only with a legal basis
    label = "foreigner registration numbers"
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = registration.SHAPE
    record_context: re.Pattern[str] | None = None
    native = compiled.registration("".join(sorted(_FOREIGNER_G)), _CHECK_OFFSET, CONTEXT)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        return registration.registration_score(
            text,
            start,
            end,
            gender_digits=_FOREIGNER_G,
            check_digit_ok=foreigner_check_digit_ok,
            context=CONTEXT,
        )

    def sample(self, rng: random.Random) -> Sample:
        number = samples.registration_number(rng, "5678", foreigner_check_digit_ok)
        dashed = rng.random() < 0.6
        label = rng.choice(["외국인등록번호 ", "ARC No. ", "Alien Registration No. "])
        return Sample(label, (number[:6] + "-" + number[6:]) if dashed else number, "")
