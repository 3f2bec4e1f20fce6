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
import sys
from collections.abc import Iterator
from pathlib import Path

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


# Pieces for the fuzz below: those of PIECES, the record separator and characters a str can
# hold that the corpora never show (NUL, '\r', astral-plane code points that make the text
# UCS-4, combining marks, full-width and look-alike separators, non-ASCII digits).
FUZZ_PIECES = [
    *PIECES, "\n\x00", "\x00", "\r", "\r\n", "\t", "\U0001f600", "\U0001f4de", "\U00020000",
    "\u0301", "\u00a0", "\u3000", "\uff0d", "\uff0e", "\uff20", "\u2212", "\u2014", "\u0966",
    "\U0001d7ce", "010-1234-5678", "+82 10 1234 5678", "900101-1234568", "4111-1111-1111-1111",
    "user@example.com", "a.b@x.co", "2001:db8::1", "fe80::1:2:3:4", "::ffff:1.2.3.4",
    "192.168.0.1", "110-123-456789", "123-45-67890", "M12345678", "11-12-123456-12",
    "주문번호 ", "계좌 ", "전화 ",
]  # fmt: skip


def fuzz_records(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(FUZZ_PIECES, k=rng.randint(0, 30))) for _ in range(count)]


@pytest.mark.parametrize("names", [False, True], ids=["structured", "with-names"])
def test_compiled_scanner_agrees_on_odd_characters_and_record_separators(names: bool) -> None:
    """Records with UCS-4 characters, NUL, '\\r', the record separator itself and empty
    records, in batches of every size: the compiled scan finds exactly what the Python scan
    finds, and its findings hash as the tuples they equal (dict and set keys)."""
    fast = Scanner(default_registry(names=names))
    pure = Scanner(default_registry(names=names), compiled_core=False)
    records = fuzz_records(35 + names, 3000)
    found = 0
    position = 0
    rng = random.Random(36)
    while position < len(records):
        batch = records[position : position + rng.choice([1, 1, 2, 3, 17, 64])]
        position += len(batch)
        expected = pure.scan_many(batch)
        got = fast.scan_many(batch)
        assert got == expected, batch
        for findings in got:
            found += len(findings)
            assert all(hash(f) == hash(tuple(f)) for f in findings)
    assert found > 500


def test_compiled_checks_stay_inside_the_span_for_any_arguments() -> None:
    """Every compiled check and search, called as Python may call it: empty, one-character
    and UCS-4 texts, every span of them (short ones included), never reads outside the text
    and returns a score or a list; out-of-range spans are refused."""
    natives = [d.native for d in REGISTRY if getattr(d, "native", None) is not None]  # type: ignore[attr-defined]
    assert len(natives) >= 10
    texts = ["", "0", "\U0001f600", "\x00" * 40, "/" * 40, "1/1.1.1.1", "9" * 40, "@", "::"]
    texts += fuzz_records(37, 40)
    for native in natives:
        for text in texts:
            for start in range(len(text) + 1):
                for end in range(start, min(len(text), start + 25) + 1):
                    assert isinstance(native(text, start, end), (float, list))
            for start, end in [(-1, 0), (0, len(text) + 1), (1, 0), (sys.maxsize, sys.maxsize)]:
                with pytest.raises(IndexError):
                    native(text, start, end)


def test_compiled_ipv4_check_refuses_octets_that_are_not_digits() -> None:
    """'/' and NUL are below '0': as "digits" they were negative, so "1/1" passed as the octet
    9 and a run of NULs overflowed an int. Python's int() refuses them; so does the check."""
    ipv4 = compiled.ipv4()
    assert ipv4("1/1.1.1.1", 0, 9) == 0.0
    assert ipv4("\x00" * 40, 0, 40) == 0.0
    assert ipv4("1.2.3.4", 0, 7) == 0.85


def test_compiled_email_search_takes_any_number_of_labels() -> None:
    """The search kept at most 128 labels, so an address with more (possible in a window
    longer than the scanner's) was missed; the regular expression has no such limit."""
    email = next(d for d in REGISTRY if d.pii_type is PiiType.EMAIL)
    for labels in (1, 127, 128, 200):
        text = "x a@" + "b." * labels + "com y"
        expected = [(f.start, f.end, f.score) for f in email.find(text, 0, len(text))]
        assert expected == [(2, len(text) - 2, 0.95)]
        assert email.native(text, 0, len(text)) == expected  # type: ignore[attr-defined]


def test_compiled_near_with_a_huge_reach_does_not_overflow() -> None:
    """end + after overflowed (undefined behaviour; in practice a negative window, no word)."""
    words = context_pattern(["계좌"])
    far = compiled.words(words, sys.maxsize, sys.maxsize)
    text = "12 계좌"
    assert near(words, text, 0, 2, before=99, after=99)  # (Python's near overflows at maxsize)
    assert far.near(text, 0, 2) is True
    assert far.near(text, 5, 5) is True  # looking back


def _greedy_first(group: list[Finding]) -> list[Finding]:
    return group[:1]


