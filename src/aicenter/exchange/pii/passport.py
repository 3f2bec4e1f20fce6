"""Korean passport number (여권번호): [MSROD] + 8 digits, or since 2021 [MSROD]ddd[A-Z]dddd.

No check digit. The 2021 form (letter, 3 digits, letter, 4 digits) is distinctive and reported
alone (0.85); the older letter + 8 digits looks like a product code and needs a context word.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from aicenter.exchange.pii import compiled, samples
from aicenter.exchange.pii.base import (
    Action,
    CaseFoldedHandling,
    Finding,
    PiiType,
    Sample,
    Trigger,
    find_by_shape,
)
from aicenter.exchange.pii.context import context_pattern, distinctive_or_in_context

SHAPE = re.compile(
    r"(?<![0-9A-Za-z\-])[MSROD]\d{3}(?:[A-Z]\d{4}|\d{5})(?![0-9A-Za-z]|-\d)", re.ASCII
)
CONTEXT = context_pattern(["여권번호", "여권", "passport", "PP No", "PP#"])


class PassportDetector(CaseFoldedHandling):
    pii_type = PiiType.PASSPORT
    default_action = Action.REDACT
    label = "passport numbers"
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = SHAPE
    record_context: re.Pattern[str] | None = None
    native = compiled.passport(CONTEXT)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        form_2021 = not text[start + 4].isdigit()  # a letter after the first three digits
        return distinctive_or_in_context(form_2021, CONTEXT, text, start, end)

    def sample(self, rng: random.Random) -> Sample:
        letter = rng.choice("MSROD")
        if rng.random() < 0.5:
            value = f"{letter}{samples.digits(rng, 3)}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}"
            label = rng.choice(["여권 ", "Passport No. ", "여권(passport) "])
            return Sample(label, value + samples.digits(rng, 4), "")
        label = rng.choice(["여권번호 ", "passport no. ", "PP No. "])
        return Sample(label, letter + samples.digits(rng, 8), "")
