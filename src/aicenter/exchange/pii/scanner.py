"""One scan of a record with every registered detector.

Cost model: a record is read by at most three C-level regex passes (digit windows, colon runs,
'@' via ``str.find``) plus, when name detection is on, one morphological analysis; detectors
run only on the windows their trigger produced. A DIGITS window is a maximal run of digits,
separators, '+', parentheses and capitals that starts with a digit, '+', '(' or a capital, ends
with a digit and is at least 7 characters long (the shortest structured PII, ``1.1.1.1``).

Each DIGITS detector declares a ``prefilter``, a loose superset of its shapes. A window is
handed to a detector only when the detector's prefilter matches it, and first the union of all
prefilters must match, so dates, times, prices and order numbers cost one C-level search each.
Detectors with a ``record_context`` (bank accounts: 계좌, 은행 ...) are called only in records
where it occurs; that search is made once per record, and only when such a window turns up.

A number directly after a label that announces something else (주문번호, 송장, ISBN ...) is not
reported, whatever its shape.

Overlaps: findings are sorted by score (then length) and taken greedily; a finding overlapping
one already taken is dropped. The result is sorted by start.
"""

from __future__ import annotations

import re

from aicenter.exchange.pii.base import Detector, DetectorRegistry, Finding, Trigger
from aicenter.exchange.pii.context import context_pattern, near

_DIGIT_WINDOW = re.compile(r"[\d+(A-Z][\dA-Z\-. ()]{5,}\d")
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
        grouped: dict[str, list[Detector]] = {}
        for detector in registry.by_trigger(Trigger.DIGITS):
            grouped.setdefault(detector.prefilter, []).append(detector)
        self._families: list[_Family] = [
            _Family(
                re.compile(prefilter) if prefilter else None,
                [(d, d.min_digits, frozenset(d.needs_any), d.record_context) for d in members],
                all(d.record_context is not None for d in members),
            )
            for prefilter, members in grouped.items()
        ]
        plain = [p for p, ms in grouped.items() if any(d.record_context is None for d in ms)]
        contextual = [p for p, ms in grouped.items() if all(d.record_context for d in ms)]
        self._gate_plain = _union(plain)
        self._gate_contextual = _union(contextual)
        self._at = registry.by_trigger(Trigger.AT)
        self._colon = registry.by_trigger(Trigger.COLON)
        self._hangul = registry.by_trigger(Trigger.HANGUL)

    def scan(self, text: str) -> list[Finding]:
        """Every finding in ``text``, non-overlapping, sorted by start."""
        found: list[Finding] = []
        original = text
        if _FOLDABLE.search(text):
            text = text.translate(_FOLD)
        if self._families:
            found.extend(self._scan_digit_windows(text))
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

    def _scan_digit_windows(self, text: str) -> list[Finding]:
        """DIGITS detectors on each window whose family prefilter matches (see module doc)."""
        out: list[Finding] = []
        record_context: dict[int, bool] = {}
        gate_plain, gate_contextual = self._gate_plain, self._gate_contextual
        for window in _DIGIT_WINDOW.finditer(text):
            s, e = window.span()
            plain_hit = gate_plain is not None and gate_plain.search(text, s, e) is not None
            if not plain_hit and (
                gate_contextual is None or gate_contextual.search(text, s, e) is None
            ):
                continue
            chunk = window.group()
            n_digits = len(_DIGIT.findall(chunk))
            for family in self._families:
                if not plain_hit and not family.contextual:
                    continue
                if family.pattern is not None and family.pattern.search(text, s, e) is None:
                    continue
                for detector, min_digits, needs_any, context in family.members:
                    if n_digits < min_digits or (needs_any and needs_any.isdisjoint(chunk)):
                        continue
                    if context is not None:
                        known = record_context.get(id(context))
                        if known is None:
                            known = record_context[id(context)] = context.search(text) is not None
                        if not known:
                            continue
                    out.extend(detector.find(text, s, e))
        if not out or NOT_PII_LABELS.search(text) is None:
            return out
        return [
            f for f in out if not near(NOT_PII_LABELS, text, f.start, f.end, before=12, after=0)
        ]


class _Family:
    """DIGITS detectors sharing one prefilter; ``contextual`` when all need a record context."""

    __slots__ = ("contextual", "members", "pattern")

    def __init__(
        self,
        pattern: re.Pattern[str] | None,
        members: list[tuple[Detector, int, frozenset[str], re.Pattern[str] | None]],
        contextual: bool,
    ) -> None:
        self.pattern = pattern
        self.members = members
        self.contextual = contextual


def _union(prefilters: list[str]) -> re.Pattern[str] | None:
    """One alternation of the prefilters; None when there are none. An empty prefilter (a
    detector that wants every window) makes a pattern that matches everywhere."""
    if not prefilters:
        return None
    return re.compile("|".join(f"(?:{p})" for p in prefilters))


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
