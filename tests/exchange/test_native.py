"""The compiled scanner core against the Python detectors and scanner it mirrors.

Every compiled check, search and pass must give exactly what its Python twin gives: on the
generated corpora (labelled PII, number-heavy text, prose) and on random strings made of the
pieces PII is made of (digits, separators, context words, '@', colons, full-width digits).
CI sets AICENTER_REQUIRE_NATIVE=1, so a failed build of the extension fails there instead of
skipping these tests.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator

import pytest

from aicenter.exchange.pii import (
    STRUCTURED_TYPES,
    Finding,
    PiiType,
    Scanner,
    Trigger,
    compiled,
    default_registry,
)
from aicenter.exchange.pii.base import ShapeDetector
from aicenter.exchange.pii.context import context_pattern, near
from aicenter.exchange.pii.scanner import _FOLD as SCANNER_FOLD
from aicenter.exchange.pii.scanner import NOT_PII_LABELS
from aicenter.exchange.synthetic import korean_news_text, labelled_records, number_heavy_text

if not compiled.AVAILABLE:
    if os.environ.get("AICENTER_REQUIRE_NATIVE") == "1":
        pytest.fail("the compiled scanner core was not built (setup.py)", pytrace=False)
    pytest.skip("the compiled scanner core is not built here", allow_module_level=True)

from aicenter.exchange.pii import _native  # only once it is known to exist

PIECES = [
    *"0123456789", *"0123456789", "-", "-", ".", " ", " ", "(", ")", "+", ":", "::", "|", "\n",
    ";", "@", "_", "%", "a", "b", "f", "A", "F", "M", "S", "Z", "x", ".com", ".co.kr", "fe80",
    "010", "02", "+82", "1588", "880", "900101", "1234567", "192.168.", "4111", "0.0.",
    "주민", "주민번호", "법인", "외국인", "계좌", "국민", "입금", "카드", "결제", "여권", "면허",
    "사업자", "전화", "연락처", "문의", "주문번호", "송장", "ISBN", "order no", "tel", "Tel",
    "\uff10", "\uff11", "\u2013", "\u3161", "\u0663", "。", "가", "는",
]  # fmt: skip


def random_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(PIECES, k=rng.randint(3, 40))) for _ in range(count)]


def corpus() -> list[str]:
    texts = [r.text for r in labelled_records(31, 1500, STRUCTURED_TYPES)]
    texts += number_heavy_text(32, 150_000).splitlines()
    texts += korean_news_text(33, 100_000).splitlines()
    return texts + random_texts(34, 12_000)


TEXTS = corpus()
FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
REGISTRY = default_registry(names=False)


def shape_detectors() -> Iterator[ShapeDetector]:
    for detector in REGISTRY:
        if isinstance(detector, ShapeDetector):
            yield detector


@pytest.mark.parametrize("detector", list(shape_detectors()), ids=lambda d: d.pii_type.value)
def test_each_compiled_check_scores_every_candidate_as_the_python_check(
    detector: ShapeDetector,
) -> None:
    native = detector.native  # type: ignore[attr-defined]
    assert native is not None
    candidates = 0
    for text in TEXTS:
        folded = text.translate(FOLD)  # as the scanner folds full-width digits first
        for m in detector.shape.finditer(folded):
            s, e = m.span()
            candidates += 1
            assert native(folded, s, e) == detector.check(folded, s, e), (folded, s, e)
    assert candidates > 200


@pytest.mark.parametrize(
    "pii_type", [PiiType.PHONE, PiiType.EMAIL, PiiType.IPV6], ids=lambda t: t.value
)
def test_each_compiled_search_finds_what_the_python_find_finds(pii_type: PiiType) -> None:
    detector = next(d for d in REGISTRY if d.pii_type is pii_type)
    native = detector.native  # type: ignore[attr-defined]
    found = 0
    for text in TEXTS:
        windows = [(0, len(text))]
        if detector.trigger is Trigger.COLON:  # called on colon runs, as the scanner does
            windows = [m.span() for m in re.finditer(r":[0-9A-Fa-f.:]*:", text)]
        for start, end in windows:
            expected = [(f.start, f.end, f.score) for f in detector.find(text, start, end)]
            assert native(text, start, end) == expected, (text, start, end)
            found += len(expected)
    assert found > 200


def test_compiled_near_agrees_with_context_near() -> None:
    words = context_pattern(["계좌", "국민", "주민번호", "tel", "order no", "ISBN"])
    reaches = [(24, 12), (30, 12), (12, 0), (5, 3)]
    compiled_words = {r: compiled.words(words, *r) for r in reaches}
    rng = random.Random(7)
    checked = 0
    for text in TEXTS[-6000:]:
        for _ in range(3):
            start = rng.randint(0, len(text))
            end = rng.randint(start, len(text))
            for reach, native in compiled_words.items():
                expected = near(words, text, start, end, before=reach[0], after=reach[1])
                assert native.near(text, start, end) == expected, (text, start, end, reach)
                checked += expected
    assert checked > 100


@pytest.mark.parametrize("names", [False, True], ids=["structured", "with-names"])
def test_compiled_scanner_finds_what_the_pure_python_scanner_finds(names: bool) -> None:
    fast = Scanner(default_registry(names=names))
    pure = Scanner(default_registry(names=names), compiled_core=False)
    assert fast.compiled_core and not pure.compiled_core
    for batch in (1, 7, 512):
        for i in range(0, min(len(TEXTS), 40 * batch), batch):
            records = TEXTS[i : i + batch]
            assert fast.scan_many(records) == pure.scan_many(records), records


class _TicketDetector:
    """A detector registered from outside, with a Python find and no record context: the
    compiled token pass calls it (it is not a reason to fall back to the Python pass)."""

    pii_type = PiiType.BANK_ACCOUNT
    trigger = Trigger.DIGITS
    prefilter = r"T-9{7}"
    record_context: re.Pattern[str] | None = None

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        for m in re.finditer(r"T-\d{7}", text[start:end]):
            yield Finding(start + m.start(), start + m.end(), self.pii_type, 0.5)


def test_python_detectors_without_record_context_run_inside_the_compiled_pass() -> None:
    registry = default_registry(names=False)
    registry.register(_TicketDetector())
    scanner = Scanner(registry)
    assert scanner.compiled_core
    text = "표 T-1234567 / 주문번호 T-7654321"  # the second follows a not-PII label
    assert scanner.scan(text) == [Finding(2, 11, PiiType.BANK_ACCOUNT, 0.5)]
    assert Scanner(registry, compiled_core=False).scan(text) == scanner.scan(text)


def test_compiled_fold_is_the_python_fold() -> None:
    every_foldable = "".join(map(chr, [*range(0xFF00, 0xFF60), *range(0x2010, 0x2016), 0x3161]))
    for text in [*TEXTS, every_foldable + "가\u2212", "plain ascii 010-1234-5678"]:
        assert compiled.fold(text) == text.translate(SCANNER_FOLD)
    unchanged = "계좌 110-123-456789"
    assert compiled.fold(unchanged) is unchanged  # no copy when nothing folds


def test_labels_reach_matches_the_python_rule() -> None:
    labels = compiled.words(NOT_PII_LABELS, before=12, after=0)
    cases = {
        "주문번호 010-1234-5678": True,
        "주문번호. 010-1234-5678": False,  # a clause end in between
        "주문번호 적힌 종이에는 메모만 있고 010-1234-5678": False,  # beyond 12 characters
        "송장 010-1234-5678": True,
    }
    for text, expected in cases.items():
        start = text.index("010")
        end = start + len("010-1234-5678")
        assert labels.near(text, start, end) is expected, text
        assert near(NOT_PII_LABELS, text, start, end, before=12, after=0) is expected


def test_bad_calls_fail_with_a_clear_error() -> None:
    rrn = next(d for d in REGISTRY if d.pii_type is PiiType.RRN).native  # type: ignore[attr-defined]
    with pytest.raises(IndexError, match="outside the text"):
        rrn("900101-1234568", 0, 99)
    with pytest.raises(TypeError, match="non-empty str"):
        _native.Words(("계좌", ""))
    with pytest.raises(TypeError, match="Words"):
        _native.card(None)
    with pytest.raises(ValueError, match="region codes"):
        _native.driver_licence((99,), compiled.words(context_pattern(["면허"])))
    with pytest.raises(TypeError, match="plan step"):
        _native.scan_tokens("900101-1234568", {}, lambda key, n: ((0, 1),), None, Finding, [])
