"""A labelled synthetic corpus of Korean text with PII, for evaluation and benchmarks.

Everything is generated from a seeded :class:`random.Random`, so a seed names a corpus. Each
PII type's pieces come from its detector's sample generator (valid where the format has a
check, and including the hard cases: post-2020 resident numbers whose check digit fails, always
with a context word; undashed forms; phones in every written form; bank accounts announced by
context words). Decoys — numbers that only look like PII — are
mixed into the same records unlabelled, and :func:`number_heavy_text` writes PII-free tables,
dates, prices, timestamps and order numbers for the false-findings-per-MB measure.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from aicenter.exchange.pii.base import PiiType, Sample
from aicenter.exchange.pii.registry import HANDLING
from aicenter.exchange.pii.samples import digits as _digits


@dataclass(frozen=True, slots=True)
class Span:
    """A labelled span: ``text[start:end]`` is PII of ``pii_type``."""

    pii_type: PiiType
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class LabelledRecord:
    text: str
    spans: tuple[Span, ...]


def _piece(rng: random.Random, kind: PiiType) -> Sample:
    """(prefix text, PII value, suffix text) for one labelled piece of ``kind``: the sample
    generator of the type's detector."""
    return HANDLING[kind].sample(rng)


def _decoy(rng: random.Random) -> str:
    """Text with numbers that only look like PII (never labelled)."""
    makers: list[Callable[[], str]] = [
        lambda: f"주문번호 {rng.randint(2019, 2026)}{_digits(rng, 4)}-{_digits(rng, 6)}",
        lambda: f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        lambda: f"가격은 {rng.randint(1, 999)},{_digits(rng, 3)}원",
        lambda: f"버전 {rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
        lambda: f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        lambda: f"카드 승인번호 {_digits(rng, 8)}",
        lambda: f"문서번호 {_digits(rng, 6)}-{_digits(rng, 7)}",  # 6-7 shape, a non-PII label
        lambda: f"참고 {_digits(rng, 6)}-{_digits(rng, 7)}",  # 6-7 shape, no label at all
        lambda: f"{_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 5)}",  # 3-2-5 shape
        lambda: f"{_digits(rng, 4)}-{_digits(rng, 4)}-{_digits(rng, 4)}-{_digits(rng, 4)}",
        lambda: f"송장 {_digits(rng, 12)}",
        lambda: f"ISBN 978-89-{_digits(rng, 3)}-{_digits(rng, 4)}-{rng.randint(0, 9)}",
        lambda: f"좌표 37.{_digits(rng, 4)}, 126.{_digits(rng, 4)}",
        lambda: (
            f"{rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 9)}.5항"
        ),
        lambda: f"매출 {rng.randint(1, 999)}억 {rng.randint(1, 9999)}만원",
    ]
    return rng.choice(makers)()


_FILLERS = (
    "지난주 회의에서 논의된 내용을 정리했습니다.",
    "관련 서류는 다음 주까지 제출해 주시기 바랍니다.",
    "이번 행사는 서울 코엑스에서 열렸다.",
    "자세한 사항은 홈페이지를 참고하시기 바랍니다.",
    "본 메일은 발신 전용입니다.",
    "고객님의 소중한 의견에 감사드립니다.",
    "처리 결과는 영업일 기준 3일 이내에 안내됩니다.",
)


def labelled_records(
    seed: int, n_records: int, types: tuple[PiiType, ...], decoy_rate: float = 0.5
) -> list[LabelledRecord]:
    """``n_records`` records, each with 1–3 labelled pieces of ``types`` and maybe a decoy."""
    rng = random.Random(seed)
    out: list[LabelledRecord] = []
    for _ in range(n_records):
        text = rng.choice(_FILLERS) + " "
        spans: list[Span] = []
        for _k in range(rng.randint(1, 3)):
            kind = rng.choice(types)
            prefix, value, suffix = _piece(rng, kind)
            text += prefix
            spans.append(Span(kind, len(text), len(text) + len(value)))
            text += value + suffix + ". "
            if rng.random() < decoy_rate:
                text += _decoy(rng) + ". "
        out.append(LabelledRecord(text.strip(), tuple(spans)))
    return out


