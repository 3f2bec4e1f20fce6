"""The shape shared by resident, foreigner and corporate registration numbers: 6 + 7 digits.

``YYMMDD-GNNNNNC``: a birth date, a digit G that encodes century and sex (1–4, 9, 0 for
citizens; 5–8 for foreigners), five digits and a check digit. Corporate registration numbers
share the 6 + 7 layout but encode a registry office, a kind and a serial instead of a date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from aicenter.exchange.pii.base import Finding, PiiType
from aicenter.exchange.pii.context import near

# 6 digits, an optional dash (spaces around it allowed) or space, 7 digits; not inside a longer
# run of digits or a code.
SHAPE = re.compile(r"(?<![0-9A-Za-z\-])(\d{6})( ?- ?| )?(\d{7})(?![0-9A-Za-z]|-\d)")

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def digits_of(front: str, back: str) -> list[int]:
    """The 13 digits of a 6 + 7 number."""
    return [ord(c) - 48 for c in front + back]


def plausible_birth_date(front: str) -> bool:
    """YYMMDD with month 1–12 and a day that exists in that month (29 February allowed)."""
    month = int(front[2:4])
    day = int(front[4:6])
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


def weighted_mod11(digits: list[int]) -> int:
    """Σ wᵢ·dᵢ mod 11 over the first 12 digits, w = 2,3,4,5,6,7,8,9,2,3,4,5."""
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    return sum(w * d for w, d in zip(weights, digits, strict=False)) % 11


def matches(text: str, start: int, end: int) -> Iterator[re.Match[str]]:
    """Every 6 + 7 candidate within ``text[start:end]``."""
    return SHAPE.finditer(text, start, end)


def korean_barcode(digits: list[int]) -> bool:
    """Whether 13 digits are a Korean product barcode: EAN-13 with prefix 880 and a valid check
    digit (weights 1,3,1,3,… on the first 12; check = (10 − Σ mod 10) mod 10). Undashed and
    without a context word, such a number is taken for a barcode, not a registration number."""
    if digits[:3] != [8, 8, 0]:
        return False
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == digits[12]


def find_registration_numbers(
    text: str,
    start: int,
    end: int,
    *,
    gender_digits: frozenset[str],
    check_digit_ok: Callable[[list[int]], bool],
    context: re.Pattern[str],
    pii_type: PiiType,
) -> Iterator[Finding]:
    """Findings of one YYMMDD-GNNNNNC family (resident or foreigner numbers).

    A plausible birth date and a gender digit of the family are required. With a context word
    nearby the score is 0.95 (check digit passes) or 0.80 (fails: post-2020 random suffix);
    without one, only valid numbers count: 0.95 dashed, 0.70 undashed unless the digits are a
    valid 880 product barcode.
    """
    for m in matches(text, start, end):
        front, sep, back = m.group(1), m.group(2), m.group(3)
        if back[0] not in gender_digits or not plausible_birth_date(front):
            continue
        digits = digits_of(front, back)
        valid = check_digit_ok(digits)
        if near(context, text, m.start(), m.end()):
            score = 0.95 if valid else 0.80
        elif valid and (sep or not korean_barcode(digits)):
            score = 0.95 if sep else 0.70
        else:
            continue
        yield Finding(m.start(), m.end(), pii_type, score)
