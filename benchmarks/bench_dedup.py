"""Benchmark: MinHash signature speed and near-duplicate F1.

Run: .venv/bin/python benchmarks/bench_dedup.py [--mb 8] [--batch 256]

Speed: UTF-8 megabytes (10^6 bytes) of article-like Korean text turned into 128-value MinHash
signatures (character 5-grams) per CPU-second of this process, in batches of ``--batch``
records, best of three; wall-clock figures in brackets. NumPy may use more than one thread for
some operations; the CPU-second figure counts all of them, so it is a per-core rate.
Also: the LSH index's add() rate, and the near-duplicate F1 on the labelled test set
(articles, near-copies across providers with 1–3 edits, and follow-up articles that reuse half
of an article's sentences as hard negatives).

Targets (exit 1 if missed): signatures >= 5 MB/s per core; near-duplicate F1 >= 0.95.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from aicenter.exchange.dedup import MinHasher, NearDuplicateIndex
from aicenter.exchange.synthetic import korean_news_text, near_duplicate_corpus

TARGET_MB_S = 5.0
TARGET_F1 = 0.95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8.0)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--articles", type=int, default=3000)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    hasher = MinHasher()
    lines = korean_news_text(3, int(args.mb * 1e6)).splitlines()
    mb = sum(len(x.encode("utf-8")) + 1 for x in lines) / 1e6
    best_cpu = best_wall = float("inf")
    for _ in range(3):
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(0, len(lines), args.batch):
            hasher.signatures(lines[i : i + args.batch])
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        if cpu < best_cpu:
            best_cpu, best_wall = cpu, wall
    speed = mb / best_cpu
    print(
        f"signatures: {mb:.2f} MB, {len(lines)} records: {speed:.2f} MB/s per core "
        f"[{mb / best_wall:.2f} wall]"
    )

    failures: list[str] = []
    if speed < TARGET_MB_S:
        failures.append(f"signature speed {speed:.2f} MB/s < {TARGET_MB_S}")

    for seed in (1, 2):
        records = near_duplicate_corpus(seed, args.articles)
        signatures = hasher.signatures([r.text for r in records])
        index = NearDuplicateIndex()
        cluster_of = {i: r.cluster for i, r in enumerate(records)}
        seen: set[int] = set()
        tp = fp = fn = across = 0
        c0 = time.process_time()
        for i, (record, sig) in enumerate(zip(records, signatures, strict=True)):
            match = index.add(i, record.provider, sig)
            right = match is not None and cluster_of[match.duplicate_of] == record.cluster
            tp += right
            fp += match is not None and not right
            fn += record.cluster in seen and not right
            across += right and match is not None and match.across_providers
            seen.add(record.cluster)
        add_rate = len(records) / (time.process_time() - c0)
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        f1 = 2 * precision * recall / (precision + recall)
        print(
            f"near-duplicates seed {seed}: {len(records)} records, {tp + fn} true duplicates "
            f"({across} found across providers): P {precision:.4f} R {recall:.4f} F1 {f1:.4f}; "
            f"index {add_rate:,.0f} adds/s"
        )
        if f1 < TARGET_F1:
            failures.append(f"near-duplicate F1 {f1:.4f} < {TARGET_F1} (seed {seed})")

    if failures:
        print("MISSED TARGETS:\n  " + "\n  ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
