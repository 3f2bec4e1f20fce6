"""One scan of a batch of records with every registered detector.

Two implementations of the same passes: the compiled core (:mod:`compiled`, C in
``pii/native/``: tokens, the '@' and colon passes, the detectors' compiled checks, overlaps
and the split by record), used when it is built and every detector of the registry has what
it needs there; and the pure-Python passes described below, the reference it is tested
against (tests/exchange/test_native.py) and the fallback where no C compiler was available.

Cost model: the records of a batch are joined (:data:`RECORD_SEPARATOR`) and the joined text is
read by a handful of C-level passes — tokens (``re.split``), colon runs, '@' by ``str.find``
and, when name detection is on, the name-context patterns — so the Python cost is per token
that concerns a detector, not per record. A token is a maximal run of digits, capitals,
separators, '+' and parentheses that starts with a digit, '+', '(' or a capital (not right
after a letter, digit or '-'), ends with a digit and is at least 7 characters long (the
shortest structured PII, ``1.1.1.1``).

Which DIGITS detectors a token concerns depends only on its *shape*, its digits replaced by
``9``: ``2024-03-15`` and ``1999-12-31`` are both ``9999-99-99``. For each shape the scanner
works out once (and remembers, up to 65,536 shapes) which detectors' shapes or prefilters occur
in it; the dates, prices and order numbers of number-heavy text then cost one dictionary
look-up each, made by ``map`` in C, and reach no detector. For the other tokens a second memo,
keyed by the shape and the characters around the token (by class), holds each shape detector's
candidate spans, so a candidate costs only its detector's ``check`` (digit values, check
digits, context words) and no regex run; detectors without a shape get ``find`` on the token.

A detector with a ``record_context`` (bank accounts: 계좌, 은행 ...) is called only for tokens
in records where that pattern occurs (its occurrences in the batch are found in one pass, when
a token first needs them; a record is then a bisection). A number
directly after a label that announces something else (주문번호, 송장, ISBN ...) is not reported,
whatever its shape.

Overlaps: findings are sorted by score (then length) and taken greedily; a finding overlapping
one already taken is dropped. The result is sorted by start. Records never share a finding, so
this is done per group of mutually overlapping findings, in linear time for the usual case of
findings that overlap nothing.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate, compress, repeat
from operator import is_
from typing import Any

from aicenter.exchange.pii import compiled
from aicenter.exchange.pii.base import (
    RECORD_SEPARATOR,
    Detector,
    DetectorRegistry,
    Finding,
    PiiType,
    ShapeDetector,
    Trigger,
)
from aicenter.exchange.pii.context import context_pattern, near


class _ClassMap(dict[int, str]):
    """``str.translate`` table: ASCII digits → 9, letters → A or a, ``-.+() ^`` kept, any other
    character → _ (looked up only when a new token frame is memoised)."""

    def __missing__(self, code: int) -> str:
        c = chr(code)
        if not c.isascii():
            return "_"
        if c.isdigit():
            cls = "9"
        elif c.isalpha():
            cls = "A" if c.isupper() else "a"
        else:
            cls = c if c in "-.+() ^" else "_"
        self[code] = cls
        return cls


_TOKEN = r"[0-9+(A-Z](?<![0-9A-Za-z\-].)[0-9A-Z\-. ()+]{5,}[0-9]"
_TOKEN_SPLIT = re.compile(f"({_TOKEN})")
_SHAPE = str.maketrans("0123456789", "9999999999")
# The characters around a token, by class: digit 9, capital A, small letter a, separators as
# they are, anything else _ ('^' stands for the start of the text).
_BOUNDARY = _ClassMap()
_MAX_SHAPES = 1 << 16  # remembered shapes per memo; a memo is emptied when it reaches this
# Full-width ASCII (０１０－１２３４) and dash look-alikes (– — ― ‐ and the Hangul vowel ㅡ, used
# as a dash in 900101ㅡ1234567) are folded one character for one character before the
# structured detectors run, so offsets into the folded text are offsets into the record.
_FOLDABLE = re.compile("[\uff01-\uff5e\u2010-\u2015\u3161\u2212]")
_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {
    c: ord("-") for c in (*range(0x2010, 0x2016), 0x3161, 0x2212)
}
_COLON_RUN = re.compile(r":[0-9A-Fa-f.:]*:")
# Labels that announce a number that is not personal information; a number they directly
# precede (same clause, 12 characters) is not reported even if its shape and check fit.
NOT_PII_LABELS = context_pattern(
    [
        "주문번호", "문서번호", "송장번호", "송장", "운송장", "승인번호", "상품코드", "일련번호",
        "접수번호", "관리번호", "제품번호", "모델번호", "ISBN", "order no", "invoice", "serial",
    ]
)  # fmt: skip
_LABEL_REACH = 12
_EMAIL_REACH_BEFORE = 64
_EMAIL_REACH_AFTER = 255
_SEP = len(RECORD_SEPARATOR)

_new = tuple.__new__  # Finding((s, e, t, score)) without namedtuple's Python-level __new__
# One step of a token's plan: a shape detector's check with its candidate spans in the token
# (relative offsets), or a detector's find (spans None); with the record context it needs.
_Spans = tuple[tuple[int, int], ...]
_Step = tuple[Callable[[str, int, int], Any], PiiType, re.Pattern[str] | None, _Spans | None]
_Plan = tuple[_Step, ...]


class Scanner:
    """Scans records with the detectors of one registry.

    ``compiled_core``: run the token pass in C (:mod:`compiled`) when the extension is built
    and every DIGITS detector can run there — it has a ``native`` check, or no
    ``record_context`` (its ``check``/``find`` is then called from C). False forces the
    pure-Python pass, which finds the same.
    """

    def __init__(self, registry: DetectorRegistry, *, compiled_core: bool = True) -> None:
        self.registry = registry
        self._digits = [
            (d, d.shape if isinstance(d, ShapeDetector) else _compiled(d.prefilter))
            for d in registry.by_trigger(Trigger.DIGITS)
        ]
        self._coarse: dict[str, tuple[int, ...]] = {}
        self._fine: dict[tuple[str, str, str], _Plan] = {}
        self._framed: dict[str, _Plan] = {}
        self._shaped = {i for i, (d, _) in enumerate(self._digits) if isinstance(d, ShapeDetector)}
        self._at = registry.by_trigger(Trigger.AT)
        self._colon = registry.by_trigger(Trigger.COLON)
        self._hangul = registry.by_trigger(Trigger.HANGUL)
        self._colon_prefilters = [_compiled(d.prefilter) for d in self._colon]
        self._colon_native = _compiled_searches(self._colon) if compiled_core else None
        self._at_native = _compiled_searches(self._at) if compiled_core else None
        self.compiled_core = (
            compiled_core and compiled.AVAILABLE and all(_runs_compiled(d) for d, _ in self._digits)
        )
        self._native_plans: dict[str, tuple[Any, ...]] = {}
        self._labels = compiled.words(NOT_PII_LABELS, before=_LABEL_REACH, after=0)

    def scan(self, text: str) -> list[Finding]:
        """Every finding in ``text``, non-overlapping, sorted by start."""
        return self.scan_many((text,))[0]

    def scan_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """The findings of each record of ``texts`` (as :meth:`scan` would return them), found
        in one pass over the records joined by :data:`RECORD_SEPARATOR`."""
        if not texts:
            return []
        original = texts[0] if len(texts) == 1 else RECORD_SEPARATOR.join(texts)
        starts = [] if self.compiled_core else _record_starts(texts)  # the Python passes'
        if self.compiled_core:
            text = compiled.fold(original)
        else:
            text = original.translate(_FOLD) if _FOLDABLE.search(original) else original
        found: list[Finding] = []
        if self._digits and self.compiled_core:
            compiled.scan_tokens(
                text, self._native_plans, self._native_plan, self._labels, Finding, found
            )
        elif self._digits:
            self._scan_tokens(text, texts, starts, found)
        if self._at and self._at_native is not None:
            compiled.scan_ats(text, self._at_native, Finding, found)
        elif self._at:
            n = len(text)
            at = text.find("@")
            while at >= 0:
                s, e = max(0, at - _EMAIL_REACH_BEFORE), min(n, at + _EMAIL_REACH_AFTER)
                for detector in self._at:
                    found.extend(f for f in detector.find(text, s, e) if f.start <= at < f.end)
                at = text.find("@", at + 1)
        if self._colon and ":" in text and self._colon_native is not None:
            compiled.scan_colons(text, self._colon_native, Finding, found)
        elif self._colon and ":" in text:
            for run in _COLON_RUN.finditer(text):
                for detector, prefilter in zip(self._colon, self._colon_prefilters, strict=True):
                    if prefilter is None or prefilter.search(text, run.start(), run.end()):
                        found.extend(detector.find(text, run.start(), run.end()))
        for detector in self._hangul:
            found.extend(detector.find(original, 0, len(original)))
        if self.compiled_core:
            records = texts if isinstance(texts, list) else list(texts)
            result: list[list[Finding]] = compiled.finish(found, records, _SEP, Finding, _greedy)
            return result
        return _per_record(resolve_overlaps(found), starts)

    def _scan_tokens(
        self, text: str, texts: Sequence[str], starts: list[int], found: list[Finding]
    ) -> None:
        """DIGITS detectors on the tokens whose shape can hold their findings (module doc).

        The tokens, their shapes and the first memo's answers come from C-level passes over
        the whole batch (``re.split``, one ``str.translate``, ``map``); Python loops only over
        the tokens that concern some detector."""
        parts = _TOKEN_SPLIT.split(text)  # gap, token, gap, token, ..., gap
        if len(parts) == 1:
            return
        shapes = "\x01".join(parts[1::2]).translate(_SHAPE).split("\x01")
        coarse: list[tuple[int, ...] | None] = list(map(self._coarse.get, shapes))
        for i in compress(range(len(coarse)), map(is_, coarse, repeat(None))):
            coarse[i] = self._coarse.get(shapes[i]) or self._coarse_plan(shapes[i])
        relevant = list(compress(range(len(coarse)), coarse))
        if not relevant:
            return
        ends = list(accumulate(map(len, parts)))  # a token i spans ends[2i] .. ends[2i + 1]
        fine_of = self._fine.get
        before = len(found)
        append, extend = found.append, found.extend
        n = len(text)
        lo = record_end = -1
        record_has: dict[re.Pattern[str], bool] = {}
        occurrences: dict[re.Pattern[str], list[int]] = {}
        for i in relevant:
            s, e = ends[2 * i], ends[2 * i + 1]
            key = (shapes[i], text[s - 1 : s], text[e : e + 2])
            plan = fine_of(key)
            if plan is None:
                plan = self._fine_plan(key, coarse[i] or ())
            for check, pii_type, context, spans in plan:
                if context is not None:
                    if s >= record_end:
                        record = bisect_right(starts, s) - 1
                        lo = starts[record]
                        record_end = lo + len(texts[record])
                        record_has = {}
                    known = record_has.get(context)
                    if known is None:  # the context's occurrences in the batch, found once
                        hits = occurrences.get(context)
                        if hits is None:
                            hits = [m.start() for m in context.finditer(text)]
                            occurrences[context] = hits
                        k = bisect_left(hits, lo)
                        known = record_has[context] = k < len(hits) and hits[k] < record_end
                    if not known:
                        continue
                if spans is None:  # a detector without a shape searches the token itself;
                    extend(check(text, s, min(n, e + 2)))  # its look-aheads see what follows
                    continue
                for a, b in spans:
                    score = check(text, s + a, s + b)
                    if score:
                        append(_new(Finding, (s + a, s + b, pii_type, score)))
        if len(found) > before:
            _drop_after_labels(text, found, before)

    def _coarse_plan(self, shape: str) -> tuple[int, ...]:
        """The detectors whose shape (or prefilter) occurs in a token's shape."""
        plan = tuple(i for i, (_, p) in enumerate(self._digits) if p is None or p.search(shape))
        if len(self._coarse) >= _MAX_SHAPES:
            self._coarse.clear()
        self._coarse[shape] = plan
        return plan

    def _fine_plan(self, key: tuple[str, str, str], coarse: tuple[int, ...]) -> _Plan:
        """Each detector's candidate spans in a token shape framed by the character before it
        and the two after it (by class): a shape detector's shape tests character classes
        only, so it finds the same spans in every token of this shape and frame."""
        shape, before, after = key
        framed = (before or "^").translate(_BOUNDARY) + shape + after.translate(_BOUNDARY)
        result = self._framed.get(framed)  # the same frame seen next to other characters
        if result is None:
            result = self._framed_plan(framed, len(shape), coarse)
        if len(self._fine) >= _MAX_SHAPES:
            self._fine.clear()
        self._fine[key] = result
        return result

    def _framed_plan(self, framed: str, length: int, coarse: tuple[int, ...]) -> _Plan:
        plan: list[_Step] = []
        for detector, spans in self._candidates(framed, length, coarse):
            if spans is None:
                plan.append((detector.find, detector.pii_type, detector.record_context, None))
            else:
                check = detector.check  # a ShapeDetector
                plan.append((check, detector.pii_type, detector.record_context, spans))
        if len(self._framed) >= _MAX_SHAPES:
            self._framed.clear()
        self._framed[framed] = result = tuple(plan)
        return result

    def _native_plan(self, framed: str, length: int) -> tuple[Any, ...]:
        """The plan of a framed token shape for the compiled token pass (``_native``'s
        scan_tokens keeps it in ``_native_plans``): steps (kind, function, type, spans) with
        kind 0 a compiled check, 1 a Python check, 2 a Python find on the token, 3 a compiled
        find."""
        shape = framed[1 : 1 + length]
        coarse = self._coarse.get(shape) or self._coarse_plan(shape)
        steps: list[tuple[Any, ...]] = []
        for detector, spans in self._candidates(framed, length, coarse):
            native = getattr(detector, "native", None)
            if spans is None:
                kind, function = (2, detector.find) if native is None else (3, native)
                steps.append((kind, function, detector.pii_type, None))
            elif native is not None:
                steps.append((0, native, detector.pii_type, spans))
            else:
                steps.append((1, detector.check, detector.pii_type, spans))
        return tuple(steps)

    def _candidates(
        self, framed: str, length: int, coarse: tuple[int, ...]
    ) -> list[tuple[Any, _Spans | None]]:
        """(detector, candidate spans in the token) for each detector of ``coarse`` with some
        (spans None: the detector has no shape and searches the token with ``find``)."""
        spans_of: dict[int, _Spans] = {}  # by id: hashing a pattern hashes its whole program
        out: list[tuple[Any, _Spans | None]] = []
        for i in coarse:
            detector, pattern = self._digits[i]
            if i not in self._shaped or pattern is None:
                out.append((detector, None))
                continue
            spans = spans_of.get(id(pattern))
            if spans is None:
                spans = spans_of[id(pattern)] = tuple(
                    (m.start() - 1, m.end() - 1)
                    for m in pattern.finditer(framed, 1)
                    if m.end() <= length + 1
                )
            if spans:
                out.append((detector, spans))
        return out


