"""Output control for licensed data: the check's false-release and false-withhold rates per
category of a labelled set (tests/exchange/output_cases.py), and its cost — MB/s of output
checked, MB/s of served text fingerprinted, fingerprint bytes stored and indexed per MB
served.

The served text is a template generator (aicenter.exchange.synthetic.korean_news_text with
bylines and copyright lines): articles it never served share long verbatim stretches with
served ones, which the benchmark measures first. A high-entropy control (random Hangul
words) shows what the same rules do on text whose sentences are its own.

Targets (exit code 1 when one is missed): false release ≤ 1 % for copies of a record
(whole, re-spaced, reordered, interleaved, base64) and for 80-character excerpts of the
control; ≤ 5 % for a third of a record; false withhold ≤ 1 % out of domain and ≤ 2 % for
single in-domain outputs. Reported without a target: 60-character excerpts and dumps of
10–30 unseen articles (see the module docstring of aicenter.exchange.output_check).

    .venv/bin/python benchmarks/bench_output_check.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.exchange.output_cases import (
    labelled_cases,
    random_word_records,
    served_records,
    unseen_records,
)

from aicenter.exchange.output_check import ServedSet, check_text, fingerprint, normalise
from aicenter.exchange.synthetic import korean_news_text

COPIES = ("record-whole", "record-respaced", "record-reordered", "record-interleaved",
          "record-base64")
PARTIAL = ("record-third",)
IN_DOMAIN = ("unseen-article", "unseen-sentence", "boilerplate", "paraphrase", "short-quote")
REPORTED = ("excerpt-60", "unseen-bulk")
EPOCHS = 2
BATCH = 64


def served_index(records: list[str], name: str = "news") -> ServedSet:
    """As the gateway stores it: one array per batch, every record served ``EPOCHS`` times."""
    batches = [fingerprint(records[i:i + BATCH]) for i in range(0, len(records), BATCH)]
    return ServedSet.of(name, batches * EPOCHS)


def _normalised(text: str) -> str:
    return "".join(map(chr, normalise(text).codes.tolist()))


def longest_shared(text: str, records: list[str]) -> int:
    """The longest normalised substring of ``text`` found inside one of ``records``."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        pieces = {r[i:i + mid] for r in records for i in range(len(r) - mid + 1)}
        if any(text[i:i + mid] in pieces for i in range(len(text) - mid + 1)):
            lo = mid
        else:
            hi = mid - 1
    return lo


def chance_overlap() -> None:
    records = [_normalised(r) for r in served_records(1, boilerplate=True)]
    lengths = [longest_shared(_normalised(u), records) for u in unseen_records(1)[:40]]
    print("chance overlap: an unseen article shares, verbatim with one served record, a "
          f"median {statistics.median(lengths):.0f} and at most {max(lengths)} normalised "
          "characters (40 articles)")


def labelled_rates() -> tuple[dict[str, float], Counter[str]]:
    wrong: Counter[str] = Counter()
    total: Counter[str] = Counter()
    stop_of: dict[str, bool] = {}
    for seed in (1, 2, 3):
        records, cases = labelled_cases(seed, per_kind=80)
        served = [served_index(records)]
        for case in cases:
            total[case.kind] += 1
            stop_of[case.kind] = case.stop
            if check_text(case.text, served).passed == case.stop:
                wrong[case.kind] += 1
    print(f"\n{'category':<20} {'label':<6} {'wrong':>6} {'cases':>6} {'rate':>7}")
    rates = {}
    for kind in total:
        rates[kind] = wrong[kind] / total[kind]
        what = "stop" if stop_of[kind] else "pass"
        print(f"{kind:<20} {what:<6} {wrong[kind]:>6} {total[kind]:>6} {rates[kind]:>7.1%}")
    return rates, total


