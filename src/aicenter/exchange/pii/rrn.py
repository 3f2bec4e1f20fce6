"""Resident registration number (주민등록번호): YYMMDD-GNNNNNC, G ∈ {1,2,3,4,9,0}.

Check digit: C = (11 − Σ wᵢ·dᵢ mod 11) mod 10 with w = 2,3,4,5,6,7,8,9,2,3,4,5. Numbers issued
or changed since 2020-10-05 carry random digits after G, so a failed check does not rule a
number out: with a context word nearby (주민, 생년월일 ...) a plausible date and G suffice.

Scores: dashed and valid 0.95; undashed and valid 0.70 (so a bank account announced by 계좌 wins
an overlap) unless it is also a valid 880 product barcode; any valid-date shape next to a context
word 0.95 (check passes) or 0.80 (fails).
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
        "주민등록번호", "주민번호", "주민등록", "주민", "생년월일", "RRN", "resident registration",
        "resident reg", "resident no", "resident number", "national ID",
    ]
)  # fmt: skip
_CITIZEN_G = frozenset("123490")
_CHECK_OFFSET = 11


def rrn_check_digit_ok(digits: Sequence[int]) -> bool:
    """Whether the 13th digit is the pre-2020 check digit of the first 12."""
    return (_CHECK_OFFSET - registration.weighted_mod11(digits)) % 10 == digits[12]


class ResidentNumberDetector(NumberHandling):
    pii_type = PiiType.RRN
    default_action = Action.DROP_RECORD  # PIPA art. 24-2: only with a legal basis
    label = "resident registration numbers"
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = registration.SHAPE
    record_context: re.Pattern[str] | None = None
    native = compiled.registration("".join(sorted(_CITIZEN_G)), _CHECK_OFFSET, CONTEXT)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        return registration.registration_score(
            text,
            start,
            end,
            gender_digits=_CITIZEN_G,
            check_digit_ok=rrn_check_digit_ok,
            context=CONTEXT,
        )

    def sample(self, rng: random.Random) -> Sample:
        roll = rng.random()
        if roll < 0.3:
            return Sample(
                "주민등록번호는 ", post2020_rrn(rng)[:6] + "-" + post2020_rrn(rng)[6:], "입니다"
            )
        number = resident_number(rng)
        if roll < 0.6:
            labels = ["주민번호 ", "생년월일 및 주민등록번호: ", "", "RRN ", "Resident Reg. No. "]
            return Sample(rng.choice(labels), number, "")
        return Sample("본인 확인용 번호 ", number[:6] + "-" + number[6:], "를 입력했다")


def resident_number(rng: random.Random, gender_digits: str = "1234") -> str:
    """A resident number with a valid pre-2020 check digit."""
    return samples.registration_number(rng, gender_digits, rrn_check_digit_ok)


def post2020_rrn(rng: random.Random) -> str:
    """A resident number with random digits after G whose pre-2020 check digit fails."""
    while True:
        number = samples.birth(rng) + rng.choice("1234") + samples.digits(rng, 6)
        if not rrn_check_digit_ok([int(c) for c in number]):
            return number
