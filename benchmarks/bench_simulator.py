"""Benchmark: simulate a 2,000-job trace in under 60 s.

The trace is the synthetic generator's (seed 0): 2,000 jobs with Gavel's multi-GPU gang mix and
Philly-like durations, Poisson arrivals at 6 jobs/hour, on a 144-GPU cluster (48 V100, 48 P100,
48 K80) with Gavel's measured throughputs, 360 s rounds. Prints wall time, rounds, policy time
and the average JCT for each policy; exits 1 if any run takes 60 s or more.

Run: ``taskset -c 0 .venv/bin/python benchmarks/bench_simulator.py``
"""

from __future__ import annotations

import sys
import time

from aicenter.scheduler import SchedulerConfig, Tenant, build_policy
from aicenter.simulator.cluster import parse_cluster
from aicenter.simulator.engine import simulate
from aicenter.simulator.gavel import read_gavel_throughputs
from aicenter.simulator.metrics import summarize
from aicenter.simulator.synthetic import generate

TARGET_S = 60.0
POLICIES = ("finish_time_fair", "max_min_hetero")


def main() -> int:
    matrix = read_gavel_throughputs()
    chips = ["v100", "p100", "k80"]
    tenants = (Tenant("university", 2.0), Tenant("startup", 1.0), Tenant("enterprise", 1.0))
    trace = generate(2000, 0, matrix, sorted(matrix.job_classes()), chips, "v100",
                     jobs_per_hour=6.0, tenants=tenants)
    snapshot = parse_cluster("v100=48,p100=48,k80=48", chips)
    snapshot = type(snapshot)(snapshot.pools, {t.id: t for t in tenants})
    failed = False
    for name in POLICIES:
        config = SchedulerConfig()
        started = time.perf_counter()
        result = simulate(trace, snapshot, build_policy(name, matrix, config), matrix, config,
                          timer=time.perf_counter)
        wall = time.perf_counter() - started
        s = summarize(result, matrix)
        ok = wall < TARGET_S
        failed |= not ok
        print(f"{name:18s} {len(trace.jobs)} jobs  {s['rounds']} rounds  wall {wall:6.1f} s  "
              f"policy {s['policy_seconds_total']:5.1f} s  avg JCT {s['avg_jct_hours']:.2f} h  "
              f"Jain {s['jain_fairness']:.3f}  {'ok' if ok else 'SLOW'}")
    print(f"target: < {TARGET_S:.0f} s per simulation")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
