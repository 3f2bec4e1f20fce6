"""The shape shared by resident, foreigner and corporate registration numbers: 6 + 7 digits.

``YYMMDD-GNNNNNC``: a birth date, a digit G that encodes century and sex (1–4, 9, 0 for
citizens; 5–8 for foreigners), five digits and a check digit. Corporate registration numbers
share the 6 + 7 layout but encode a registry office, a kind and a serial instead of a date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from operator import mul

from aicenter.exchange.pii.context import near

# 6 digits, an optional dash (spaces around it allowed) or space, 7 digits; not inside a longer
# run of digits or a code.
SHAPE = re.compile(r"(?<![0-9A-Za-z\-])(\d{6})( ?- ?| )?(\d{7})(?![0-9A-Za-z]|-\d)", re.ASCII)

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


DIGIT_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))


def digits_of(front: str, back: str) -> bytes:
    """The 13 digit values of a 6 + 7 number (bytes: a sequence of ints summed in C)."""
    return (front + back).encode("ascii").translate(DIGIT_VALUES)


def plausible_birth_date(front: str) -> bool:
    """YYMMDD with month 1–12 and a day that exists in that month (29 February allowed)."""
    month = int(front[2:4])
    day = int(front[4:6])
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def weighted_mod11(digits: Sequence[int]) -> int:
    """Σ wᵢ·dᵢ mod 11 over the first 12 digits, w = 2,3,4,5,6,7,8,9,2,3,4,5."""
    total: int = sum(map(mul, _WEIGHTS, digits))
    return total % 11


def korean_barcode(digits: Sequence[int]) -> bool:
    """Whether 13 digits are a Korean product barcode: EAN-13 with prefix 880 and a valid check
    digit (weights 1,3,1,3,… on the first 12; check = (10 − Σ mod 10) mod 10). Undashed and
    without a context word, such a number is taken for a barcode, not a registration number."""
    if (digits[0], digits[1], digits[2]) != (8, 8, 0):
        return False
    total = sum(digits[0:12:2]) + 3 * sum(digits[1:12:2])
    return (10 - total % 10) % 10 == digits[12]


def registration_score(
    text: str,
    start: int,
    end: int,
    *,
    gender_digits: frozenset[str],
    check_digit_ok: Callable[[Sequence[int]], bool],
    context: re.Pattern[str],
) -> float:
    """The score of a 6 + 7 candidate ``text[start:end]`` (a match of :data:`SHAPE`) as a
    number of one YYMMDD-GNNNNNC family (resident or foreigner numbers), 0.0 if it is not one.

    A plausible birth date and a gender digit of the family are required. With a context word
    nearby the score is 0.95 (check digit passes) or 0.80 (fails: post-2020 random suffix);
    without one, only valid numbers count: 0.95 dashed, 0.70 undashed unless the digits are a
    valid 880 product barcode.
    """
    back = text[end - 7 : end]
    if back[0] not in gender_digits:
        return 0.0
    front = text[start : start + 6]
    if not plausible_birth_date(front):
        return 0.0
    digits = digits_of(front, back)
    valid = check_digit_ok(digits)
    separated = end - start > 13
    if valid and separated:
        return 0.95  # with or without a context word
    if near(context, text, start, end):
        return 0.95 if valid else 0.80
    if valid and not korean_barcode(digits):
        return 0.70
    return 0.0
