"""Benchmark: what asking the Cedar policies costs for licensed data and placement.

Run: .venv/bin/python benchmarks/bench_policy.py [--decisions 2000] [--jobs 1000]
     [--countries 6] [--datasets 50]

* one ``data:read`` decision (``aicenter.exchange.licence.check_access`` with one agreement:
  the entities built, Cedar evaluated, the refusing policy mapped to its reason), mean of
  ``--decisions``, against the same call's Python rule before it was a policy (the five
  comparisons, timed here as a bare function for reference);
* one ``job:place`` decision not memoised (a new (dataset, country) pair) and memoised;
* one scheduling round's placement (``services.scheduling.placeable_countries``) for
  ``--jobs`` queued jobs each reading one of ``--datasets`` datasets (half tagged domestic),
  over ``--countries`` pool countries: the first round (every pair new) and the next rounds
  (all memoised).

Target (exit 1 if missed): a memoised round over 1,000 jobs stays under 20 ms, so placement
by policy is small beside the round's solve.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from aicenter.domain.job import Job, JobSpec, JobStatus, ResourceAlternative
from aicenter.domain.licence import (
    Agreement,
    DatasetTerms,
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
)
from aicenter.domain.units import Currency, Money
from aicenter.exchange.licence import check_access
from aicenter.policy import Authorizer
from aicenter.policy.data import placement
from aicenter.services.scheduling import placeable_countries

T0 = datetime(2026, 3, 1, tzinfo=UTC)
ROUND_TARGET_S = 0.020


def _agreement() -> Agreement:
    offer = LicenceOffer("off", "prov", "news", frozenset({Purpose.PRE_TRAINING}),
                         date(2026, 1, 1), date(2026, 12, 31), frozenset({"KR", "US"}),
                         ModelRelease.INTERNAL_ONLY,
                         Price(PriceBasis.FLAT, Money(Decimal(0), Currency.KRW)))
    return Agreement("agr", offer, "lab", Purpose.PRE_TRAINING, T0 - timedelta(days=1),
                     T0 + timedelta(days=90))


def _python_rule(a: Agreement, domestic: bool, purpose: Purpose, when: datetime,
                 country: str) -> bool:
    """The rule as Python comparisons (what the policies replaced), for reference."""
    if domestic and country != "KR":
        return False
    if not a.accepted_at <= when < a.valid_until:
        return False
    if purpose != a.purpose and not a.waived_at(when):
        return False
    return country in a.offer.territory


def _mean_us(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def _jobs(n: int, datasets: int) -> list[Job]:
    """``n`` queued jobs, job ``i`` reading dataset ``ds{i mod datasets}``."""
    return [Job(f"job{i}", "lab", "usr", "grant", JobSpec(
                "j", "true", (ResourceAlternative("h100-sxm", 8),), 3600,
                datasets=(f"ds{i % datasets}",)), JobStatus.QUEUED, None, Decimal(0), T0)
            for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--countries", type=int, default=6)
    parser.add_argument("--datasets", type=int, default=50)
    args = parser.parse_args()

    authz = Authorizer()
    agreement = _agreement()
    terms = DatasetTerms("news", "prov", domestic=True)
    cedar_us = _mean_us(lambda: check_access([agreement], terms, Purpose.PRE_TRAINING, "lab",
                                             T0, "KR", authorizer=authz), args.decisions)
    python_us = _mean_us(lambda: _python_rule(agreement, True, Purpose.PRE_TRAINING, T0, "KR"),
                         args.decisions)
    print(f"data:read decision   {cedar_us:8.1f} µs   (Python rule {python_us:.2f} µs)")

    home = frozenset({"KR"})
    fresh = []
    for i in range(min(args.decisions, 500)):
        t = time.perf_counter()
        placement(authz, DatasetTerms(f"fresh{i}", "prov", True), home, "US")
        fresh.append(time.perf_counter() - t)
    memo_us = _mean_us(lambda: placement(authz, DatasetTerms("fresh0", "prov", True), home,
                                         "US"), args.decisions)
    print(f"job:place decision   {statistics.mean(fresh) * 1e6:8.1f} µs new, "
          f"{memo_us:.2f} µs memoised")

    countries = set(["KR", "US", "JP", "DE", "SG", "FR", "IN", "GB"][:args.countries])
    datasets = {f"ds{i}": DatasetTerms(f"ds{i}", "prov", domestic=i % 2 == 0)
                for i in range(args.datasets)}
    jobs = _jobs(args.jobs, args.datasets)
    round_authz = Authorizer()
    t = time.perf_counter()
    placeable_countries(round_authz, jobs, datasets, countries)
    first = time.perf_counter() - t
    rounds = []
    for _ in range(5):
        t = time.perf_counter()
        restricted = placeable_countries(round_authz, jobs, datasets, countries)
        rounds.append(time.perf_counter() - t)
    later = statistics.median(rounds)
    print(f"round placement      {first * 1e3:8.2f} ms first ({args.datasets} datasets x "
          f"{len(countries)} countries new), {later * 1e3:.2f} ms next rounds, "
          f"{args.jobs} jobs, {len(restricted)} restricted")
    if later > ROUND_TARGET_S:
        print(f"FAIL: a memoised round takes {later * 1e3:.1f} ms > "
              f"{ROUND_TARGET_S * 1e3:.0f} ms")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
