"""Benchmark: wall time per simulated job on Gavel's traces and on a 10x scale-up.

Replays Gavel's published traces (``../shared/gavel``: cs200_s0, cm200_s0, sm100_s0 on
12 V100 + 12 P100 + 12 K80, physical_las and physical_makespan on 8 + 16 + 24; where that
directory is absent, the two copies in ``examples/traces/gavel`` with the packaged
throughputs) and a 10x scale-up of cs200_s0: every job ten times (ids ``<id>r<k>``, the same
arrival, so ten times the arrival rate) on ten times the cluster (120 + 120 + 120), 2,000
jobs. Rules are Gavel's (360 s rounds, re-solve at most every 1,920 s, free preemption).

Per run it prints jobs, rounds, wall and CPU seconds, milliseconds of wall time per simulated
job, the seconds spent inside the policy, and the schedule digest (equal digests = the same
schedule, so a faster build can be checked against an older one). Exits 1 if the scale-up
takes 60 s or more of wall time for any policy.

Run: ``taskset -c 0 .venv/bin/python benchmarks/bench_simulator.py [--policy P,Q] [--quick]``
(``--quick``: the two smallest traces and no scale-up). To compare with an older build, run
the same command with ``PYTHONPATH=<that build's src>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from aicenter.scheduler import SchedulerConfig, ThroughputMatrix, build_policy
from aicenter.simulator.cluster import parse_cluster
from aicenter.simulator.engine import simulate
from aicenter.simulator.gavel import read_gavel_throughputs, read_gavel_trace
from aicenter.simulator.trace import Trace

ROOT = Path(__file__).resolve().parents[1]
SHARED_GAVEL = ROOT.parent / "shared" / "gavel"
EXAMPLE_GAVEL = ROOT / "examples" / "traces" / "gavel"
CLUSTERS = {
    "physical_las": "v100=8,p100=16,k80=24",
    "physical_makespan": "v100=8,p100=16,k80=24",
    "sm100_s0": "v100=12,p100=12,k80=12",
    "cs200_s0": "v100=12,p100=12,k80=12",
    "cm200_s0": "v100=12,p100=12,k80=12",
}
QUICK = ("physical_las", "sm100_s0")
SCALE = 10
SCALED_CLUSTER = "v100=120,p100=120,k80=120"
TARGET_S = 60.0
POLICIES = ("finish_time_fair", "max_min_hetero")


def scaled(trace: Trace, factor: int) -> Trace:
    """Every job ``factor`` times at the same arrival (``factor`` x the arrival rate)."""
    jobs = tuple(
        replace(job, id=f"{job.id}r{k}", tenant=f"{job.tenant}r{k}")
        for job in trace.jobs for k in range(factor)
    )
    return Trace(f"{trace.name}x{factor}", jobs, trace.throughputs, trace.tenants)


def run(trace: Trace, cluster: str, policy: str, matrix: ThroughputMatrix) -> float:
    """Replay once, print one line, return the wall seconds."""
    config = SchedulerConfig(round_s=360.0, resolve_min_interval_s=1920.0, restart_cost_s=0.0)
    snapshot = parse_cluster(cluster, matrix.chip_types)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = simulate(trace, snapshot, build_policy(policy, matrix, config), matrix, config,
                      timer=time.perf_counter)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    solve = sum(r.solve_s for r in result.rounds)
    jobs = len(trace.jobs)
    print(f"{trace.name:20s} {policy:17s} {jobs:5d} jobs {len(result.rounds):6d} rounds  "
          f"wall {wall:7.2f} s  cpu {cpu:7.2f} s  {1000 * wall / jobs:7.2f} ms/job  "
          f"policy {solve:6.2f} s  {result.schedule_digest[:12]}", flush=True)
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", default=",".join(POLICIES))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    policies = [p.strip() for p in args.policy.split(",") if p.strip()]
    if SHARED_GAVEL.is_dir():
        matrix = read_gavel_throughputs(SHARED_GAVEL / "simulation_throughputs.json")
        folder = SHARED_GAVEL
    else:
        matrix = read_gavel_throughputs()
        folder = EXAMPLE_GAVEL
    names = [n for n in CLUSTERS if (folder / f"{n}.trace").is_file()]
    if args.quick:
        names = [n for n in names if n in QUICK] or names[:1]
    slow = False
    for name in names:
        trace = read_gavel_trace(folder / f"{name}.trace", matrix)
        for policy in policies:
            run(trace, CLUSTERS[name], policy, matrix)
    if not args.quick:
        base = read_gavel_trace(folder / "cs200_s0.trace", matrix)
        big = scaled(base, SCALE)
        for policy in policies:
            slow |= run(big, SCALED_CLUSTER, policy, matrix) >= TARGET_S
        print(f"scale-up target: < {TARGET_S:.0f} s wall per simulation: "
              f"{'missed' if slow else 'met'}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
