"""A labelled set of person names in Korean (and mixed Korean–English) text, generated.

Method: every record is one to three sentences of generated news prose
(:mod:`aicenter.exchange.synthetic`) with one or two sentences that name a person in a context
news and forms really use — a byline, a self-introduction, an account holder, a quoted speaker,
a name followed by an honorific or a role, an English form — and, in most records, a hard
negative: a sentence with a word that looks like a name in a name's place (a common noun
before 씨/님, a title after a common noun or an adjective, a place, an organisation, a
surname with a title as "given name"). Only the person names are labelled. Names are drawn
with the surname frequencies and given names below; a seed names the set.

Sources of the name lists (public statistics; entered by hand, rounded, not copied files):

* surnames: Statistics Korea, 2015 Population and Housing Census, population by surname
  (KOSIS table "성씨·본관별 인구"); the counts are rounded to thousands and the tail of the
  list is approximate;
* given names: the yearly most frequent given names in birth registrations published by the
  Supreme Court of Korea (대법원 전자가족관계등록시스템, 2008–2023 top-10 lists for boys and
  girls), plus names frequent in earlier birth cohorts as reported in the same statistics
  and in press summaries of them (영수, 정숙 ...). Romanisations follow the common passport
  spellings (Revised Romanization with the usual surname forms: Lee, Park, Choi ...).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import accumulate

from aicenter.exchange.pii.base import PiiType
from aicenter.exchange.synthetic import LabelledRecord, Span, korean_news_sentence

# (surname, romanised, people in thousands, 2015 census)
SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("김", "Kim", 10690), ("이", "Lee", 7307), ("박", "Park", 4192), ("최", "Choi", 2334),
    ("정", "Jung", 2152), ("강", "Kang", 1177), ("조", "Cho", 1056), ("윤", "Yoon", 1021),
    ("장", "Jang", 993), ("임", "Lim", 824), ("한", "Han", 773), ("오", "Oh", 763),
    ("서", "Seo", 752), ("신", "Shin", 741), ("권", "Kwon", 706), ("황", "Hwang", 697),
    ("안", "Ahn", 686), ("송", "Song", 683), ("전", "Jeon", 560), ("홍", "Hong", 559),
    ("유", "Yoo", 543), ("고", "Ko", 471), ("문", "Moon", 464), ("양", "Yang", 461),
    ("손", "Son", 457), ("배", "Bae", 401), ("백", "Baek", 382), ("허", "Heo", 327),
    ("남", "Nam", 276), ("심", "Shim", 272), ("노", "Noh", 221), ("하", "Ha", 230),
    ("곽", "Kwak", 203), ("성", "Sung", 200), ("차", "Cha", 190), ("주", "Joo", 230),
    ("우", "Woo", 196), ("구", "Koo", 200), ("민", "Min", 170), ("류", "Ryu", 179),
    ("나", "Na", 150), ("진", "Jin", 166), ("지", "Ji", 160), ("엄", "Eom", 145),
    ("채", "Chae", 130), ("원", "Won", 130), ("방", "Bang", 140), ("현", "Hyun", 100),
    ("남궁", "Namgoong", 20), ("황보", "Hwangbo", 10), ("제갈", "Jegal", 6), ("선우", "Sunwoo", 4),
)  # fmt: skip
# (given name, romanised)
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("민준", "Min-jun"), ("서준", "Seo-jun"), ("도윤", "Do-yun"), ("예준", "Ye-jun"),
    ("시우", "Si-woo"), ("하준", "Ha-jun"), ("주원", "Ju-won"), ("지호", "Ji-ho"),
    ("지후", "Ji-hu"), ("준우", "Jun-woo"), ("준서", "Jun-seo"), ("건우", "Geon-woo"),
    ("도현", "Do-hyun"), ("현우", "Hyun-woo"), ("지훈", "Ji-hoon"), ("우진", "Woo-jin"),
    ("선우", "Sun-woo"), ("유준", "Yu-jun"), ("연우", "Yeon-woo"), ("은우", "Eun-woo"),
    ("민재", "Min-jae"), ("현준", "Hyun-jun"), ("시윤", "Si-yun"), ("정우", "Jung-woo"),
    ("이준", "I-jun"), ("승우", "Seung-woo"), ("지민", "Ji-min"), ("동현", "Dong-hyun"),
    ("서연", "Seo-yeon"), ("서윤", "Seo-yun"), ("지우", "Ji-woo"), ("서현", "Seo-hyun"),
    ("민서", "Min-seo"), ("하은", "Ha-eun"), ("하윤", "Ha-yun"), ("윤서", "Yun-seo"),
    ("지유", "Ji-yu"), ("채원", "Chae-won"), ("지윤", "Ji-yun"), ("은서", "Eun-seo"),
    ("수아", "Su-a"), ("다은", "Da-eun"), ("예은", "Ye-eun"), ("지아", "Ji-a"),
    ("수빈", "Su-bin"), ("소율", "So-yul"), ("예린", "Ye-rin"), ("지원", "Ji-won"),
    ("소윤", "So-yun"), ("하린", "Ha-rin"), ("유진", "Yu-jin"), ("민지", "Min-ji"),
    ("영수", "Young-soo"), ("영호", "Young-ho"), ("영철", "Young-chul"), ("성호", "Sung-ho"),
    ("성민", "Sung-min"), ("상철", "Sang-chul"), ("정호", "Jung-ho"), ("광수", "Kwang-soo"),
    ("정숙", "Jung-sook"), ("영숙", "Young-sook"), ("미경", "Mi-kyung"), ("미숙", "Mi-sook"),
    ("경숙", "Kyung-sook"), ("지영", "Ji-young"), ("은정", "Eun-jung"), ("미영", "Mi-young"),
    ("현주", "Hyun-ju"), ("수진", "Su-jin"), ("지혜", "Ji-hye"), ("현정", "Hyun-jung"),
    ("혜진", "Hye-jin"), ("상훈", "Sang-hoon"), ("재현", "Jae-hyun"), ("태호", "Tae-ho"),
    ("동수", "Dong-su"), ("준호", "Jun-ho"), ("은지", "Eun-ji"), ("소연", "So-yeon"),
    ("훈", "Hoon"), ("진", "Jin"), ("혁", "Hyuk"), ("솔", "Sol"),
)  # fmt: skip

_AGENCIES = ("연합뉴스", "뉴스1", "뉴시스", "한국경제", "매일신문")
_PLACES = ("서울", "부산", "대구", "광주", "대전", "수원", "세종", "춘천")
_ROLES = (
    "교수", "대표", "의원", "장관", "선수", "과장", "부장", "팀장", "변호사", "연구원",
    "감독", "위원장", "사장", "회장", "원장", "작가",
)  # fmt: skip
_SAY = ("말했다", "밝혔다", "설명했다", "강조했다", "덧붙였다", "전했다")
_QUOTES = (
    "시장 상황을 지켜보겠다", "현장의 목소리를 듣겠다", "준비는 끝났다",
    "규제 완화가 필요하다", "결과에 만족한다",
)  # fmt: skip
_HONORIFIC_TITLES = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
_ENGLISH_LABELS = ("Name: ", "Full name: ", "Account holder: ", "Contact person: ")
_EMAIL_USERS = ("desk", "news", "reporter", "press")

# Hard negatives: a word in a name's place that is no name (never labelled).
HARD_NEGATIVES: tuple[str, ...] = (
    "오늘은 날씨가 맑고 바람이 적당했다.",
    "할머니의 음식 솜씨는 동네에서 유명했다.",
    "그 아이는 마음씨가 곱다는 말을 자주 들었다.",
    "봄이 오자 옥수수씨를 밭에 뿌렸다.",
    "해바라기씨와 호박씨를 간식으로 샀다.",
    "민들레씨가 바람에 날아갔다.",
    "김부장님께 결재를 올렸다.",
    "이과장님이 회의실을 예약했다.",
    "박대리님은 오늘 휴가다.",
    "최사장님께서 직접 오셨다.",
    "담임선생님께 상담을 신청했다.",
    "유명한 교수가 강연을 맡았다.",
    "최우수 선수로 뽑힌 것은 처음이다.",
    "한겨레 기자가 현장을 취재했다.",
    "서울시 시장 선거가 다가온다.",
    "전주시 의원들이 예산안을 논의했다.",
    "민주당 의원 총회가 열렸다.",
    "정의당 대표가 기자회견을 열었다.",
    "삼성전자 대표가 신제품을 소개했다.",
    "현대차 사장이 공장을 방문했다.",
    '업계 관계자는 "수요가 살아나고 있다"고 말했다.',
    '전문가들은 "속도 조절이 필요하다"고 지적했다.',
    "저는 회사원입니다.",
    "저는 대학생입니다.",
    "저는 공무원입니다.",
    "저는 한국인입니다.",
    "제 이름은 비밀입니다.",
    "기자 간담회가 오후에 열렸다.",
    "기자 회견에서 질문이 쏟아졌다.",
    "예금주 확인 후 입금해 주세요.",
    "고객님의 문의에 감사드립니다.",
    "한국은행 총재가 금리를 동결했다.",
    "이번 주 회의는 취소됐다.",
    "정말 좋은 선수들이 모였다.",
    "강남구 구청장이 축사를 했다.",
    "부산시장 후보 토론회가 열렸다.",
    "Mr. President visited Seoul.",
    "Name: N/A",
)

_Template = Callable[[random.Random, str, str], tuple[str, str, str]]


def _batchim(word: str) -> bool:
    """Whether the last syllable of ``word`` ends in a consonant (picks 은/는, 이/가, 이라고)."""
    code = ord(word[-1]) - 0xAC00
    return 0 <= code < 11172 and code % 28 != 0


def _topic(word: str) -> str:
    return "은" if _batchim(word) else "는"


def _subject(word: str) -> str:
    return "이" if _batchim(word) else "가"


def _quote_verb(word: str) -> str:
    return "이라고" if _batchim(word) else "라고"


def _email(rng: random.Random) -> str:
    return f"{rng.choice(_EMAIL_USERS)}{rng.randint(1, 99)}@{rng.choice(['yna', 'news1'])}.co.kr"


def _templates() -> tuple[_Template, ...]:
    """Each template: (rng, Korean name, romanised name) → (prefix, value, suffix)."""

    def byline_title(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        return f"({rng.choice(_PLACES)}={rng.choice(_AGENCIES)}) ", n, " 기자 = "

    def byline_end(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        return "", n, f" 기자 {_email(rng)}"

    def byline_before(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        return f"[{rng.choice(_AGENCIES)}] 기자 ", n, rng.choice([" = ", " (", ""])

    def self_intro(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        return rng.choice(["안녕하세요, 저는 ", "저는 "]), n, "입니다."

    def my_name(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        ending = rng.choice(["입니다.", _quote_verb(n) + " 합니다.", "이고 서울에 삽니다."])
        return "제 이름은 ", n, ending

    def holder_label(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        return rng.choice(["예금주: ", "예금주 ", "입금자명: ", "받는분: "]), n, ""

    def holder_paren(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        return f"국민은행 123-45-{rng.randint(100000, 999999)} (예금주 ", n, ")"

    def speaker_honorific(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        quote = rng.choice(_QUOTES)
        return "", n, f' 씨는 "{quote}"{_quote_verb(quote)[-2:]} {rng.choice(_SAY)}.'

    def speaker_after(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        quote, role = rng.choice(_QUOTES), rng.choice(_ROLES)
        return f'"{quote}"라고 ', n, f" {role}{_subject(role)} {rng.choice(_SAY)}."

    def speaker_bare(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        quote = rng.choice(_QUOTES)
        return f'"{quote}"라고 ', n, f"{_topic(n)} {rng.choice(_SAY)}."

    def speaker_first(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        quote = rng.choice(_QUOTES)
        return "", n, f'{_topic(n)} "{quote}"고 {rng.choice(_SAY)}.'

    def role(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        title = rng.choice(_ROLES)
        return "이날 ", n, f" {title}{_topic(title)} 행사에 참석했다."

    def honorific(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        return "", n, rng.choice(["씨가 신고했다.", " 씨에게 연락했다.", "님께 전달했습니다."])

    def english_title(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        return (
            f"담당자 {rng.choice(_HONORIFIC_TITLES)} ",
            r,
            rng.choice(["에게 연락 바랍니다.", "."]),
        )

    def english_label(rng: random.Random, n: str, r: str) -> tuple[str, str, str]:
        return rng.choice(_ENGLISH_LABELS), r, rng.choice([" / 연락처 기재", ""])

    return (
        byline_title, byline_end, byline_before, self_intro, my_name, holder_label,
        holder_paren, speaker_honorific, speaker_after, speaker_bare, speaker_first, role,
        honorific, english_title, english_label,
    )  # fmt: skip


def random_name(rng: random.Random) -> tuple[str, str]:
    """(Korean name, romanised name): a surname drawn by its census frequency, a given name
    uniformly; romanised surname-first ("Kim Min-jun") or, one time in four, given-first."""
    surname, roman, _ = rng.choices(SURNAMES, cum_weights=_CUMULATIVE)[0]
    given, given_roman = rng.choice(GIVEN_NAMES)
    if rng.random() < 0.25:
        return surname + given, f"{given_roman} {roman}"
    return surname + given, f"{roman} {given_roman}"


_CUMULATIVE = list(accumulate(count for _, _, count in SURNAMES))


def labelled_name_records(
    seed: int, n_records: int, negative_rate: float = 0.7
) -> list[LabelledRecord]:
    """``n_records`` records, each with one or two labelled names in context, generated prose
    and, with probability ``negative_rate``, a hard negative (module docstring)."""
    rng = random.Random(seed)
    templates = _templates()
    out: list[LabelledRecord] = []
    for _ in range(n_records):
        text = korean_news_sentence(rng) + " "
        spans: list[Span] = []
        for _k in range(rng.randint(1, 2)):
            korean, roman = random_name(rng)
            prefix, value, suffix = rng.choice(templates)(rng, korean, roman)
            text += prefix
            spans.append(Span(PiiType.PERSON_NAME, len(text), len(text) + len(value)))
            text += value + suffix + " "
            if rng.random() < negative_rate:
                text += rng.choice(HARD_NEGATIVES) + " "
        text += korean_news_sentence(rng)
        out.append(LabelledRecord(text, tuple(spans)))
    return out
