"""A labelled set for the output check (:mod:`aicenter.exchange.output_check`), generated from
a seed: the records a job was served, and outputs that must pass (training logs, metrics,
evaluation summaries, stack traces, numbers, generic Korean and English prose on the same
topics, short phrases of the records) or must be stopped (a record whole, a 60-character
excerpt, a record re-spaced or re-wrapped, a record interleaved with log lines, and — a
category of its own — a record base64-encoded)."""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass

from aicenter.exchange.synthetic import korean_news_text

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


@dataclass(frozen=True, slots=True)
class Case:
    """One output: its text, whether it must be stopped, and its category."""

    text: str
    stop: bool
    kind: str


def served_records(seed: int, n_bytes: int = 400_000) -> list[str]:
    """The records the job was served: article-like Korean news, one a line."""
    return [r for r in korean_news_text(seed, n_bytes).splitlines() if r]


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


def _respace(rng: random.Random, record: str) -> str:
    style = rng.randrange(3)
    if style == 0:
        return record.replace(" ", "")
    if style == 1:
        return "  ".join(record.split(" "))
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


def labelled_cases(seed: int, per_kind: int = 60) -> tuple[list[str], list[Case]]:
    """(served records, labelled outputs) for ``seed``; ``per_kind`` outputs a category."""
    rng = random.Random(seed)
    records = served_records(seed)
    cases: list[Case] = []
    for _ in range(per_kind):
        record = rng.choice(records)
        start = rng.randrange(max(1, len(record) - 60))
        logs = _log_lines(rng, rng.randint(5, 40))
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
            Case("\n".join([*logs, record]), True, "record-whole"),
            Case("\n".join([*logs[:2], f"sample: {record[start:start + 60]}", *logs[2:]]),
                 True, "excerpt-60"),
            Case(_respace(rng, record), True, "record-respaced"),
            Case(_interleave(rng, record), True, "record-interleaved"),
            Case("payload " + base64.b64encode(record.encode()).decode(), True,
                 "record-base64"),
        ]
    return records, cases
