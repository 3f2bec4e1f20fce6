"""Benchmark: score 10,000 proposals of 20 pools each against a rubric (target < 5 s, one core).

Run: .venv/bin/python benchmarks/bench_fleet_scoring.py [--proposals N] [--pools K]
Prints the time per rubric; exits 1 if any exceeds the target.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal

from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.domain.fleet import Pool, Proposal, Site
from aicenter.fleet.rubric_file import load_rubric

TARGET_SECONDS = 5.0


def make_proposals(n: int, pools: int, seed: int = 0) -> list[Proposal]:
    rng = random.Random(seed)
    chips = load_catalog().ids
    out = []
    for i in range(n):
        site = Site(
            "KR",
            rng.choice(["Ulsan", "Seoul", "Haenam-gun"]),
            rng.random() < 0.3,
            rng.random(),
            1.1 + rng.random() / 2,
        )
        out.append(
            Proposal(
                bidder=f"bidder-{i}",
                site=site,
                pools=tuple(
                    Pool(
                        rng.choice(chips),
                        rng.randint(8, 4000),
                        Decimal(rng.randint(500, 8000)) if rng.random() < 0.8 else None,
                        None if rng.random() < 0.8 else Decimal(rng.randint(10**7, 10**8)),
                    )
                    for _ in range(pools)
                ),
                metrics={"turnover_inr_crore": rng.uniform(0, 200)},
            )
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--pools", type=int, default=20)
    args = parser.parse_args()
    perf = PerformanceTable.from_catalog(load_catalog())
    proposals = make_proposals(args.proposals, args.pools)
    ok = True
    for name in ("india-diversity", "korea-nacc-2025", "india-empanelment"):
        rubric = load_rubric(name)
        start = time.perf_counter()
        results = rubric.score_all(proposals, perf)
        elapsed = time.perf_counter() - start
        assert len(results) == len(proposals)
        verdict = "ok" if elapsed < TARGET_SECONDS else "TOO SLOW"
        ok &= elapsed < TARGET_SECONDS
        print(
            f"{name:20s} {len(proposals):,} proposals x {args.pools} pools: "
            f"{elapsed:.2f} s ({verdict}, target < {TARGET_SECONDS:g} s)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
