"""Driver's licence number (운전면허번호): AA-BB-CCCCCC-DD with AA ∈ 11–26 or 28.

No public check digit. The dashed 2-2-6-2 form with a valid region code is distinctive enough
to report (0.85); the 12-digit undashed form needs a context word (면허 ...).
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
from aicenter.exchange.pii.context import context_pattern, distinctive_or_in_context

# value-free: the region (11–26, 28) is tested by check()
SHAPE = re.compile(r"(?<![0-9A-Za-z\-])\d\d(-?)\d{2}\1\d{6}\1\d{2}(?![0-9A-Za-z]|-\d)", re.ASCII)
REGION_CODES = (*range(11, 27), 28)
_REGIONS = frozenset(str(r) for r in REGION_CODES)
CONTEXT = context_pattern(
    ["운전면허", "면허번호", "면허", "driver", "licence", "license", "DL No", "DL#"]
)


class DriverLicenceDetector(NumberHandling):
    pii_type = PiiType.DRIVER_LICENCE
    default_action = Action.REDACT
    label = "driver's licence numbers"
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = SHAPE
    record_context: re.Pattern[str] | None = None
    native = compiled.driver_licence(REGION_CODES, CONTEXT)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        if text[start : start + 2] not in _REGIONS:
            return 0.0
        dashed = end - start > 12
        return distinctive_or_in_context(dashed, CONTEXT, text, start, end)

    def sample(self, rng: random.Random) -> Sample:
        region = rng.choice(["11", "12", "13", "14", "15", "16", "19", "21", "24", "26", "28"])
        number = region + samples.digits(rng, 10)
        if rng.random() < 0.6:
            label = rng.choice(["면허번호 ", "driver's license no. "])
            return Sample(label, samples.dash(number, (2, 2, 6, 2)), "")
        return Sample(rng.choice(["운전면허 ", "DL No. "]), number, " (1종 보통)")