def ean13(rng: random.Random) -> str:
    """A Korean product barcode: EAN-13 with the 880 prefix and a valid check digit
    (weights 1,3,1,3,… on the first 12 digits; check = (10 − Σ mod 10) mod 10). Thirteen digits
    starting 880 also read as a resident number born in 1988."""
    body = "880" + _digits(rng, 9)
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def number_heavy_text(seed: int, n_bytes: int) -> str:
    """PII-free, number-heavy text of about ``n_bytes`` UTF-8 bytes: tables, dates, prices,
    timestamps, order numbers, product barcodes, codes and statistics."""
    rng = random.Random(seed)
    lines: list[str] = []
    size = 0
    rows: list[Callable[[], str]] = [
        lambda: (
            f"| {rng.randint(2015, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
            f"| {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} "
            f"| {rng.randint(1, 99_999_999):,} | {rng.random():.4f} | {rng.randint(0, 100)}% |"
        ),
        lambda: (
            f"주문번호 ORD-{rng.randint(2019, 2026)}{rng.randint(1, 12):02d}"
            f"{rng.randint(1, 28):02d}-{_digits(rng, 6)} 결제금액 {rng.randint(1, 9_999_999):,}원"
        ),
        lambda: (
            f"{rng.randint(2015, 2026)}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d} 종가 "
            f"{rng.randint(1000, 999_999):,}원 ({rng.choice('+-')}{rng.random() * 10:.2f}%) "
            f"거래량 {rng.randint(1, 99_999_999):,}주"
        ),
        lambda: (
            f"{rng.randint(2015, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}+09:00 "
            f"req={_digits(rng, 10)} latency={rng.randint(1, 9999)}ms status=200"
        ),
        lambda: (
            f"송장번호 {_digits(rng, 12)} / 상품코드 {_digits(rng, 8)} / 수량 {rng.randint(1, 99)}"
        ),
        lambda: (
            f"{rng.randint(1, 9)}분기 매출 {rng.randint(1, 999):,}억 {rng.randint(0, 9999)}만원, "
            f"영업이익률 {rng.random() * 30:.1f}%, 전년 대비 {rng.randint(-50, 50)}%"
        ),
        lambda: " ".join(f"{rng.randint(0, 99_999):>6}" for _ in range(rng.randint(6, 12))),
        lambda: (
            f"문서번호 제{rng.randint(2015, 2026)}-{_digits(rng, 5)}호, "
            f"{rng.randint(2015, 2026)}년 {rng.randint(1, 12)}월 {rng.randint(1, 28)}일 시행"
        ),
        lambda: (
            f"좌표 {rng.uniform(33, 38):.6f}, {rng.uniform(124, 131):.6f} "
            f"고도 {rng.randint(0, 2000)}m"
        ),
        lambda: (
            f"ISBN 978-89-{_digits(rng, 3)}-{_digits(rng, 4)}-{rng.randint(0, 9)} "
            f"정가 {rng.randint(5, 50)},000원"
        ),
        lambda: (
            f"v{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)} "
            f"build {_digits(rng, 7)}"
        ),
        lambda: f"우편번호 {_digits(rng, 5)} 사서함 {rng.randint(1, 999)}호 {rng.randint(1, 40)}층",
        lambda: f"epoch {rng.randint(1_500_000_000, 1_800_000_000)} id {_digits(rng, 16)}",
        lambda: (
            f"| {ean13(rng)} | {rng.randint(1, 99) * 100:,}원 | {rng.randint(1, 500)}개 "
            f"| {rng.randint(1, 12):02d}/{rng.randint(1, 28):02d} |"
        ),
        lambda: f"바코드 {ean13(rng)} 입고 {rng.randint(1, 999)}개",
    ]
    while size < n_bytes:
        line = rng.choice(rows)()
        lines.append(line)
        size += len(line.encode("utf-8")) + 1
    return "\n".join(lines) + "\n"


# --- near-duplicate test set -------------------------------------------------------------------

_PLACES = (
    "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "수원", "창원", "전주", "청주",
    "포항", "제주", "춘천", "강릉", "원주", "천안", "김해", "여수",
)  # fmt: skip
_ORGS = (
    "과학기술정보통신부", "산업통상자원부", "한국은행", "통계청", "교육부", "국토교통부",
    "보건복지부", "환경부", "금융위원회", "공정거래위원회", "중소벤처기업부", "행정안전부",
)  # fmt: skip
_TOPICS = (
    "반도체", "인공지능", "전기차", "배터리", "바이오", "조선", "관광", "부동산", "물가",
    "금리", "수출", "청년 고용", "저출산", "기후", "에너지", "데이터센터", "로봇", "우주",
)  # fmt: skip
_SENTENCES = (
    "{org}는 {date} {topic} 분야 지원 방안을 발표했다.",
    "{place} 지역의 {topic} 관련 투자는 지난해보다 {pct}% 늘어난 {amount}억 원으로 집계됐다.",
    '업계 관계자는 "{topic} 시장의 불확실성이 여전히 크다"고 말했다.',
    "{org}에 따르면 올해 {topic} 예산은 {amount}억 원 규모다.",
    "전문가들은 {topic} 경쟁력 강화를 위해 인력 양성이 시급하다고 지적했다.",
    "{place}시는 {topic} 특화단지 조성을 위해 {amount}억 원을 투입하기로 했다.",
    "이번 조치로 {topic} 기업 {count}곳이 혜택을 받을 것으로 예상된다.",
    "{date} 기준 {topic} 부문 수출액은 전년 동기 대비 {pct}% 증가했다.",
    '{org} 관계자는 "현장의 목소리를 반영해 제도를 보완하겠다"고 밝혔다.',
    "시민단체는 {topic} 정책의 실효성에 의문을 제기했다.",
    "{place}에서 열린 {topic} 박람회에는 {count}개 기업이 참가했다.",
    "{topic} 분야 일자리는 {count}개가 새로 만들어질 전망이다.",
    "정부는 {topic} 규제를 완화하는 법안을 {date} 국회에 제출할 계획이다.",
    "한편 {place} 주민들은 {topic} 시설 유치를 두고 찬반이 엇갈리고 있다.",
    "{org}는 {topic} 통계를 분기마다 공개하기로 했다.",
    "연구진은 {topic} 기술의 상용화까지 {count}년 이상 걸릴 것으로 내다봤다.",
)