def control_rates() -> dict[str, float]:
    """The high-entropy control: excerpts of 60 and 80 characters and thirds of served
    records, and records of the same kind never served."""
    records = random_word_records(1, 300)
    served = [served_index(records, "words")]
    rng = random.Random(1)
    out: Counter[str] = Counter()
    for _ in range(300):
        record = rng.choice(records)
        for length in (60, 80):
            at = rng.randrange(len(record) - length)
            out[f"excerpt-{length}"] += check_text(f"x: {record[at:at + length]}",
                                                   served).passed
        third = len(record) // 3
        at = rng.randrange(len(record) - third)
        out["record-third"] += check_text(record[at:at + third], served).passed
    unseen = random_word_records(2, 300)
    out["unseen-record"] = 300 - sum(check_text(u, served).passed for u in unseen)
    rates = {k: v / 300 for k, v in out.items()}
    print("\nhigh-entropy control (300 records of random Hangul words): false release "
          + ", ".join(f"{k} {rates[k]:.1%}" for k in ("excerpt-60", "excerpt-80",
                                                       "record-third"))
          + f"; false withhold, unseen records {rates['unseen-record']:.1%}")
    return rates


def cost() -> None:
    served_text = korean_news_text(7, 8_000_000)
    served_mb = len(served_text.encode()) / 1e6
    records = served_text.splitlines()
    t0 = time.perf_counter()
    batches = [fingerprint(records[i:i + 1024]) for i in range(0, len(records), 1024)]
    fp_s = time.perf_counter() - t0
    stored = sum(b.nbytes for b in batches)
    t0 = time.perf_counter()
    index = ServedSet.of("news", batches * EPOCHS)
    index_s = time.perf_counter() - t0
    print(f"\nfingerprinting served text:       {served_mb / fp_s:.1f} MB/s "
          f"({served_mb:.1f} MB of Korean news, {len(records)} records, batches of 1024)")
    print(f"fingerprint bytes per MB served:  {stored / served_mb / 1e3:.0f} KB stored per "
          f"epoch; index in memory {index.nbytes / served_mb / 1e3:.0f} KB, built in "
          f"{index_s:.2f} s from {EPOCHS} epochs")
    served = [index]
    logs = "\n".join(f"step {i} loss {2.5 - i * 1e-6:.6f} lr 3e-4 tokens/s {9000 + i % 977}"
                     for i in range(150_000))
    prose = korean_news_text(8, 4_000_000)  # same generator, never served
    leaked = prose.splitlines()
    for k in range(20):
        leaked[k * 100] = records[k * 300]
    rows = (("training log (ASCII)", logs, 0), ("Korean prose", prose, 0),
            ("prose + 20 records", "\n".join(leaked), 20))
    for name, text, copies in rows:
        mb = len(text.encode()) / 1e6
        t0 = time.perf_counter()
        result = check_text(text, served)
        speed = mb / (time.perf_counter() - t0)
        verdict = "released" if result.passed else f"stopped, {len(result.findings)} findings"
        flagged = sum(f.end - f.start for f in result.findings) / len(text)
        print(f"checking output, {name + ':':<21} {speed:.1f} MB/s ({mb:.1f} MB): {verdict}"
              + (f", {flagged:.2%} of it redacted" if result.findings else "")
              + (f" (expected: {copies} copies)" if copies else " (expected: released)"))


def main() -> int:
    chance_overlap()
    rates, total = labelled_rates()
    control = control_rates()

    def pooled(kinds: tuple[str, ...]) -> float:
        return sum(rates[k] * total[k] for k in kinds) / sum(total[k] for k in kinds)

    out_of_domain = tuple(k for k in total if k not in (*COPIES, *PARTIAL, *IN_DOMAIN,
                                                          *REPORTED))
    checks = [
        ("false release, copies of a record", pooled(COPIES), 0.01),
        ("false release, a third of a record", pooled(PARTIAL), 0.05),
        ("false release, control excerpt-80", control["excerpt-80"], 0.01),
        ("false withhold, out of domain", pooled(out_of_domain), 0.01),
        ("false withhold, in domain (single)", pooled(IN_DOMAIN), 0.02),
        ("false withhold, control unseen", control["unseen-record"], 0.01),
    ]
    print()
    for name, rate, target in checks:
        print(f"{name + ':':<38} {rate:6.2%} (target <= {target:.0%})")
    print(f"{'reported, excerpt-60 released:':<38} {rates['excerpt-60']:6.2%}")
    print(f"{'reported, unseen-bulk withheld:':<38} {rates['unseen-bulk']:6.2%}")
    cost()
    missed = [name for name, rate, target in checks if rate > target]
    print("targets met" if not missed else "TARGET MISSED: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
