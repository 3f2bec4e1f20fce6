"""E-mail addresses: local@domain.tld (ASCII local part up to 64, labels up to 63, TLD 2–24).

Only called around an '@', so the cost on text without one is a single ``str.find``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from aicenter.exchange.pii import compiled
from aicenter.exchange.pii.base import Action, Finding, PiiType, Sample, Trigger, mask_inner

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
SHAPE = re.compile(
    rf"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{{0,63}}@(?:{_LABEL}\.)+[A-Za-z]{{2,24}}"
    r"(?![A-Za-z0-9\-])"
)
_LOCAL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-"


class EmailDetector:
    pii_type = PiiType.EMAIL
    default_action = Action.PSEUDONYMISE
    label = "e-mail addresses"
    trigger = Trigger.AT
    prefilter = ""
    record_context: re.Pattern[str] | None = None
    native = compiled.email()  # a compiled find (email.c)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        """Each '@' in the window is read back to the start of its run of local-part characters
        (one C-level ``rstrip``) and the shape is matched there: no search through the window."""
        at = text.find("@", start, end)
        while at >= 0:
            local = text[start:at]
            m = SHAPE.match(text, start + len(local.rstrip(_LOCAL_CHARS)), end)
            if m is not None and m.end() > at:
                yield Finding(m.start(), m.end(), self.pii_type, 0.95)
            at = text.find("@", at + 1, end)

    def normalise(self, value: str) -> str:
        return value.strip().lower()

    def mask(self, value: str) -> str:
        """The local part starred but its first character; the domain kept."""
        local, at, domain = value.partition("@")
        if not at:
            return mask_inner(value)
        return local[:1] + "*" * (len(local) - 1) + "@" + domain

    def sample(self, rng: random.Random) -> Sample:
        user = rng.choice(["kim.minsu", "jh_park", "lee2024", "news-desk", "a.b+tag", "hong"])
        domain = rng.choice(["example.co.kr", "mail.example.com", "korea.ac.kr", "test.org"])
        return Sample(
            rng.choice(["이메일 ", "E-mail: ", "Email "]),
            f"{user}{rng.randint(1, 999)}@{domain}",
            " 으로 회신",
        )
