"""IPv4 addresses: four dotted octets 0–255 without leading zeros (``010.1.2.3`` is not one),
not part of a longer dotted run (so ``1.2.3.4.5`` section numbers are not reported)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from aicenter.exchange.pii import compiled
from aicenter.exchange.pii.base import (
    Action,
    Finding,
    NumberHandling,
    PiiType,
    Sample,
    Trigger,
    find_by_shape,
)

# value-free: octet values (0–255, no leading zero) are tested by check()
SHAPE = re.compile(r"(?<![0-9A-Za-z.\-])\d{1,3}(?:\.\d{1,3}){3}(?![0-9A-Za-z]|\.\d)", re.ASCII)


class Ipv4Detector(NumberHandling):
    pii_type = PiiType.IPV4
    default_action = Action.PSEUDONYMISE
    label = "IPv4 addresses"
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = SHAPE
    record_context: re.Pattern[str] | None = None
    native = compiled.ipv4()

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        for octet in text[start:end].split("."):
            if (len(octet) > 1 and octet[0] == "0") or int(octet) > 255:
                return 0.0
        return 0.85

    def sample(self, rng: random.Random) -> Sample:
        value = ".".join(str(rng.randint(0, 255)) for _ in range(4))
        return Sample(rng.choice(["접속 IP ", "IP address: "]), value, "에서 로그인")
