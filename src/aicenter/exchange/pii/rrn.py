"""Resident registration number (주민등록번호): YYMMDD-GNNNNNC, G ∈ {1,2,3,4,9,0}.

Check digit: C = (11 − Σ wᵢ·dᵢ mod 11) mod 10 with w = 2,3,4,5,6,7,8,9,2,3,4,5. Numbers issued
or changed since 2020-10-05 carry random digits after G, so a failed check does not rule a
number out: with a context word nearby (주민, 생년월일 ...) a plausible date and G suffice.

Scores: dashed and valid 0.95; undashed and valid 0.70 (so a bank account announced by 계좌 wins
an overlap) unless it is also a valid 880 product barcode; any valid-date shape next to a context
word 0.95 (check passes) or 0.80 (fails).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from aicenter.exchange.pii import compiled
from aicenter.exchange.pii import registration_shape as registration
from aicenter.exchange.pii.base import Finding, PiiType, Trigger, find_by_shape
from aicenter.exchange.pii.context import context_pattern

CONTEXT = context_pattern(
    ["주민등록번호", "주민번호", "주민등록", "주민", "생년월일", "RRN", "resident registration"]
)
_CITIZEN_G = frozenset("123490")
_CHECK_OFFSET = 11


def rrn_check_digit_ok(digits: Sequence[int]) -> bool:
    """Whether the 13th digit is the pre-2020 check digit of the first 12."""
    return (_CHECK_OFFSET - registration.weighted_mod11(digits)) % 10 == digits[12]


class ResidentNumberDetector:
    pii_type = PiiType.RRN
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
