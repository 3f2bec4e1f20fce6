"""Person names: kiwipiepy proper nouns + surname list + context words, scored KLUE-NER style."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicenter.exchange.evaluation import parse_tagged, person_name_records, score_records
from aicenter.exchange.pii import PiiType, Scanner, default_registry
from aicenter.exchange.pii.person_name import split_name, surnames

DATA = Path(__file__).parent / "data"
FAST = Scanner(default_registry())
THOROUGH = Scanner(default_registry(thorough_names=True))


def names(text: str, scanner: Scanner = FAST) -> list[str]:
    return [text[f.start : f.end] for f in scanner.scan(text) if f.pii_type is PiiType.PERSON_NAME]


def test_parse_tagged_offsets() -> None:
    text, spans = parse_tagged("<김철수:PS> 기자가 <서울:LC>에서")
    assert text == "김철수 기자가 서울에서"
    assert spans == [("PS", 0, 3), ("LC", 8, 10)]


def test_surname_list_and_split() -> None:
    assert {"김", "이", "박", "남궁", "제갈"} <= surnames()
    assert split_name("남궁민수") == ("남궁", "민수")
    assert split_name("김철수") == ("김", "철수")
    assert split_name("철수") is None
    assert split_name("김abc") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("김민준 기자가 취재했다.", ["김민준"]),  # kiwi splits it; the title proposes it
        ("보호자 장성민님께 연락드렸습니다.", ["장성민"]),
        ("작성자: 한승우", ["한승우"]),
        ("정하늘(34) 씨가 구조를 요청했다.", ["정하늘"]),
        ("서울역에서 삼성전자 직원을 만났다.", []),
        ("전문가 위원이 말했다.", []),
        ("방은진 감독이 심사위원장을 맡았다.", ["방은진"]),
        ("정부는 이번 조사 결과를 강조했다.", []),
        ("no hangul here, John Smith", []),
    ],
)
@pytest.mark.parametrize("scanner", [FAST, THOROUGH], ids=["fast", "thorough"])
def test_names_in_context(text: str, expected: list[str], scanner: Scanner) -> None:
    assert names(text, scanner) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("어제\n\x00김민준 기자가 썼다.", ["김민준"]),  # a record starts with the name
        ("김민준 기자\n\x00이서연 씨", ["김민준", "이서연"]),  # a record ends with the title
        ('"최유진 교수"는 말했다.', ["최유진"]),  # a word start after a quote, not a space
        ("남궁민수 교수가 발표했다.", ["남궁민수"]),  # four syllables, then a space
        ("정하늘 (34세) 씨", ["정하늘"]),  # an age after a space
        ("김민준수석이 왔다.", []),  # a title other than an honorific needs a space before it
        ("작성자 :  한승우 (서명)", ["한승우"]),
        ("성명 담당자 김민준", []),  # 성명 takes 담당자 as its word, which is then no label
    ],
)
def test_context_at_boundaries(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("어제 김철수를 만나 계약을 논의했다.", ["김철수"]),
        ("기획사 대표가 발표했다.", []),
        ("광주에서 목포로 이사했다.", []),
    ],
)
def test_thorough_finds_names_without_context(text: str, expected: list[str]) -> None:
    assert names(text, THOROUGH) == expected
    assert names(text, FAST) == []


@pytest.mark.parametrize(
    ("file", "thorough", "floor"),
    [
        ("names_eval.txt", True, 0.93),
        ("names_heldout.txt", True, 0.88),
        ("names_eval.txt", False, 0.75),
        ("names_heldout.txt", False, 0.70),
    ],
)
def test_person_name_f1_floor(file: str, thorough: bool, floor: float) -> None:
    """Floors a little under the measured F1 (benchmarks/bench_pii.py prints it), to catch
    regressions."""
    records = person_name_records((DATA / file).read_text(encoding="utf-8").splitlines())
    assert len(records) >= 60
    scanner = THOROUGH if thorough else FAST
    score = score_records(records, scanner, [PiiType.PERSON_NAME])[PiiType.PERSON_NAME]
    assert score.gold >= 40
    assert score.f1 >= floor, score


def test_no_names_in_name_free_news_prose() -> None:
    """The generated articles contain no person; 반도체 시장, 전기차 시장 and the like must not
    read as a name before the title 시장 (mayor)."""
    from aicenter.exchange.synthetic import korean_news_text

    text = korean_news_text(9, 300_000)
    assert "반도체 시장" in text or "전기차 시장" in text
    assert names(text) == []
    assert names(text[:20_000], THOROUGH) == []


def test_thorough_reads_only_words_that_can_hold_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The analyser (8–16 µs a character) reads a small part of name-free prose, so thorough
    mode stays above 2 MB/s a core (benchmarks/bench_pii.py)."""
    from aicenter.exchange.pii import name_windows
    from aicenter.exchange.synthetic import korean_news_text

    analyser = name_windows.kiwi()
    read: list[str] = []

    class Counting:
        def tokenize(self, text: str) -> object:
            read.append(text)
            return analyser.tokenize(text)

    monkeypatch.setattr(name_windows, "kiwi", Counting)
    name_windows.clear_cache()
    text = korean_news_text(21, 20_000)
    assert names(text, THOROUGH) == []
    assert 0 < sum(map(len, read)) < 0.15 * len(text)
    name_windows.clear_cache()