def _compiled_searches(detectors: list[Detector]) -> tuple[tuple[Any, PiiType], ...] | None:
    """(compiled search, type) of each detector of a trigger pass, or None when the extension
    is missing or some detector has no compiled search (the pass then runs in Python)."""
    natives = [getattr(d, "native", None) for d in detectors]
    if not compiled.AVAILABLE or None in natives:
        return None
    return tuple((n, d.pii_type) for n, d in zip(natives, detectors, strict=True))


def _runs_compiled(detector: Detector) -> bool:
    """Whether the compiled token pass gives this DIGITS detector's findings: it has a
    compiled check, or nothing (no record context) that only the Python pass applies."""
    return getattr(detector, "native", None) is not None or detector.record_context is None


def _compiled(prefilter: str) -> re.Pattern[str] | None:
    return re.compile(prefilter) if prefilter else None


def _drop_after_labels(text: str, found: list[Finding], first: int) -> None:
    """Remove from ``found[first:]`` the findings directly after a not-PII label."""
    label_ends = [m.end() for m in NOT_PII_LABELS.finditer(text)]
    if not label_ends:
        return
    kept = found[:first]
    for f in found[first:]:
        i = bisect_right(label_ends, f.start)
        if (
            i
            and label_ends[i - 1] >= f.start - _LABEL_REACH
            and near(NOT_PII_LABELS, text, f.start, f.end, before=_LABEL_REACH, after=0)
        ):
            continue
        kept.append(f)
    found[:] = kept


