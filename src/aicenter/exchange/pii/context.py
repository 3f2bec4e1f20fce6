"""Context words: whether a word that announces a PII type appears near a candidate.

Several Korean identifiers have no public checksum (bank accounts) or pass a checksum by chance
one time in ten (business numbers); what tells them apart from order numbers is a nearby word
such as 계좌 or 사업자. The look-around is a fixed number of characters on each side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def context_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """One compiled alternation of ``words`` (longest first). ASCII words also match in lower,
    upper, capitalised and title case (``Business Reg``); the pattern is compiled
    case-sensitively because an IGNORECASE alternation searches about eight times slower (no
    literal-prefix scan)."""
    variants: set[str] = set()
    for word in words:
        variants.add(word)
        if word.isascii():
            variants.update({word.lower(), word.upper(), word.capitalize(), word.title()})
    ordered = tuple(sorted(variants, key=lambda w: (-len(w), w)))
    pattern = re.compile("|".join(re.escape(w) for w in ordered))
    _WORDS[id(pattern)] = (pattern, ordered)
    return pattern


_WORDS: dict[int, tuple[re.Pattern[str], tuple[str, ...]]] = {}


def context_words(pattern: re.Pattern[str]) -> tuple[str, ...]:
    """The words (with their case variants) a :func:`context_pattern` pattern matches."""
    known = _WORDS.get(id(pattern))
    if known is None or known[0] is not pattern:
        raise ValueError(f"{pattern.pattern[:40]!r}... was not made by context_pattern")
    return known[1]


# The end of a clause: a sentence end followed by a space, a line break or a table-cell bar.
# A period right after a word of 1–4 ASCII letters is an abbreviation, not a sentence end:
# English labels in Korean documents are written "Tel. ", "No. ", "Reg. No. ", "Acct. ".
_CLAUSE_END = r"(?:(?<![A-Za-z])\.|(?<=[A-Za-z]{5})\.|[!?;。])(?:\s|$)|\n|\|"


_WINDOWS: dict[int, tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]] = {}


def _windows(pattern: re.Pattern[str]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Two patterns that test a look-back and a look-ahead window in one regex call each:
    a word followed by no clause end up to the window's end (searched in ``[start − before,
    start)``), and no clause end up to a word (matched at ``end``, window ``after`` long).
    Kept by the pattern's id (hashing a compiled pattern hashes its whole program)."""
    known = _WINDOWS.get(id(pattern))
    if known is None or known[0] is not pattern:
        words, clear = pattern.pattern, rf"(?:(?!{_CLAUSE_END}).)"
        known = (
            pattern,
            re.compile(rf"(?:{words}){clear}*\Z"),
            re.compile(rf"{clear}*?(?:{words})"),
        )
        _WINDOWS[id(pattern)] = known
    return known[1], known[2]


def near(
    pattern: re.Pattern[str], text: str, start: int, end: int, before: int = 24, after: int = 12
) -> bool:
    """True when ``pattern`` occurs within ``before`` characters before ``start`` or ``after``
    characters after ``end``, in the same clause (sentence, line or table cell)."""
    back, ahead = _windows(pattern)
    if back.search(text, max(0, start - before), start) is not None:
        return True
    return bool(after) and ahead.match(text, end, end + after) is not None


def distinctive_or_in_context(
    distinctive: bool, context: re.Pattern[str], text: str, start: int, end: int
) -> float:
    """The score of a shape with no check digit: 0.9 next to a context word; 0.85 alone, but
    only in its distinctive form (e.g. a dashed licence or a 2021 passport); otherwise 0."""
    if near(context, text, start, end):
        return 0.9
    return 0.85 if distinctive else 0.0
