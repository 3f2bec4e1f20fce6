"""One scan of a record with every registered detector.

Cost model: a record is read by at most three C-level regex passes (digit windows, colon runs,
'@' via ``str.find``) plus, when name detection is on, one morphological analysis; detectors
run only on the windows their trigger produced. A DIGITS window is a maximal run of digits,
separators, '+', parentheses and capitals that starts with a digit, '+', '(' or a capital, ends
with a digit and is at least 7 characters long (the shortest structured PII, ``1.1.1.1``).

A window is only handed to detectors when it matches a loose union of all their shapes
(``_ANY_SHAPE``), so dates, times, prices and order numbers cost one C-level search each.

A number directly after a label that announces something else (주문번호, 송장, ISBN ...) is not
reported, whatever its shape.

Overlaps: findings are sorted by score (then length) and taken greedily; a finding overlapping
one already taken is dropped. The result is sorted by start.
"""

from __future__ import annotations

import re

from aicenter.exchange.pii import bank_account
from aicenter.exchange.pii.base import DetectorRegistry, Finding, Trigger
from aicenter.exchange.pii.context import context_pattern, near

_DIGIT_WINDOW = re.compile(r"[\d+(A-Z][\dA-Z\-. ()]{5,}\d")
# A superset of every DIGITS detector's shape, loosened (no back-references, no validation):
# a window it does not match cannot hold structured PII, so no detector is called on it. Most
# numbers in ordinary text (dates, times, prices, order numbers) fail it in one C-level search.
_ANY_SHAPE = (
    r"(?<!\d)0\d{1,3}[-. )]*\d{3,4}[-. ]?\d{4}(?!\d)"  # domestic phones, (02) 123-4567
    r"|\+82"  # international phones
    r"|(?<!\d)1[568]\d\d[-. ]?\d{4}(?!\d)"  # representative numbers
    r"|(?<!\d)\d{6}[- ]?\d{7}(?!\d)"  # resident, foreigner, corporate numbers
    r"|(?<!\d)\d{3}-?\d{2}-?\d{5}(?!\d)"  # business numbers
    r"|(?<!\d)\d{2}-?\d{2}-?\d{6}-?\d{2}(?!\d)"  # driver's licences
    r"|[MSROD]\d{3}[A-Z\d]\d{4}"  # passports
    r"|(?<!\d)\d{4}[- ]?\d{4,6}[- ]?\d{4,5}(?:[- ]?\d{4})?(?!\d)"  # cards
    r"|(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\d)"  # IPv4
)
_ANY_SHAPE_RX = re.compile(_ANY_SHAPE)
# Bank accounts have the loosest shape (10–14 digits, any hyphenation); a window that only
# matches it is looked at only when the record contains an account context word (searched for
# once per record, and only when such a window turns up).
_ACCOUNT_SHAPE_RX = re.compile(r"(?<![\d-])\d[\d-]{8,}\d")
# Full-width ASCII (０１０－１２３４) and dash look-alikes (– — ― ‐ and the Hangul vowel ㅡ, used
# as a dash in 900101ㅡ1234567) are folded one character for one character before the
# structured detectors run, so offsets into the folded text are offsets into the record.
_FOLDABLE = re.compile("[\uff01-\uff5e\u2010-\u2015\u3161\u2212]")
_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {
    c: ord("-") for c in (*range(0x2010, 0x2016), 0x3161, 0x2212)
}
_COLON_RUN = re.compile(r":[0-9A-Fa-f.:]*:")
_DIGIT = re.compile(r"\d")
# Labels that announce a number that is not personal information; a number they directly
# precede (same clause, 12 characters) is not reported even if its shape and check fit.
NOT_PII_LABELS = context_pattern(
    [
        "주문번호", "문서번호", "송장번호", "송장", "운송장", "승인번호", "상품코드", "일련번호",
        "접수번호", "관리번호", "제품번호", "모델번호", "ISBN", "order no", "invoice", "serial",
    ]
)  # fmt: skip
_EMAIL_REACH_BEFORE = 64
_EMAIL_REACH_AFTER = 255


class Scanner:
    """Scans records with the detectors of one registry."""

    def __init__(self, registry: DetectorRegistry) -> None:
        self.registry = registry
        self._digits = [
            (d, d.min_digits, frozenset(d.needs_any)) for d in registry.by_trigger(Trigger.DIGITS)
        ]
        self._at = registry.by_trigger(Trigger.AT)
        self._colon = registry.by_trigger(Trigger.COLON)
        self._hangul = registry.by_trigger(Trigger.HANGUL)

    def scan(self, text: str) -> list[Finding]:
        """Every finding in ``text``, non-overlapping, sorted by start."""
        found: list[Finding] = []
        original = text
        if _FOLDABLE.search(text):
            text = text.translate(_FOLD)
        if self._digits:
            account_context: bool | None = None
            for window in _DIGIT_WINDOW.finditer(text):
                s, e = window.span()
                if not _ANY_SHAPE_RX.search(text, s, e):
                    if not _ACCOUNT_SHAPE_RX.search(text, s, e):
                        continue
                    if account_context is None:
                        account_context = bank_account.CONTEXT.search(text) is not None
                    if not account_context:
                        continue
                chunk = window.group()
                n_digits = len(_DIGIT.findall(chunk))
                for detector, min_digits, needs_any in self._digits:
                    if n_digits < min_digits or (needs_any and needs_any.isdisjoint(chunk)):
                        continue
                    found.extend(
                        f
                        for f in detector.find(text, s, e)
                        if not near(NOT_PII_LABELS, text, f.start, f.end, before=12, after=0)
                    )
        if self._at:
            at = text.find("@")
            n = len(text)
            while at >= 0:
                s, e = max(0, at - _EMAIL_REACH_BEFORE), min(n, at + _EMAIL_REACH_AFTER)
                for detector in self._at:
                    found.extend(f for f in detector.find(text, s, e) if f.start <= at < f.end)
                at = text.find("@", at + 1)
        if self._colon and ":" in text:
            for run in _COLON_RUN.finditer(text):
                for detector in self._colon:
                    found.extend(detector.find(text, run.start(), run.end()))
        if self._hangul:
            for detector in self._hangul:
                found.extend(detector.find(original, 0, len(original)))
        return resolve_overlaps(found)


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the highest-scoring (then longest) of overlapping findings; sort by start."""
    if len(findings) < 2:
        return list(findings)
    ranked = sorted(set(findings), key=lambda f: (-f.score, f.start - f.end, f.start))
    kept: list[Finding] = []
    for f in ranked:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    kept.sort()
    return kept