def test_finish_refuses_what_is_not_a_finding_or_a_record() -> None:
    """finish() is callable from Python: a finding type that is no tuple, texts that are not
    strs, findings (or greedy answers) that are not tuples and a negative separator were
    used unchecked (writes into a dict, reads of a str's length from an int)."""
    first = Finding(0, 1, PiiType.PHONE, 0.9)
    second = Finding(5, 6, PiiType.PHONE, 0.9)
    assert _native.finish([second, first], ["abc", "def"], 2, Finding, _greedy_first) == [
        [first],
        [Finding(0, 1, PiiType.PHONE, 0.9)],
    ]
    with pytest.raises(TypeError, match="tuple type"):
        _native.finish([first, second], ["abc", "def"], 2, dict, _greedy_first)
    with pytest.raises(TypeError, match="strs"):
        _native.finish([first, second], ["abc", 7], 2, Finding, _greedy_first)
    with pytest.raises(TypeError, match="finding is a"):
        _native.finish([5], ["abc", "def"], 2, Finding, _greedy_first)
    with pytest.raises(TypeError, match="finding is a"):
        _native.finish([first, first], ["abc"], 2, Finding, lambda group: [1, 2])
    with pytest.raises(ValueError, match="separator"):
        _native.finish([first], ["abc", "def"], -3, Finding, _greedy_first)
    with pytest.raises(TypeError, match="tuple type"):
        _native.scan_ats("a@b.co", ((compiled.email(), PiiType.EMAIL),), int, [])
    with pytest.raises(TypeError, match="tuple type"):
        _native.scan_colons("::1:2", ((compiled.ipv6(), PiiType.IPV6),), int, [])


def test_finish_survives_a_greedy_that_empties_the_findings() -> None:
    """greedy() is Python code: finish read the findings list with a length taken before it
    ran and borrowed items, so a greedy() that changed the list made it read freed memory."""
    overlapping = [Finding(0, 3, PiiType.PHONE, 0.9), Finding(1, 4, PiiType.CARD, 0.8)]
    after = Finding(6, 9, PiiType.EMAIL, 0.9)
    found = [*overlapping, after, Finding(10, 12, PiiType.RRN, 0.9)]

    def greedy(group: list[Finding]) -> list[Finding]:
        found.clear()
        return group[:1]

    # the finding being looked at when greedy() ran is kept; the scan stops at the list's end
    assert _native.finish(found, ["x" * 12], 2, Finding, greedy) == [[overlapping[0], after]]


def test_a_python_check_may_empty_the_plan_memo_while_its_plan_runs() -> None:
    """The plan is held by the token pass, not borrowed from the memo the check clears."""
    memo: dict[str, object] = {}
    calls: list[tuple[int, int]] = []

    def check(text: str, start: int, end: int) -> float:
        memo.clear()
        calls.append((start, end))
        return 0.5

    def make_plan(key: str, length: int) -> tuple[object, ...]:
        return ((1, check, PiiType.PHONE, ((0, length), (0, 7))),)

    out: list[Finding] = []
    _native.scan_tokens("tel 0101234567 end", memo, make_plan, None, Finding, out)
    assert calls == [(4, 14), (4, 11)]
    assert out == [Finding(4, 14, PiiType.PHONE, 0.5), Finding(4, 11, PiiType.PHONE, 0.5)]


def test_a_python_check_that_answers_none_drops_the_candidate_as_in_python() -> None:
    """scanner.py keeps a candidate when ``if score:`` holds; the compiled pass converted the
    answer to a float first, so a check answering None (no score) raised a TypeError."""
    answers = iter([None, 0, 0.7])

    def check(text: str, start: int, end: int) -> float | None:
        return next(answers)

    def make_plan(key: str, length: int) -> tuple[object, ...]:
        return ((1, check, PiiType.PHONE, ((0, length), (0, 7), (0, 8))),)

    out: list[Finding] = []
    _native.scan_tokens("tel 0101234567", {}, make_plan, None, Finding, out)
    assert out == [Finding(4, 12, PiiType.PHONE, 0.7)]


NAME_PIECES = [
    "김", "이", "박", "정", "최", "남궁", "민준", "서연", "하늘", "철수", "영희",
    "씨", "님", "군", "양",
    " ", " ", "\n", "(", "34", ")", "세", ",", "·", "기자", "대표", "교수", "시장", "이사", "씨는",
    "성명", ":", "：", "담당자", "예금주", "고객명", "반도체", "는", "의", "가", "를", "a", "1",
    "\t", "\u3000", "😀",
]  # fmt: skip


def test_name_anchor_search_finds_every_match_of_the_context_scan() -> None:
    """Matching person_name's context scan only where the compiled search points gives the
    same matches, with the same groups, as letting the regex engine try every position."""
    from aicenter.exchange.pii import person_name

    scan = person_name._context_scan()
    finder = person_name._anchor_finder()
    rng = random.Random(11)
    texts = korean_news_text(35, 200_000).splitlines()
    data = Path(__file__).parent / "data"
    for name in ("names_eval.txt", "names_heldout.txt"):
        texts += (data / name).read_text(encoding="utf-8").splitlines()
    texts += ["".join(rng.choices(NAME_PIECES, k=rng.randint(1, 30))) for _ in range(6000)]
    matched = 0
    for text in texts:
        expected = [(m.span(), m.span(1), m.span(2), m.span(3)) for m in scan.finditer(text)]
        found = [m for p in finder.find(text) if (m := scan.match(text, p))]
        assert [(m.span(), m.span(1), m.span(2), m.span(3)) for m in found] == expected, text
        matched += len(expected)
    assert matched > 1000
