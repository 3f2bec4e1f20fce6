"""Fidelity: with Gavel's rules our max-min policies reproduce Gavel's published average JCTs.

Reference figures (hours) from ``../shared/gavel/README.md`` (Gavel's simulator, seed 0);
the issue asks for agreement within 10 %. The default policy must beat our own
``max_min_hetero`` run on every trace without starving jobs.
"""

from __future__ import annotations

import statistics
from functools import cache

import pytest

from aicenter.scheduler import SchedulerConfig, build_policy
from aicenter.simulator.cluster import parse_cluster
from aicenter.simulator.engine import SimulationResult, simulate
from aicenter.simulator.gavel import read_gavel_throughputs, read_gavel_trace
from tests.conftest import SHARED

GAVEL = SHARED / "gavel"
CLUSTERS = {
    "cs200_s0": "v100=12,p100=12,k80=12",
    "cm200_s0": "v100=12,p100=12,k80=12",
    "sm100_s0": "v100=12,p100=12,k80=12",
    "physical_las": "v100=8,p100=16,k80=24",
}
REFERENCE_AVG_JCT_H = {
    ("cs200_s0", "max_min_agnostic"): 20.87,
    ("cs200_s0", "max_min_hetero"): 14.89,
    ("cm200_s0", "max_min_agnostic"): 20.22,
    ("cm200_s0", "max_min_hetero"): 14.74,
    ("sm100_s0", "max_min_agnostic"): 34.40,
    ("sm100_s0", "max_min_hetero"): 27.73,
    ("physical_las", "max_min_agnostic"): 5.55,
    ("physical_las", "max_min_hetero"): 4.06,
}


@cache
def run(trace: str, policy: str) -> SimulationResult:
    matrix = read_gavel_throughputs(GAVEL / "simulation_throughputs.json")
    loaded = read_gavel_trace(GAVEL / f"{trace}.trace", matrix)
    config = SchedulerConfig(round_s=360.0, restart_cost_s=0.0, resolve_min_interval_s=1920.0)
    snapshot = parse_cluster(CLUSTERS[trace], matrix.chip_types)
    return simulate(loaded, snapshot, build_policy(policy, matrix, config), matrix, config)


def avg_jct_h(result: SimulationResult) -> float:
    assert all(r.jct_s is not None for r in result.jobs)
    return statistics.mean(r.jct_s for r in result.jobs if r.jct_s is not None) / 3600.0


@pytest.mark.slow
@pytest.mark.parametrize(("trace", "policy"), sorted(REFERENCE_AVG_JCT_H))
def test_reproduces_gavel_average_jct_within_ten_percent(trace: str, policy: str) -> None:
    reference = REFERENCE_AVG_JCT_H[(trace, policy)]
    ours = avg_jct_h(run(trace, policy))
    assert abs(ours - reference) / reference <= 0.10, f"{ours:.2f} h vs Gavel {reference} h"


@pytest.mark.slow
@pytest.mark.parametrize("trace", sorted(CLUSTERS))
def test_heterogeneity_awareness_beats_the_agnostic_baseline(trace: str) -> None:
    assert avg_jct_h(run(trace, "max_min_hetero")) < 0.9 * avg_jct_h(run(trace, "max_min_agnostic"))


@pytest.mark.slow
@pytest.mark.parametrize("trace", sorted(CLUSTERS))
def test_default_policy_beats_max_min_hetero_without_starving(trace: str) -> None:
    ours, gavel = run(trace, "finish_time_fair"), run(trace, "max_min_hetero")
    assert avg_jct_h(ours) < avg_jct_h(gavel)
    # no starvation: every job finishes and the slowest is not much slower than under max-min
    worst_ours = max(r.jct_s or 0.0 for r in ours.jobs)
    worst_gavel = max(r.jct_s or 0.0 for r in gavel.jobs)
    assert worst_ours <= 1.25 * worst_gavel


def test_ten_percent_below_gavel_on_cs200_is_below_the_physical_lower_bound() -> None:
    """No policy can finish a job faster than running it alone on its fastest GPU type from the
    moment it arrives (gang sizes are fixed in Gavel's traces). On cs200_s0 the average of that
    bound already exceeds 0.9 × Gavel's heterogeneity-aware figure, so the issue's "10 % lower"
    target is unreachable there; on cm200_s0 it leaves under 4 % of headroom."""
    matrix = read_gavel_throughputs(GAVEL / "simulation_throughputs.json")
    bounds = {}
    for trace in ("cs200_s0", "cm200_s0"):
        jobs = read_gavel_trace(GAVEL / f"{trace}.trace", matrix).jobs
        best = [
            j.total_work / max(matrix.rate(j.job_class, d.chip_type, d.count)  # type: ignore[union-attr]
                               for d in j.demand)
            for j in jobs
        ]
        bounds[trace] = statistics.mean(best) / 3600.0
    assert bounds["cs200_s0"] > 0.9 * REFERENCE_AVG_JCT_H[("cs200_s0", "max_min_hetero")]
    assert bounds["cm200_s0"] > 0.86 * REFERENCE_AVG_JCT_H[("cm200_s0", "max_min_hetero")]
    # and our default policy comes within 6 % and 10 % of these bounds
    assert avg_jct_h(run("cs200_s0", "finish_time_fair")) < 1.06 * bounds["cs200_s0"]
    assert avg_jct_h(run("cm200_s0", "finish_time_fair")) < 1.10 * bounds["cm200_s0"]
