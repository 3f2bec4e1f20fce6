"""Output control for licensed data: the check's false-release and false-withhold rates on a
labelled set (tests/exchange/output_cases.py), and its cost — MB/s of output checked, MB/s
of served text fingerprinted, and fingerprint bytes stored per MB served.

Targets: false-withhold ≤ 1 % and false-release ≤ 1 % on the non-encoded cases (base64 is
reported on its own line). Exit code 1 when a target is missed.

    .venv/bin/python benchmarks/bench_output_check.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.exchange.output_cases import labelled_cases

from aicenter.exchange.output_check import ServedSet, check_text, fingerprint
from aicenter.exchange.synthetic import korean_news_text

TARGET_RATE = 0.01


def main() -> int:
    wrong: Counter[str] = Counter()
    total: Counter[str] = Counter()
    stop_of: dict[str, bool] = {}
    for seed in (1, 2, 3):
        records, cases = labelled_cases(seed, per_kind=80)
        served = [ServedSet.of("news", [fingerprint(records)])]
        for case in cases:
            total[case.kind] += 1
            stop_of[case.kind] = case.stop
            if check_text(case.text, served).passed == case.stop:
                wrong[case.kind] += 1
    print(f"{'category':<20} {'label':<6} {'wrong':>6} {'cases':>6}")
    for kind in total:
        print(f"{kind:<20} {'stop' if stop_of[kind] else 'pass':<6} {wrong[kind]:>6} "
              f"{total[kind]:>6}")
    plain_stop = [k for k in total if stop_of[k] and k != "record-base64"]
    passing = [k for k in total if not stop_of[k]]
    false_release = sum(wrong[k] for k in plain_stop) / sum(total[k] for k in plain_stop)
    false_withhold = sum(wrong[k] for k in passing) / sum(total[k] for k in passing)
    base64_release = wrong["record-base64"] / total["record-base64"]
    print(f"false-release rate (non-encoded): {false_release:.2%}")
    print(f"false-withhold rate:              {false_withhold:.2%}")
    print(f"false-release rate (base64):      {base64_release:.2%}")

    served_text = korean_news_text(7, 8_000_000)
    served_mb = len(served_text.encode()) / 1e6
    records = served_text.splitlines()
    t0 = time.perf_counter()
    batches = [fingerprint(records[i:i + 1024]) for i in range(0, len(records), 1024)]
    fp_s = time.perf_counter() - t0
    appended = sum(b.nbytes for b in batches)
    compact = ServedSet.of("news", batches).hashes.nbytes
    print(f"fingerprinting served text:       {served_mb / fp_s:.1f} MB/s "
          f"({served_mb:.1f} MB of Korean news, batches of 1024 records)")
    print(f"fingerprint bytes per MB served:  {appended / served_mb / 1e3:.1f} KB appended, "
          f"{compact / served_mb / 1e3:.1f} KB after de-duplication")
    served = [ServedSet.of("news", batches)]
    logs = "\n".join(f"step {i} loss {2.5 - i * 1e-6:.6f} lr 3e-4 tokens/s {9000 + i % 977}"
                     for i in range(150_000))
    prose = korean_news_text(8, 4_000_000)
    for name, text in (("training log (ASCII)", logs), ("Korean prose", prose)):
        mb = len(text.encode()) / 1e6
        t0 = time.perf_counter()
        check_text(text, served)
        print(f"checking output, {name + ':':<21} {mb / (time.perf_counter() - t0):.1f} MB/s "
              f"({mb:.1f} MB)")
    ok = false_release <= TARGET_RATE and false_withhold <= TARGET_RATE
    print("targets met" if ok else f"TARGET MISSED (both rates must be <= {TARGET_RATE:.0%})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
