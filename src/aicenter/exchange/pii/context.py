"""Context words: whether a word that announces a PII type appears near a candidate.

Several Korean identifiers have no public checksum (bank accounts) or pass a checksum by chance
one time in ten (business numbers); what tells them apart from order numbers is a nearby word
such as 계좌 or 사업자. The look-around is a fixed number of characters on each side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from aicenter.exchange.pii.base import Finding, PiiType


def context_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """One compiled alternation of ``words`` (longest first). ASCII words also match in lower,
    upper and capitalised case; the pattern is compiled case-sensitively because an
    IGNORECASE alternation searches about eight times slower (no literal-prefix scan)."""
    variants: set[str] = set()
    for word in words:
        variants.add(word)
        if word.isascii():
            variants.update({word.lower(), word.upper(), word.capitalize()})
    ordered = sorted(variants, key=lambda w: (-len(w), w))
    return re.compile("|".join(re.escape(w) for w in ordered))


_CLAUSE_END = re.compile(r"[.!?;。](?:\s|$)|\n|\|")


def clause_start(text: str, start: int, before: int) -> int:
    """The start of the look-back window: ``before`` characters back, but not past the end of
    the previous sentence, line or table cell."""
    lo = max(0, start - before)
    m = _CLAUSE_END.search(text, lo, start)
    if m is None:
        return lo
    last = m.end()
    for m in _CLAUSE_END.finditer(text, last, start):
        last = m.end()
    return last


def clause_end(text: str, end: int, after: int) -> int:
    """The end of the look-ahead window: ``after`` characters on, or the end of the clause."""
    hi = min(len(text), end + after)
    m = _CLAUSE_END.search(text, end, hi)
    return m.start() if m else hi


def near(
    pattern: re.Pattern[str], text: str, start: int, end: int, before: int = 24, after: int = 12
) -> bool:
    """True when ``pattern`` occurs within ``before`` characters before ``start`` or ``after``
    characters after ``end``, in the same clause (sentence, line or table cell)."""
    if pattern.search(text, clause_start(text, start, before), start):
        return True
    return bool(after) and pattern.search(text, end, clause_end(text, end, after)) is not None


def distinctive_or_in_context(
    shape: re.Pattern[str],
    context: re.Pattern[str],
    pii_type: PiiType,
    text: str,
    start: int,
    end: int,
) -> Iterator[Finding]:
    """Findings of a shape with no check digit: 0.9 next to a context word; 0.85 alone, but
    only when the shape's first group matched (its distinctive form, e.g. a dashed licence or
    a 2021 passport); otherwise nothing."""
    for m in shape.finditer(text, start, end):
        if near(context, text, m.start(), m.end()):
            yield Finding(m.start(), m.end(), pii_type, 0.9)
        elif m.group(1):
            yield Finding(m.start(), m.end(), pii_type, 0.85)
