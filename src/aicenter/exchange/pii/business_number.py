"""Business registration number (사업자등록번호): XXX-XX-XXXXX.

Check digit: Σ = Σ wᵢ·dᵢ (w = 1,3,7,1,3,7,1,3,5 on d1..d9) + ⌊5·d9/10⌋; C = (10 − Σ mod 10)
mod 10. About one random 10-digit number in ten passes — dashed 3-2-5 codes included — so every
form needs a context word (사업자, 세금계산서, 거래처 ...) in the same clause.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from operator import mul

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

SHAPE = re.compile(r"(?<![0-9A-Za-z\-])\d{3}(-?)\d{2}\1\d{5}(?![0-9A-Za-z]|-\d)", re.ASCII)
CONTEXT = context_pattern(
    [
        "사업자등록번호",
        "사업자번호",
        "사업자",
        "등록번호",
        "상호",
        "대표자",
        "세금계산서",
        "거래처",
        "사업장",
        "business registration",
        "business reg",
        "business no",
        "business number",
        "biz no",
        "biz reg",
        "BRN",
        "tax ID",
        "registration no",
        "registration number",
    ]
)
_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))


def business_check_digit_ok(number: str) -> bool:
    """Whether the 10th digit of ``number`` (10 digits) is its check digit."""
    d = number.encode("ascii").translate(_VALUES)
    total: int = sum(map(mul, _WEIGHTS, d)) + (5 * d[8]) // 10
    return (10 - total % 10) % 10 == d[9]


class BusinessNumberDetector(NumberHandling):
    pii_type = PiiType.BUSINESS_NUMBER
    default_action = Action.KEEP  # identifies a firm, not a person
    label = "business registration numbers"
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = SHAPE
    record_context: re.Pattern[str] | None = None  # check() rejects 9 in 10 before near()
    native = compiled.business_number(CONTEXT)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        number = text[start:end].replace("-", "")
        if business_check_digit_ok(number) and near(CONTEXT, text, start, end):
            return 0.93
        return 0.0

    def sample(self, rng: random.Random) -> Sample:
        number = business_number(rng)
        if rng.random() < 0.5:
            return Sample(
                rng.choice(["사업자등록번호: ", "Business Reg. No. ", "BRN "]),
                rng.choice([samples.dash(number, (3, 2, 5)), number]),
                "",
            )
        return Sample("거래처 ", samples.dash(number, (3, 2, 5)), " 앞으로 세금계산서 발행")


def business_number(rng: random.Random) -> str:
    """Ten digits with a valid check digit."""
    while True:
        body = f"{rng.randint(101, 899)}{rng.randint(1, 99):02d}{samples.digits(rng, 4)}"
        for c in range(10):
            if business_check_digit_ok(body + str(c)):
                return body + str(c)