def _record_starts(texts: Sequence[str]) -> list[int]:
    """Where each record starts in the texts joined by :data:`RECORD_SEPARATOR`."""
    if len(texts) == 1:
        return [0]
    return [0, *accumulate(len(t) + _SEP for t in texts[:-1])]


def _per_record(findings: list[Finding], starts: list[int]) -> list[list[Finding]]:
    """Findings sorted by start in the joined text → each record's, with record offsets."""
    if len(starts) == 1:
        return [findings]
    out: list[list[Finding]] = [[] for _ in starts]
    lo, hi = 0, starts[1]
    add = out[0].append
    for start, end, pii_type, score in findings:
        if start >= hi:
            record = bisect_right(starts, start) - 1
            lo = starts[record]
            hi = starts[record + 1] if record + 1 < len(starts) else sys.maxsize
            add = out[record].append
        add(_new(Finding, (start - lo, end - lo, pii_type, score)))
    return out


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the highest-scoring (then longest) of overlapping findings; sort by start.

    Greedy in order of (−score, −length, start). A finding's fate depends only on the findings
    it overlaps, directly or through others, so the greedy choice is made within each group
    of findings connected by overlaps; a finding that overlaps nothing is kept as it is.
    """
    if len(findings) < 2:
        return list(findings)
    ordered = sorted(findings)  # a duplicate overlaps its twin and is dropped by _greedy
    kept: list[Finding] = []
    group: list[Finding] = [ordered[0]]
    reach = ordered[0].end
    for f in ordered[1:]:
        if f.start < reach:
            group.append(f)
            reach = max(reach, f.end)
            continue
        kept.extend(group if len(group) == 1 else _greedy(group))
        group, reach = [f], f.end
    kept.extend(group if len(group) == 1 else _greedy(group))
    return kept


def _greedy(group: list[Finding]) -> list[Finding]:
    ranked = sorted(group, key=lambda f: (-f.score, f.start - f.end, f.start))
    taken: list[Finding] = []
    for f in ranked:
        if all(f.end <= k.start or f.start >= k.end for k in taken):
            taken.append(f)
    taken.sort()
    return taken
