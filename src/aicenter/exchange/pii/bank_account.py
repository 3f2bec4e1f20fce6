"""Bank account numbers (계좌번호): 10–14 digits, hyphenated as each bank likes.

No bank publishes a check digit, so a number is reported only when a context word — 계좌, 입금,
예금주 or a bank's name — appears within 30 characters before it or 12 after it. Score 0.75,
below every checksum-validated type, so an overlap with a phone or card number goes to those.
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

SHAPE = re.compile(
    r"(?<![0-9A-Za-z\-.])(?:\d{10,14}|\d{2,7}(?:-\d{1,7}){1,3})(?![0-9A-Za-z]|[-.]\d)",
    re.ASCII,
)
CONTEXT = context_pattern(
    [
        "계좌번호", "계좌", "입금", "송금", "이체", "예금주", "환불", "무통장", "은행", "뱅크",
        "국민", "신한", "우리", "하나", "농협", "기업", "우체국", "새마을금고", "신협", "수협",
        "카카오뱅크", "토스", "케이뱅크", "SC제일", "씨티", "KB", "IBK", "NH", "account", "bank",
        "A/C", "acct", "acc no", "acc. no", "deposit", "remit", "wire", "IBAN",
    ]
)  # fmt: skip
MIN_DIGITS = 10
MAX_DIGITS = 14
REACH_BEFORE, REACH_AFTER = 30, 12


class BankAccountDetector(NumberHandling):
    pii_type = PiiType.BANK_ACCOUNT
    default_action = Action.REDACT
    label = "bank account numbers"
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = SHAPE
    record_context: re.Pattern[str] | None = CONTEXT
    native = compiled.bank_account(CONTEXT, REACH_BEFORE, REACH_AFTER, MIN_DIGITS, MAX_DIGITS)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        n_digits = end - start - text.count("-", start, end)
        if MIN_DIGITS <= n_digits <= MAX_DIGITS and near(
            CONTEXT, text, start, end, before=REACH_BEFORE, after=REACH_AFTER
        ):
            return 0.75
        return 0.0

    def sample(self, rng: random.Random) -> Sample:
        bank, groups = rng.choice(_BANKS)
        number = samples.digits(rng, sum(groups))
        value = samples.dash(number, groups) if rng.random() < 0.7 else number
        return rng.choice(
            [
                Sample(f"입금 계좌: {bank} ", value, " (예금주 홍길동)"),
                Sample(f"{bank} ", value, "로 송금해 주세요"),
                Sample("환불 계좌번호 ", value, f" {bank}"),
                Sample("Account No. ", value, f" ({bank})"),
                Sample(f"{bank} A/C ", value, ""),
            ]
        )


# Banks and the digit groups their account numbers are written in (for samples).
_BANKS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("국민은행", (6, 2, 6)),
    ("신한은행", (3, 3, 6)),
    ("우리은행", (4, 3, 6)),
    ("하나은행", (3, 6, 5)),
    ("농협", (3, 4, 4, 2)),
    ("기업은행", (3, 6, 2, 3)),
    ("카카오뱅크", (4, 2, 7)),
    ("우체국", (6, 2, 6)),
    ("케이뱅크", (3, 3, 6)),
)
