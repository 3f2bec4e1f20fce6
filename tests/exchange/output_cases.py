"""A labelled set for the output check (:mod:`aicenter.exchange.output_check`), generated from
a seed (no downloads): the records a job was served, and outputs that must pass or must be
stopped, by category.

Served: article-like Korean news (:func:`aicenter.exchange.synthetic.korean_news_text`), each
record wrapped in the boilerplate real news carries — a byline, an input date and a copyright
line — so template text is shared by many records, as in a real crawl.

Must pass, out of domain: training logs, metrics, evaluation summaries, stack traces,
numbers, generic Korean and English prose, a 12-character phrase of a record.

Must pass, in domain (the hard part): whole articles and single sentences of the *same*
generator that were never served (another seed), dumps of tens of such articles as a model's
samples, boilerplate (bylines, dates, copyright lines, stock quotes), model-like paraphrases and
summaries of served records (their words and figures, never their sentences), and short
quotes of 15–30 characters of a record.

Must be stopped: a record whole; an excerpt of 60 characters; a contiguous third of a record;
a record re-spaced, re-wrapped or in full-width forms; its sentences reordered; cut into pieces
between log lines; and, a category of its own, base64-encoded.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
from dataclasses import dataclass

from aicenter.exchange.synthetic import korean_news_sentence, korean_news_text

_KO_WORDS = ("반도체", "인공지능", "데이터", "전력망", "기후", "교육", "의료", "교통", "주거",
             "수출", "연구", "모델", "학습", "평가", "정책", "시장", "기업", "대학")
_KO_FRAMES = ("{a} 분야의 {b} 문제를 다시 살펴볼 필요가 있다고 생각한다.",
              "우리는 {a}와 {b}의 관계를 간단한 예로 설명해 보았다.",
              "이번 실험에서 {a} 관련 문장을 {n}개 생성했고 {b} 주제는 제외했다.",
              "{a}에 대한 질문에 모델은 {b}를 언급하며 짧게 답했다.",
              "요약하면 {a} 쪽이 {b} 쪽보다 조금 더 어려운 과제였다.")
_EN_WORDS = ("model", "dataset", "tokenizer", "gradient", "checkpoint", "evaluation",
             "semiconductor", "energy", "policy", "market", "university", "language")
_EN_FRAMES = ("The {a} converged faster once the {b} was fixed.",
              "We compared the {a} with a baseline {b} on {n} prompts.",
              "Note that the {a} is not the same as the {b} used last week.",
              "Overall the {a} looks stable; the {b} still needs work.")
_OUTLETS = ("뉴스통신", "한빛일보", "미래경제", "아침신문")
_REPORTERS = ("김민수", "이서연", "박지훈", "최유진", "정현우", "강수빈", "윤지아", "조성민")
_CITIES = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "수원", "제주")
_STOCK = ('관계자는 "현장의 목소리를 반영해 제도를 보완하겠다"고 밝혔다.',
          "자세한 내용은 홈페이지에서 확인할 수 있다.",
          "※ 이 기사는 제휴 매체와의 협약에 따라 제공됩니다.",
          "기사 제보 및 보도자료 news@example.kr",
          "관련 기사 더 보기")
_SUMMARY = ("요약: 이 기사는 {a}와 {b}를 다루며 {x}, {y}라는 수치를 제시한다.",
            "핵심 내용은 {a} 쪽 이야기이고, {b}도 함께 언급되며 수치로는 {x}가 나온다.",
            "한 줄 평: {a} 관련 보도로, {y} 같은 숫자가 눈에 띈다.",
            "Summary: an article about {a} and {b}; it cites {x} and {y}.")
_SENTENCE_END = re.compile(r"(?<=[.다])\s+")


@dataclass(frozen=True, slots=True)
class Case:
    """One output: its text, whether it must be stopped, and its category."""

    text: str
    stop: bool
    kind: str


def _with_boilerplate(rng: random.Random, article: str) -> str:
    outlet = rng.choice(_OUTLETS)
    return (f"[{rng.choice(_CITIES)}={outlet}] {rng.choice(_REPORTERS)} 기자 = {article} "
            f"입력 {rng.randint(2019, 2025)}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} "
            f"<저작권자 ⓒ {outlet} 무단전재 및 재배포 금지>")


def served_records(seed: int, n_bytes: int = 400_000, boilerplate: bool = False) -> list[str]:
    """The records the job was served: article-like Korean news, one a line; with
    ``boilerplate``, each wrapped in a byline, an input date and a copyright line."""
    articles = [r for r in korean_news_text(seed, n_bytes).splitlines() if r]
    if not boilerplate:
        return articles
    rng = random.Random(f"boilerplate-{seed}")
    return [_with_boilerplate(rng, a) for a in articles]


def unseen_records(seed: int, n_bytes: int = 60_000) -> list[str]:
    """Records of the same generator, with the same boilerplate, that seed ``seed`` never
    served (another seed of the generator)."""
    return served_records(seed + 1000, n_bytes, boilerplate=True)


def random_word_records(seed: int, n_records: int, words: int = 120) -> list[str]:
    """A high-entropy control: records of random Hangul words (2–4 syllables each), with no
    template text shared between records — what the check sees of text whose every
    sentence is its own."""
    rng = random.Random(f"random-words-{seed}")
    return [" ".join("".join(chr(0xAC00 + rng.randrange(11172))
                             for _ in range(rng.randint(2, 4))) for _ in range(words))
            for _ in range(n_records)]


def _log_lines(rng: random.Random, n: int) -> list[str]:
    loss = rng.uniform(2.0, 4.0)
    lines = []
    for step in range(n):
        loss *= rng.uniform(0.97, 1.0)
        lines.append(f"step {step * 10} loss {loss:.4f} lr {rng.choice(['3e-4', '1e-4'])} "
                     f"tokens/s {rng.randint(9000, 14000)} grad_norm {rng.uniform(0.1, 2):.3f}")
    return lines


def _prose(rng: random.Random, words: tuple[str, ...], frames: tuple[str, ...], n: int) -> str:
    return " ".join(rng.choice(frames).format(a=rng.choice(words), b=rng.choice(words),
                                              n=rng.randint(2, 500)) for _ in range(n))


def _stack_trace(rng: random.Random) -> str:
    frames = "".join(f'  File "/work/train_{rng.randint(1, 9)}.py", line {rng.randint(1, 900)}, '
                     f"in step_{rng.randint(1, 99)}\n    loss = model(batch)\n"
                     for _ in range(rng.randint(2, 6)))
    return (f"Traceback (most recent call last):\n{frames}RuntimeError: CUDA out of memory. "
            f"Tried to allocate {rng.randint(1, 80)}.00 GiB")


_FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def _respace(rng: random.Random, record: str) -> str:
    style = rng.randrange(4)
    if style == 0:
        return record.replace(" ", "")
    if style == 1:
        return "  ".join(record.split(" "))
    if style == 2:
        return record.translate(_FULLWIDTH).upper()
    width = rng.randint(20, 50)
    return "\n".join(record[i:i + width] for i in range(0, len(record), width))


def _interleave(rng: random.Random, record: str) -> str:
    logs = _log_lines(rng, 200)
    size = rng.randint(30, 45)
    out = []
    for k, i in enumerate(range(0, len(record), size)):
        out.append(logs[k % len(logs)])
        out.append(record[i:i + size])
    return "\n".join(out)


def _sentences(record: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(record) if s]


def _reorder(rng: random.Random, record: str) -> str:
    parts = _sentences(record)
    order = list(range(len(parts)))
    while len(order) > 1 and order == sorted(order):
        rng.shuffle(order)
    return " ".join(parts[i] for i in order)


def _reword(rng: random.Random, sentence: str) -> str:
    """The sentence's words (어절) in a new order with no two neighbours kept side by side:
    its vocabulary and figures without its character sequence."""
    words = sentence.rstrip(".").split()
    if len(words) < 3:
        return "이와 관련해 " + " ".join(words) + " 내용도 전해졌다."
    for _ in range(50):
        order = rng.sample(range(len(words)), len(words))
        if all(b != a + 1 for a, b in itertools.pairwise(order)):
            break
    return " ".join(words[i] for i in order) + " 라는 취지다."


def _paraphrase(rng: random.Random, record: str) -> str:
    """A model-like paraphrase or summary of ``record``: its words and figures in new
    sentences, none of its own sentences."""
    figures = re.findall(r"\d[\d,.]*\d|\d", record) or ["0"]
    words = [w for w in record.split() if len(w) >= 3 and not re.search(r"\d", w)] or ["기사"]
    if rng.random() < 0.5:
        return " ".join(rng.choice(_SUMMARY).format(a=rng.choice(words), b=rng.choice(words),
                                                    x=rng.choice(figures), y=rng.choice(figures))
                        for _ in range(rng.randint(2, 5)))
    chosen = rng.sample(_sentences(record), k=min(4, len(_sentences(record))))
    return "다시 쓰면: " + " ".join(_reword(rng, s) for s in chosen)


def _boilerplate(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(2, 8)):
        outlet = rng.choice(_OUTLETS)
        lines.append(rng.choice((
            f"[{rng.choice(_CITIES)}={outlet}] {rng.choice(_REPORTERS)} 기자 = (본문 생략)",
            f"<저작권자 ⓒ {outlet} 무단전재 및 재배포 금지>",
            f"입력 {rng.randint(2019, 2025)}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
            f"{rng.choice(_REPORTERS)} 기자 {rng.choice(_OUTLETS)}",
            rng.choice(_STOCK))))
    return "\n".join(lines)


def labelled_cases(seed: int, per_kind: int = 60) -> tuple[list[str], list[Case]]:
    """(served records, labelled outputs) for ``seed``; ``per_kind`` outputs a category."""
    rng = random.Random(seed)
    records = served_records(seed, boilerplate=True)
    unseen = unseen_records(seed)
    cases: list[Case] = []
    for _ in range(per_kind):
        record = rng.choice(records)
        start = rng.randrange(max(1, len(record) - 60))
        third = len(record) // 3
        third_at = rng.randrange(max(1, len(record) - third))
        quote_len = rng.randint(15, 30)
        quote_at = rng.randrange(max(1, len(record) - quote_len))
        quote = record[quote_at:quote_at + quote_len]
        logs = _log_lines(rng, rng.randint(5, 40))
        bulk_at = rng.randrange(len(unseen))
        cases += [
            Case("\n".join(_log_lines(rng, rng.randint(20, 400))), False, "training-log"),
            Case(json.dumps({"step": rng.randint(1, 10**6), "loss": rng.uniform(1, 3),
                             "eval": {"accuracy": rng.random(), "f1": rng.random(),
                                      "perplexity": rng.uniform(5, 30)}}), False, "metrics"),
            Case(f"eval on {rng.randint(100, 5000)} examples: accuracy {rng.random():.3f}, "
                 + _prose(rng, _EN_WORDS, _EN_FRAMES, 3), False, "eval-summary"),
            Case(_prose(rng, _KO_WORDS, _KO_FRAMES, rng.randint(3, 12)), False, "korean-prose"),
            Case(_prose(rng, _EN_WORDS, _EN_FRAMES, rng.randint(3, 12)), False, "english-prose"),
            Case("\n".join(" ".join(str(rng.randint(0, 10**6)) for _ in range(8))
                           for _ in range(20)), False, "numbers"),
            Case(_stack_trace(rng), False, "stack-trace"),
            Case("\n".join([*logs[:3], f"sample: {record[start:start + 12]}", *logs[3:]]),
                 False, "short-phrase"),
            Case("\n".join([*logs[:2], f"generated: {rng.choice(unseen)}", *logs[2:]]),
                 False, "unseen-article"),
            Case("\n".join([*logs[:2], f"sample: {korean_news_sentence(rng)}", *logs[2:]]),
                 False, "unseen-sentence"),
            Case("\n\n".join(unseen[(bulk_at + k) % len(unseen)]
                             for k in range(rng.randint(10, 30))), False, "unseen-bulk"),
            Case(_boilerplate(rng), False, "boilerplate"),
            Case(_paraphrase(rng, record), False, "paraphrase"),
            Case("\n".join([*logs[:2], f'the article says "{quote}"', *logs[2:]]), False,
                 "short-quote"),
            Case("\n".join([*logs, record]), True, "record-whole"),
            Case("\n".join([*logs[:2], f"sample: {record[start:start + 60]}", *logs[2:]]),
                 True, "excerpt-60"),
            Case("\n".join([*logs[:2], record[third_at:third_at + third], *logs[2:]]),
                 True, "record-third"),
            Case(_respace(rng, record), True, "record-respaced"),
            Case(_reorder(rng, record), True, "record-reordered"),
            Case(_interleave(rng, record), True, "record-interleaved"),
            Case("payload " + base64.b64encode(record.encode()).decode(), True,
                 "record-base64"),
        ]
    return records, cases
