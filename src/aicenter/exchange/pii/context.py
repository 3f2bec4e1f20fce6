"""Context words: whether a word that announces a PII type appears near a candidate.

Several Korean identifiers have no public checksum (bank accounts) or pass a checksum by chance
one time in ten (business numbers); what tells them apart from order numbers is a nearby word
such as 계좌 or 사업자. The look-around is a fixed number of characters on each side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def context_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """One compiled alternation of ``words`` (longest first), case-insensitive."""
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in ordered), re.IGNORECASE)


def near(
    pattern: re.Pattern[str], text: str, start: int, end: int, before: int = 24, after: int = 12
) -> bool:
    """True when ``pattern`` occurs within ``before`` characters before ``start`` or ``after``
    characters after ``end``."""
    if pattern.search(text, max(0, start - before), start):
        return True
    return bool(after) and pattern.search(text, end, min(len(text), end + after)) is not None
