"""Korean person names: kiwipiepy proper nouns + the surname list + context words.

kiwipiepy tags names only as generic proper nouns (NNP), as it does places and companies;
"every NNP is a name" scores F1 ≈ 0.48 on KLUE-NER. A candidate here is an NNP (or an NNP
surname directly followed by an NNP given name) of 2–4 Hangul syllables whose first one or two
syllables are a Korean surname and whose given name has 1–2 syllables. It is then scored:

* a title or kinship word right after it (씨, 님, 기자, 대표, 교수 ...), a label right before it
  (성명, 이름, 담당자, 예금주 ...) or an age in parentheses → 0.90;
* otherwise a three-syllable name (or a two-syllable surname + given name) that does not end in
  a place or organisation suffix (시, 구, 역, 전자, 은행 ...) and is not a known non-name → 0.60;
* anything else is not reported.

kiwipiepy often splits an unknown name (김민준 → 김민/NNP 준/NNG, 구혜선 → 구/MM 혜/NNG 선/NNG),
so context also proposes candidates on its own: a 3–4-syllable word that starts with a surname
and is directly followed by a title, or directly follows a label, is a name (0.85) unless the
analyser reads the whole word as one common noun (전문가, 소비자, 이사회), ends it inside a
longer word (심사위|원장) or, before a title other than an honorific suffix (씨, 님, 군, 양),
finds a particle in it (목포로 이사했다); before an honorific suffix a common-noun reading does
not rule it out either.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from aicenter.exchange.pii.base import Finding, PiiType, Trigger

_HANGUL = re.compile(r"[가-힣]")
_ALL_HANGUL = re.compile(r"[가-힣]+")
TITLES = (
    "씨", "님", "군", "양", "기자", "특파원", "대표", "대표이사", "교수", "회장", "부회장", "사장",
    "부사장", "의원", "장관", "차관", "대통령", "총리", "시장", "지사", "군수", "구청장", "선수",
    "감독", "코치", "변호사", "검사", "판사", "의사", "간호사", "원장", "총장", "학장", "이사",
    "전무", "상무", "부장", "차장", "과장", "대리", "팀장", "실장", "본부장", "소장", "위원장",
    "위원", "작가", "박사", "연구원", "선생", "선생님", "교사", "씨는", "씨가", "씨의", "여사",
    "주임", "사원", "회원", "고객", "환자", "피고인", "피해자", "대변인", "수석", "비서관",
    "원내대표", "당선인", "후보", "경위", "경감", "경사", "순경", "병장", "상병", "일병", "이병",
    "할머니", "할아버지", "어머니", "아버지", "목사", "신부", "스님", "셰프", "배우", "가수",
)  # fmt: skip
LABELS = (
    "성명", "이름", "고객명", "담당자", "작성자", "신청인", "신청자", "보호자", "예금주",
    "환자명", "수신인", "수신자", "발신인", "발신자", "대표자", "피고인", "원고", "피고",
    "성함", "받는분", "보내는분", "수취인", "계약자", "가입자", "명의자", "소유자",
)  # fmt: skip
_TITLE_AFTER = re.compile(r"\s?(?:" + "|".join(sorted(TITLES, key=len, reverse=True)) + ")")
_LABEL_BEFORE = re.compile(
    r"(?:" + "|".join(sorted(LABELS, key=len, reverse=True)) + r")\s*[:：]?\s*$"
)
_HONORIFICS = ("씨", "님", "군", "양")
_BY_TITLE = re.compile(
    r"(?<![가-힣])([가-힣]{3,4}?)(?=\s?(?:" + "|".join(sorted(TITLES, key=len, reverse=True)) + "))"
)
_BY_LABEL = re.compile(
    r"(?:"
    + "|".join(sorted(LABELS, key=len, reverse=True))
    + r")\s*[:：]?\s*([가-힣]{3,4})(?![가-힣])"
)
_COMMON_NOUN_TAGS = frozenset({"NNG", "NNB", "NP", "VV", "VA", "MAG"})
_AGE_AFTER = re.compile(r"\s?\(\s?\d{1,3}\s?(?:세|살)?\s?[,)]")
NON_NAME_ENDINGS = (
    "시", "도", "군", "구", "동", "읍", "면", "리", "역", "로", "길", "산", "강", "천", "섬",
    "항", "만", "해", "대", "원", "청", "처", "부", "국", "단", "관", "당", "사", "점", "관",
    "전자", "그룹", "은행", "건설", "화학", "증권", "생명", "화재", "공사", "공단", "재단",
    "협회", "센터", "병원", "학교", "대학", "일보", "신문", "방송", "마트", "제약", "자동차",
    "항공", "해운", "중공업", "카드", "캐피탈", "보험", "호텔", "백화점", "공항", "공원",
)  # fmt: skip
NON_NAMES = frozenset(
    [
        "신세계", "현대차", "한진", "이마트", "한화", "한국", "조선", "고려", "신라", "백제",
        "정부", "국회", "김치", "홍길동전", "강남", "강북", "서초", "송파", "마포", "용산",
        "노원", "구로", "성수", "성남", "안양", "안산", "부천", "고양", "하남", "남양주",
        "전주", "진주", "경주", "공주", "나주", "원주", "충주", "제주", "양주", "여주",
        "김포", "김해", "이천", "오산", "구미", "양산", "포항", "목포", "여수", "순천",
        "한라", "백두", "금강", "한강", "남산", "설악", "지리", "태백", "소백", "남한",
        "유럽", "미국", "중국", "일본", "영국", "독일", "호주", "인도", "대만", "태국",
        "유튜브", "구글", "마이크로", "도요타", "소니", "나이키",
    ]
)  # fmt: skip


@cache
def surnames() -> frozenset[str]:
    """The packaged surname list (data/surnames.csv, with its source)."""
    path = resources.files("aicenter.exchange.pii").joinpath("data/surnames.csv")
    with path.open(encoding="utf-8") as handle:
        return frozenset(row["surname"] for row in csv.DictReader(handle))


@cache
def _kiwi() -> Any:
    from kiwipiepy import Kiwi  # imported lazily: loading the model takes about a second

    return Kiwi()


def split_name(form: str) -> tuple[str, str] | None:
    """(surname, given name) when ``form`` reads as a Korean full name, else None."""
    names = surnames()
    if not (2 <= len(form) <= 4) or not _ALL_HANGUL.fullmatch(form):
        return None
    if len(form) >= 3 and form[:2] in names:
        return form[:2], form[2:]
    if form[0] in names and 1 <= len(form) - 1 <= 2:
        return form[0], form[1:]
    return None


class PersonNameDetector:
    pii_type = PiiType.PERSON_NAME
    trigger = Trigger.HANGUL
    min_digits = 0
    needs_any = ""

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        segment = text[start:end]
        if not _HANGUL.search(segment):
            return
        tokens = _kiwi().tokenize(segment)
        by_context = dict(self._context_candidates(segment, tokens))
        for s, (e, score) in by_context.items():
            yield Finding(start + s, start + e, self.pii_type, score)
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.tag != "NNP":
                i += 1
                continue
            s, e, form, used = tok.start, tok.start + tok.len, tok.form, 1
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if (
                nxt is not None
                and nxt.tag == "NNP"
                and nxt.start == e
                and form in surnames()
                and len(nxt.form) <= 2
            ):
                e, form, used = nxt.start + nxt.len, form + nxt.form, 2
            score = self._score(segment, s, e, form)
            if score and s not in by_context:
                yield Finding(start + s, start + e, self.pii_type, score)
            i += used

    @staticmethod
    def _context_candidates(
        segment: str, tokens: list[Any]
    ) -> Iterator[tuple[int, tuple[int, float]]]:
        """(start, (end, score)) of names proposed by a title after or a label before them."""
        found = [(m.start(1), m.end(1), m.end(1)) for m in _BY_TITLE.finditer(segment)]
        found += [(m.start(1), m.end(1), -1) for m in _BY_LABEL.finditer(segment)]
        for s, e, title_at in found:
            form = segment[s:e]
            if split_name(form) is None or form in NON_NAMES or form.endswith("들"):
                continue
            after = (
                title_at + 1
                if 0 <= title_at < len(segment) and segment[title_at] == " "
                else title_at
            )
            honorific = title_at >= 0 and segment.startswith(_HONORIFICS, after)
            inside = [t for t in tokens if t.start < e and t.start + t.len > s]
            if not any(t.start + t.len == e for t in inside):
                continue  # the title is the tail of a longer word (심사위|원장)
            if not honorific and any(t.tag.startswith(("J", "E")) for t in inside):
                continue  # a particle before an ambiguous title (목포로 이사했다)
            whole_common = any(
                t.start == s and t.start + t.len == e and t.tag in _COMMON_NOUN_TAGS for t in inside
            )
            if whole_common and not honorific:
                continue
            yield s, (e, 0.85)

    @staticmethod
    def _score(segment: str, s: int, e: int, form: str) -> float:
        if segment[s:e] != form:
            return 0.0
        parts = split_name(form)
        if parts is None:
            return 0.0
        if (
            _TITLE_AFTER.match(segment, e)
            or _AGE_AFTER.match(segment, e)
            or _LABEL_BEFORE.search(segment, max(0, s - 12), s)
        ):
            return 0.9
        _surname, given = parts
        if form in NON_NAMES or form.endswith(NON_NAME_ENDINGS):
            return 0.0
        if len(given) == 2:
            return 0.6
        return 0.0