@dataclass(frozen=True, slots=True)
class DedupRecord:
    """A record of the near-duplicate test set: records of one ``cluster`` are near-duplicates
    of each other by construction; different clusters are not."""

    text: str
    provider: str
    cluster: int


def _sentence(rng: random.Random, topic: str, place: str, org: str) -> str:
    return rng.choice(_SENTENCES).format(
        org=org,
        place=place,
        topic=topic,
        date=f"{rng.randint(1, 12)}월 {rng.randint(1, 28)}일",
        pct=f"{rng.randint(1, 60)}.{rng.randint(0, 9)}",
        amount=f"{rng.randint(10, 9999):,}",
        count=rng.randint(2, 500),
    )


def _article(rng: random.Random) -> list[str]:
    topic, place, org = rng.choice(_TOPICS), rng.choice(_PLACES), rng.choice(_ORGS)
    return [_sentence(rng, topic, place, org) for _ in range(rng.randint(8, 16))]


def _near_copy(rng: random.Random, sentences: list[str]) -> str:
    """A near-duplicate: one to three of the edits a syndicated or re-posted article goes
    through — a changed number, a dropped sentence, a cut ending, re-spacing, byline and footer."""
    out = list(sentences)
    edits = rng.sample(range(5), k=rng.randint(1, 3))
    if 0 in edits:
        i = rng.randrange(len(out))
        out[i] = re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), out[i])
    if 1 in edits and len(out) > 2:
        del out[rng.randrange(1, len(out))]
    if 2 in edits:
        out = out[: max(len(out) - max(1, len(out) // 10), 1)]
    text = " ".join(out)
    if 3 in edits:
        text = text.replace(". ", ".\n  ")
    if 4 in edits:
        byline = f"[{rng.choice(_PLACES)}=뉴스통신] 기자 = "
        text = byline + text + " <저작권자 무단전재 및 재배포 금지>"
    return text


def near_duplicate_corpus(
    seed: int, n_articles: int, copy_rate: float = 0.5, providers: int = 4
) -> list[DedupRecord]:
    """Articles, near-copies of some of them (from the same or another provider) and, as hard
    negatives, follow-up articles on the same topic that reuse half of an article's sentences;
    shuffled."""
    rng = random.Random(seed)
    records: list[DedupRecord] = []
    names = [f"provider-{i}" for i in range(providers)]
    for cluster in range(n_articles):
        sentences = _article(rng)
        records.append(DedupRecord(" ".join(sentences), rng.choice(names), cluster))
        while rng.random() < copy_rate:
            records.append(DedupRecord(_near_copy(rng, sentences), rng.choice(names), cluster))
        if rng.random() < 0.3:
            keep = rng.sample(sentences, k=max(1, len(sentences) // 2))
            follow = keep + _article(rng)[: len(sentences) - len(keep)]
            rng.shuffle(follow)
            records.append(DedupRecord(" ".join(follow), rng.choice(names), n_articles + cluster))
    rng.shuffle(records)
    return records


def korean_news_text(seed: int, n_bytes: int) -> str:
    """Article-like Korean text of about ``n_bytes`` UTF-8 bytes, one article a line."""
    rng = random.Random(seed)
    lines: list[str] = []
    size = 0
    while size < n_bytes:
        line = " ".join(_article(rng))
        lines.append(line)
        size += len(line.encode("utf-8")) + 1
    return "\n".join(lines) + "\n"


def korean_news_sentence(rng: random.Random) -> str:
    """One sentence of the generated news prose (no person in it), drawn from ``rng``."""
    return _sentence(rng, rng.choice(_TOPICS), rng.choice(_PLACES), rng.choice(_ORGS))
