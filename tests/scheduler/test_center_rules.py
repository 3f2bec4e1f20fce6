"""The live center's rules as the scheduler sees them, pure (issue 12): a job counts against
the call of the grant it runs on; organisations' quotas and used amounts come from their
usable grants and their jobs' holds, and a job never costs a round more than its hold;
pending reasons name the head of the line ``Resources`` and those behind it ``Priority``;
``finish_time_fair`` reads decayed usage (Slurm's half-life fair share) within one octave of
remaining work."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.domain.grant import Grant, GrantStatus
from aicenter.domain.job import Job, JobStatus, parse_job_spec
from aicenter.domain.org import Organisation, OrgClass
from aicenter.domain.units import H100eHours
from aicenter.scheduler import SchedulerConfig, Snapshot, build_policy
from aicenter.scheduler.center import CenterPool, CenterView, center_view, tenant_budget
from aicenter.scheduler.pending import PendingReason, pending_reasons
from aicenter.scheduler.policies.finish_time import fair_share_steps
from aicenter.scheduler.problem import build_problem
from aicenter.scheduler.snapshot import build_snapshot
from aicenter.scheduler.types import PriorityClass, Programme, Tenant
from tests.scheduler.builders import job, matrix, pool, queued

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RATES = matrix({("a", "gpu"): 1.0, ("a", "npu"): 0.5})


def _placed(allocation) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {p.job_id: p.pool_id for p in allocation.placements}


# --- the live builder: programmes, quotas, budgets ------------------------------------------

def _org(org_id: str) -> Organisation:
    return Organisation(org_id, org_id, OrgClass.SME, False, "capital", T0)


def _grant(grant_id: str, call: str, org: str = "A", budget: str = "100",
           ends: datetime = T0 + timedelta(days=30)) -> Grant:
    return Grant(grant_id, call, None, org, Decimal(budget), frozenset({"h100"}), T0, ends,
                 GrantStatus.ACTIVE, T0, None)


def _job(job_id: str, grant: str, org: str = "A", status: JobStatus = JobStatus.QUEUED) -> Job:
    spec = parse_job_spec("name: j\ncommand: 'true'\nresources: [{chip: h100, count: 2}]\n"
                          "max_duration: 3600s\n")
    return Job(id=job_id, org_id=org, person_id="p", grant_id=grant, spec=spec, status=status,
               idempotency_key=None, hold_h100e_h=Decimal(2), submitted_at=T0)


def _view(grants: list[Grant], jobs: list[Job], now: datetime, *,
          balances: dict[str, Decimal] | None = None, holds: dict[str, Decimal] | None = None,
          programme_shares: dict[str, float] | None = None) -> CenterView:
    return center_view(
        pools=[CenterPool("p", "h100", 8, "KR", 8)], orgs=[_org("A"), _org("B")],
        grants=grants, usage=[], jobs=jobs, ratio=lambda c, w: 1.0, now=now,
        half_life_s=3600.0, chase_share=0.0, programme_guaranteed_h100e=programme_shares,
        grant_balances=balances, holds=holds)


def test_a_job_counts_against_the_call_of_its_own_grant() -> None:
    """Organisation A holds grants of two calls, the earlier of call X: a job on its call-Y
    grant is of programme Y (it used to be X, the call of A's earliest grant)."""
    grants = [_grant("gx", "X"), replace(_grant("gy", "Y"), starts_at=T0 + timedelta(days=1))]
    jobs = [_job("on-x", "gx"), _job("on-y", "gy")]
    view = _view(grants, jobs, T0 + timedelta(days=2), programme_shares={"X": 4.0, "Y": 4.0})
    assert {jp.id: jp.job.programme for jp in view.queue} == {"on-x": "X", "on-y": "Y"}
    assert view.snapshot.tenants["A"].programme is None  # two calls: no single programme
    single = _view([_grant("gx", "X")], [], T0)
    assert single.snapshot.tenants["A"].programme == "X"


def test_call_guarantees_are_honoured_per_job() -> None:
    """Calls X and Y are each guaranteed 4 H100e of 8 chips. B (call X) borrowed all 8; A's
    two jobs on its call-Y grant come: they take Y's 4 at once and B keeps X's 4."""
    gpu = pool("gpu", 8)
    snap = build_snapshot((gpu,), (Tenant("A", programme="X"), Tenant("B", programme="X")),
                          programmes=(Programme("X", guaranteed_h100e=4.0),
                                      Programme("Y", guaranteed_h100e=4.0)))
    borrowed = [queued(replace(job(f"b{i}", {"gpu": 2}, tenant="B"), programme="X"), "gpu")
                for i in range(4)]
    owners = [queued(replace(job(f"a{i}", {"gpu": 2}, tenant="A", arrival=50.0),
                             programme="Y")) for i in range(2)]
    for name in ("fifo", "finish_time_fair"):
        policy = build_policy(name, RATES, SchedulerConfig(round_s=60.0, restart_cost_s=600.0))
        allocation = policy.schedule(snap, [*borrowed, *owners], 100.0)
        placed = _placed(allocation)
        assert {"a0", "a1"} <= set(placed), (name, placed)
        assert sum(j.startswith("b") for j in placed) == 2, (name, placed)


def test_quota_and_used_come_from_usable_grants_and_holds() -> None:
    """A: grant gx (award 100, 60 spendable, job holds of 10 and 5: used 25) and an expired
    grant (not counted); B: only an expired grant: quota 0, nothing left."""
    now = T0 + timedelta(days=40)
    grants = [_grant("gx", "X", ends=T0 + timedelta(days=90)), _grant("old", "X"),
              _grant("gb", "X", org="B")]
    jobs = [_job("j1", "gx"), _job("j2", "gx", status=JobStatus.RUNNING), _job("j3", "old"),
            _job("jb", "gb", org="B")]
    balances = {"gx": Decimal(60), "old": Decimal(30), "gb": Decimal(50)}
    holds = {"j1": Decimal(10), "j2": Decimal(5), "j3": Decimal(7), "jb": Decimal(2)}
    assert tenant_budget(grants, jobs, balances, holds, now) == {
        "A": (H100eHours(100.0), H100eHours(25.0))}
    view = _view(grants, jobs, now, balances={"gx": Decimal(60)}, holds=holds)
    a, b = view.snapshot.tenants["A"], view.snapshot.tenants["B"]
    assert (a.quota, a.used) == (H100eHours(100.0), H100eHours(25.0))
    assert (b.quota, b.used) == (H100eHours(0.0), H100eHours(0.0))
    budget = {jp.id: jp.job.budget_h100e_h for jp in view.queue}
    # a queued job on an ended grant has nothing to start on; the others keep their holds
    assert budget == {"j1": 10.0, "j2": 5.0, "j3": 0.0, "jb": 0.0}
    assert _view(grants, jobs, now).snapshot.tenants["A"].quota is None  # no balances given


def test_a_job_never_costs_a_round_more_than_its_hold_and_one_without_waits() -> None:
    """One round of 4 chips costs 0.4 h100e-h; the tenant has 0.3 left, all of it the job's
    hold: it runs (metering never charges past the hold). A job with no budget waits."""
    snap = build_snapshot((pool("gpu", 4),), (Tenant("t", quota=H100eHours(1.0),
                                                     used=H100eHours(0.7)),))
    held = replace(job("held", {"gpu": 4}), budget_h100e_h=0.3)
    none = replace(job("none", {"gpu": 1}, arrival=1.0), budget_h100e_h=0.0)
    unheld = job("unheld", {"gpu": 4})
    policy = build_policy("fifo", RATES, SchedulerConfig(round_s=360.0))
    allocation = policy.schedule(snap, [queued(held), queued(none)], 10.0)
    assert _placed(allocation) == {"held": "gpu"}
    assert pending_reasons(snap, [queued(held), queued(none)], allocation) == {
        "none": PendingReason.QUOTA_EXHAUSTED}
    # without a budget of its own the same job is charged the whole round, which is too much
    alone = build_policy("fifo", RATES, SchedulerConfig(round_s=360.0))
    assert _placed(alone.schedule(snap, [queued(unheld)], 10.0)) == {}
    # a running job whose budget is spent keeps its chips: metering, not preemption, ends it
    spent = queued(replace(job("spent", {"gpu": 4}), budget_h100e_h=0.0), "gpu")
    kept = build_policy("fifo", RATES, SchedulerConfig(round_s=360.0))
    assert _placed(kept.schedule(snap, [spent], 10.0)) == {"spent": "gpu"}


# --- pending reasons: the head of the line and those behind it ------------------------------

@pytest.mark.parametrize("name", ["fifo", "finish_time_fair", "fair_share"])
def test_the_first_in_line_waits_for_resources_the_others_for_priority(name: str) -> None:
    gpu, npu = pool("gpu", 4), pool("npu", 4)
    snap = build_snapshot((gpu, npu), (Tenant("t"),))
    running = queued(job("running", {"gpu": 4}), "gpu")
    first = queued(job("first", {"gpu": 4}, arrival=1.0))
    second = queued(job("second", {"gpu": 4}, arrival=2.0))
    elsewhere = queued(job("elsewhere", {"npu": 4, "gpu": 4}, arrival=3.0))
    urgent = queued(job("urgent", {"gpu": 4}, arrival=4.0, priority=PriorityClass.CHASE))
    policy = build_policy(name, RATES, SchedulerConfig(round_s=60.0, restart_cost_s=600.0))
    queue = [running, first, second, elsewhere]
    allocation = policy.schedule(snap, queue, 10.0)
    assert _placed(allocation) == {"running": "gpu", "elsewhere": "npu"}
    assert pending_reasons(snap, queue, allocation) == {
        "first": PendingReason.RESOURCES, "second": PendingReason.PRIORITY}
    # a chase-team job (no lane here) is ahead of both: it waits for the chips, they behind it
    queue = [running, first, second, urgent]
    allocation = policy.schedule(snap, queue, 20.0)
    assert _placed(allocation) == {"running": "gpu"}
    assert pending_reasons(snap, queue, allocation) == {
        "urgent": PendingReason.RESOURCES, "first": PendingReason.PRIORITY,
        "second": PendingReason.PRIORITY}


def test_a_larger_share_of_the_solution_is_ahead_in_line() -> None:
    """Under finish_time_fair the shorter of two waiting jobs gets the larger share (the
    running one keeps its chips for a stint, the restart cost): it is first in line
    (Resources), the longer one behind it (Priority), whatever their arrival."""
    snap = build_snapshot((pool("gpu", 4),), (Tenant("t"),))
    running = queued(job("running", {"gpu": 4}, work=1e5), "gpu")
    long = queued(job("long", {"gpu": 4}, arrival=1.0, work=1e6))
    short = queued(job("short", {"gpu": 4}, arrival=2.0, work=1e3))
    policy = build_policy("finish_time_fair", RATES,
                          SchedulerConfig(round_s=60.0, restart_cost_s=600.0))
    allocation = policy.schedule(snap, [running, long, short], 10.0)
    assert _placed(allocation) == {"running": "gpu"}
    assert sum(allocation.fractions["short"].values()) > \
        sum(allocation.fractions["long"].values())
    assert pending_reasons(snap, [running, long, short], allocation) == {
        "short": PendingReason.RESOURCES, "long": PendingReason.PRIORITY}


# --- finish_time_fair reads decayed usage ---------------------------------------------------

def _two_tenants(decayed_a: float, decayed_b: float) -> Snapshot:
    return build_snapshot((pool("gpu", 1),), (Tenant("A"), Tenant("B")),
                          decayed={"A": decayed_a, "B": decayed_b})


def test_finish_time_fair_puts_the_tenant_below_its_share_first() -> None:
    """Two equal jobs, one chip: the tenant that used less (decayed) gets the chip, whoever
    arrived first; with equal usage the earlier one does."""
    a = queued(job("a", {"gpu": 1}, tenant="A", arrival=0.0))
    b = queued(job("b", {"gpu": 1}, tenant="B", arrival=1.0))
    for usage, winner in (((10.0, 1.0), "b"), ((1.0, 10.0), "a"), ((0.0, 0.0), "a")):
        policy = build_policy("finish_time_fair", RATES, SchedulerConfig(round_s=60.0))
        allocation = policy.schedule(_two_tenants(*usage), [a, b], 10.0)
        assert _placed(allocation) == {winner: "gpu"}, usage
        if usage[0] != usage[1]:  # the LP gives it all but the other's max-min floor
            loser = "a" if winner == "b" else "b"
            assert allocation.fractions[winner]["gpu"] > 0.8 > \
                allocation.fractions[loser]["gpu"]


def test_fair_share_moves_a_job_by_at_most_one_octave_of_remaining_work() -> None:
    """A far over its share still goes first with a job a fifth the length of B's (remaining
    work is bucketed by powers of two, fair share moves it one bucket); at about the same
    length B's goes first. The max-min floor still holds for both."""
    snap = _two_tenants(1000.0, 0.0)
    for a_work, winner in ((200.0, "a"), (900.0, "b")):
        queue = [queued(job("a", {"gpu": 1}, tenant="A", work=a_work)),
                 queued(job("b", {"gpu": 1}, tenant="B", work=1000.0, arrival=1.0))]
        problem = build_problem(snap, queue, 10.0, RATES)
        assert fair_share_steps(problem, 1.0).tolist() == [1.0, 0.0]
        allocation = build_policy("finish_time_fair", RATES,
                                  SchedulerConfig(round_s=60.0)).schedule(snap, queue, 10.0)
        assert _placed(allocation) == {winner: "gpu"}, a_work
        for j in ("a", "b"):  # max-min gives each 1/2; the floor keeps a quarter of it
            assert allocation.fractions[j]["gpu"] >= 0.25 * 0.5 - 1e-6


def test_fair_share_term_is_off_without_usage_and_with_one_tenant() -> None:
    queue = [queued(job("a", {"gpu": 1}, tenant="A")), queued(job("b", {"gpu": 1}, tenant="A"))]
    for snap in (_two_tenants(0.0, 0.0), _two_tenants(50.0, 0.0)):
        steps = fair_share_steps(build_problem(snap, queue, 0.0, RATES), 1.0)
        assert steps.tolist() == [0.0, 0.0]  # relative to the best tenant in the queue

