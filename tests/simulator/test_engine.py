"""The simulator engine and its metrics on small, hand-checkable cases."""

from __future__ import annotations

import pytest

from aicenter.domain.units import Currency, H100eHours, Money
from aicenter.scheduler import (
    ChipDemand,
    Job,
    Pool,
    PriorityClass,
    SchedulerConfig,
    Snapshot,
    Tenant,
    ThroughputMatrix,
    build_policy,
)
from aicenter.simulator.engine import SimulationResult, simulate
from aicenter.simulator.metrics import jain_index, summarize
from aicenter.simulator.trace import Trace

MATRIX = ThroughputMatrix({("m", "gpu", 1): 2.0, ("m", "old", 1): 1.0})


def one_chip(*jobs: Job, policy: str = "max_min_agnostic", restart: float = 0.0,
             snapshot: Snapshot | None = None) -> SimulationResult:
    snap = snapshot or Snapshot((Pool("gpu", "gpu", 1, 1),))
    config = SchedulerConfig(restart_cost_s=restart)
    return simulate(Trace("t", jobs), snap, build_policy(policy, MATRIX, config), MATRIX, config)


def mk(jid: str, work: float, arrival: float = 0.0, tenant: str = "t") -> Job:
    return Job(jid, tenant, "m", (ChipDemand("gpu", 1),), work, arrival)


def test_a_lone_job_takes_exactly_work_over_rate() -> None:
    result = one_chip(mk("a", 2.0 * 1000.0))
    assert result.jobs[0].jct_s == pytest.approx(1000.0)
    assert len(result.rounds) == 3  # 360 + 360 + 280 s


def test_arrivals_wait_for_the_next_round_boundary_and_jct_counts_from_arrival() -> None:
    result = one_chip(mk("a", 2.0 * 720.0), mk("b", 2.0 * 100.0, arrival=10.0),
                      policy="fifo")
    b = next(r for r in result.jobs if r.job.id == "b")
    assert b.completion_s == pytest.approx(720.0 + 100.0)
    assert b.jct_s == pytest.approx(810.0)


def test_restart_cost_is_charged_when_a_preempted_job_resumes() -> None:
    snap = Snapshot((Pool("gpu", "gpu", 1, 1),), chase_share=1.0)
    chase = Job("c", "team", "m", (ChipDemand("gpu", 1),), 2.0 * 720.0, 360.0,
                priority_class=PriorityClass.CHASE)
    jobs = (mk("a", 2.0 * 3600.0), chase)
    for restart, expected in ((0.0, 360.0 + 720.0 + 3240.0), (120.0, 360.0 + 720.0 + 3360.0)):
        result = one_chip(*jobs, policy="fifo", restart=restart, snapshot=snap)
        a = next(r for r in result.jobs if r.job.id == "a")
        assert a.preemptions == 1
        assert a.completion_s == pytest.approx(expected), restart


def test_restart_cost_makes_the_policy_avoid_preemptions() -> None:
    jobs = (mk("a", 2.0 * 3600.0), mk("b", 2.0 * 3600.0))
    free = summarize(one_chip(*jobs), MATRIX)
    costly = summarize(one_chip(*jobs, restart=120.0), MATRIX)
    assert free["preemptions"] >= 5  # round-robin sharing of one chip
    assert costly["preemptions"] < free["preemptions"]


def test_quota_stops_a_tenant_mid_trace_and_the_run_ends() -> None:
    snap = Snapshot((Pool("gpu", "gpu", 1, 1),), {"t": Tenant("t", quota=H100eHours(0.5))})
    result = one_chip(mk("a", 2.0 * 3600.0), snapshot=snap)
    assert result.jobs[0].completion_s is None
    assert result.jobs[0].h100e_s <= 0.5 * 3600.0 + 1e-6
    assert summarize(result, MATRIX)["finished"] == 0


def test_summary_contract_utilisation_money_and_shares() -> None:
    price = Money.of(1000, Currency.KRW)
    snap = Snapshot((Pool("gpu", "gpu", 2, 2, price_per_chip_hour=price),),
                    {"x": Tenant("x", weight=3.0), "y": Tenant("y", weight=1.0)})
    jobs = (mk("a", 2.0 * 3600.0, tenant="x"), mk("b", 2.0 * 3600.0, tenant="y"))
    summary = summarize(one_chip(*jobs, snapshot=snap), MATRIX)
    for key in ("policy", "jobs", "avg_jct_hours", "p95_jct_hours", "makespan_hours",
                "utilization", "jain_fairness", "policy_seconds_total", "rounds"):
        assert key in summary
    assert summary["makespan_hours"] == pytest.approx(1.0)
    assert summary["utilization"] == {"gpu": pytest.approx(1.0)}
    assert summary["money"] == {"amount": "2000", "currency": "KRW"}
    shares = {s["tenant"]: s for s in summary["tenant_shares"]}
    assert shares["x"]["entitlement"] == pytest.approx(0.75)
    assert shares["x"]["share"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1.0, 1.0, 1.0], 1.0), ([1.0, 0.0], 0.5), ([2.0, 1.0], 0.9), ([], 1.0)],
)
def test_jain_index(values: list[float], expected: float) -> None:
    assert jain_index(values) == pytest.approx(expected)


def test_solve_time_comes_from_the_injected_timer() -> None:
    ticks = iter(range(1000))
    snap = Snapshot((Pool("gpu", "gpu", 1, 1),))
    config = SchedulerConfig()
    result = simulate(Trace("t", (mk("a", 2000.0),)), snap,
                      build_policy("fifo", MATRIX, config), MATRIX, config,
                      timer=lambda: float(next(ticks)))
    assert [r.solve_s for r in result.rounds] == [1.0, 1.0, 1.0]
