"""The center's sharing rules through the live loop (issue 12): ``run_round`` on a manual
clock with the virtual backend and the live default policy (``finish_time_fair``, the
center's restart cost), on SQLite and PostgreSQL.

* a call's guaranteed share counts the jobs on that call's grants, also those of an
  organisation holding grants of several calls;
* capacity an organisation borrowed beyond its share is reclaimed by preemption within one
  round of the owner's submission (the chase team's lane: ``test_live_replay``);
* a grant for 8 H100 never has more than 8 running at once, on a pool of 16;
* organisations' quotas and used amounts are their usable grants' award and spend;
* decayed usage orders equal jobs of two organisations (Slurm's half-life fair share).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from decimal import Decimal

from aicenter.backends import RunHandle
from aicenter.domain.job import Job, JobStatus, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.share import ShareHolder
from aicenter.services import call as call_svc
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.scheduling import _view, make_policy, run_round
from aicenter.services.share import set_share
from tests.services.test_live_replay import (
    ROUND_S,
    Tenancy,
    TraceJob,
    estimated_duration_s,
    make_pools,
    make_tenant,
    virtual_center,
)

H100 = "nvidia-h100-sxm"
LONG = TraceJob(0.0, "dense-training", 2, 2 * 10 * 3600.0)
"""Two H100 for ten hours: nothing ends during these tests unless they say so."""


def _org(ctx: ServiceContext, operator: Caller) -> Tenancy:
    org = org_svc.create_org(ctx, operator, f"Org {secrets.token_hex(3)}", OrgClass.SME)
    member = Caller(org_svc.add_person(ctx, operator, org.id, "M",
                                       f"m{secrets.token_hex(3)}@x.kr", Role.MEMBER))
    return Tenancy(org.id, member)


def _call(ctx: ServiceContext, operator: Caller) -> str:
    return call_svc.open_call(ctx, operator, call_svc.CallRequest(
        f"call {secrets.token_hex(3)}", frozenset(OrgClass) - {OrgClass.OPERATOR},
        {H100: 512})).id


def _grant(ctx: ServiceContext, operator: Caller, who: Tenancy, call_id: str,
           chips: int = 64, budget: str = "10000") -> str:
    app = call_svc.apply(ctx, who.member, call_id, who.org_id, "LLM", {H100: chips}, 6,
                         Decimal(budget))
    return grant_svc.award(ctx, operator, app.id, Decimal(budget),
                           without_review="live test").grant.id


def _submit(ctx: ServiceContext, who: Tenancy, tj: TraceJob, grant_id: str | None = None
            ) -> str:
    """``tj`` on H100 (its true duration as its estimate, as the replay submits it), charged
    to ``grant_id`` if given (else the organisation's earliest usable grant)."""
    seconds = estimated_duration_s(ctx, tj, H100)
    spec = parse_job_spec(
        f"name: live\ncommand: 'true'\nresources: [{{chip: {H100}, count: {tj.count}}}]\n"
        f"max_duration: {seconds + 1}s\nestimated_duration: {seconds}s\n"
        f"workload: {tj.job_class}\n"
        f"env: {{SIM_WORK_H100_S: '{tj.work!r}', SIM_JOB_CLASS: {tj.job_class}}}\n")
    job, _ = job_svc.submit(ctx, who.member, spec, grant_id=grant_id)
    return job.id


def _jobs(ctx: ServiceContext, ids: Sequence[str]) -> list[Job]:
    with ctx.db.transaction(write=False) as tx:
        found: list[Job | None] = [tx.jobs.get(i) for i in ids]
    assert all(j is not None for j in found)
    return [j for j in found if j is not None]


def _status(ctx: ServiceContext, ids: Sequence[str]) -> dict[str, JobStatus]:
    return {j.id: j.status for j in _jobs(ctx, ids)}


def _reason(ctx: ServiceContext, job_id: str) -> str | None:
    return _jobs(ctx, [job_id])[0].pending_reason


def test_each_call_keeps_its_guaranteed_share_for_the_jobs_on_its_grants(
    ctx: ServiceContext, operator: Caller, clock: ManualClock
) -> None:
    """Calls X and Y are guaranteed 4 H100e each of 8 H100. B (call X only) borrowed all 8
    while nobody else ran. A holds grants of both calls (X's first) and submits two jobs on
    its Y grant: within one round they run on Y's share and B keeps X's 4 (A's jobs used to
    count against X, its earliest grant's call, whose share B's jobs held: they waited)."""
    make_pools(ctx, operator, {H100: 8})
    call_x, call_y = _call(ctx, operator), _call(ctx, operator)
    for call_id in (call_x, call_y):
        set_share(ctx, operator, ShareHolder.CALL, call_id, Decimal(4))
    a, b = _org(ctx, operator), _org(ctx, operator)
    _grant(ctx, operator, a, call_x)
    clock.advance(1.0)
    a_on_y = _grant(ctx, operator, a, call_y)
    _grant(ctx, operator, b, call_x)
    virtual_center(ctx, "finish_time_fair")
    policy = make_policy(ctx)  # the center's restart cost: running jobs hold on to chips
    borrowers = [_submit(ctx, b, LONG) for _ in range(4)]
    run_round(ctx, policy)
    assert set(_status(ctx, borrowers).values()) == {JobStatus.RUNNING}
    clock.advance(100.0)
    submitted = ctx.clock.now()
    owners = [_submit(ctx, a, LONG, a_on_y) for _ in range(2)]
    clock.advance(ROUND_S - 100.0)
    report = run_round(ctx, policy)
    assert sorted(report.launched) == sorted(owners)
    assert len(report.preempted) == 2 and set(report.preempted) <= set(borrowers)
    clock.advance(ROUND_S)
    run_round(ctx, policy)
    started = [j.started_at for j in _jobs(ctx, owners)]
    assert all(s is not None and (s - submitted).total_seconds() <= ROUND_S for s in started)
    assert _running_chips(ctx, borrowers) == 4 and _running_chips(ctx, owners) == 4


def _running_chips(ctx: ServiceContext, ids: Sequence[str]) -> int:
    """Chips of the runs of ``ids`` the engine has not ended."""
    return sum(j.chip_count for j in _jobs(ctx, ids) if j.status is JobStatus.RUNNING
               and j.handle and not ctx.backend.status(RunHandle.parse(j.handle)).is_final)


def test_borrowed_capacity_is_reclaimed_within_one_round(
    ctx: ServiceContext, operator: Caller, clock: ManualClock
) -> None:
    """A and B are guaranteed 4 H100e each of 8. A borrowed all 8 while B was idle; B
    submits two jobs: the next round preempts two of A's and starts B's."""
    make_pools(ctx, operator, {H100: 8})
    a, b = make_tenant(ctx, operator, [H100]), make_tenant(ctx, operator, [H100])
    for who in (a, b):
        set_share(ctx, operator, ShareHolder.ORG, who.org_id, Decimal(4))
    virtual_center(ctx, "finish_time_fair")
    policy = make_policy(ctx)
    borrowed = [_submit(ctx, a, LONG) for _ in range(4)]
    run_round(ctx, policy)
    assert set(_status(ctx, borrowed).values()) == {JobStatus.RUNNING}
    for _ in range(3):  # A runs alone for a while: its jobs are well into their stints
        clock.advance(ROUND_S)
        assert run_round(ctx, policy).preempted == []
    clock.advance(10.0)
    submitted = ctx.clock.now()
    owners = [_submit(ctx, b, LONG) for _ in range(2)]
    clock.advance(ROUND_S - 10.0)
    report = run_round(ctx, policy)
    assert sorted(report.launched) == sorted(owners)
    assert len(report.preempted) == 2 and set(report.preempted) <= set(borrowed)
    clock.advance(ROUND_S)
    run_round(ctx, policy)  # the preempted pair is requeued; B's runs started
    started = [j.started_at for j in _jobs(ctx, owners)]
    assert all(s is not None and (s - submitted).total_seconds() <= ROUND_S for s in started)
    assert _running_chips(ctx, owners) == 4 and _running_chips(ctx, borrowed) == 4
    waiting = [i for i, s in _status(ctx, borrowed).items() if s is JobStatus.QUEUED]
    assert len(waiting) == 2
    assert sorted(_reason(ctx, i) or "" for i in waiting) == ["Priority", "Resources"]


def test_a_grant_for_8_h100_never_runs_more_than_8_at_once(
    ctx: ServiceContext, operator: Caller, clock: ManualClock
) -> None:
    """Pool of 16 H100, one organisation whose grant was awarded 8: five jobs of 4 chips of
    different lengths run to the end; at no round does the grant hold more than 8 chips,
    and while it holds 8 with 8 idle the others wait with ChipCapReached."""
    make_pools(ctx, operator, {H100: 16})
    who = _org(ctx, operator)
    _grant(ctx, operator, who, _call(ctx, operator), chips=8)
    virtual_center(ctx, "finish_time_fair")
    policy = make_policy(ctx)
    ids = [_submit(ctx, who, TraceJob(0.0, "dense-training", 4, 4 * hours * 1800.0))
           for hours in (1, 2, 3, 1, 2)]
    capped = 0
    for _ in range(200):
        run_round(ctx, policy)
        held = _running_chips(ctx, ids)
        assert held <= 8, held
        queued = [i for i, s in _status(ctx, ids).items() if s is JobStatus.QUEUED]
        if held == 8 and queued:
            assert {_reason(ctx, i) for i in queued} == {"ChipCapReached"}
            capped += 1
        if all(s.finished for s in _status(ctx, ids).values()):
            break
        clock.advance(ROUND_S)
    assert set(_status(ctx, ids).values()) == {JobStatus.SUCCEEDED}
    assert capped >= 3


def test_quota_and_used_are_the_usable_grants_award_and_spend(
    ctx: ServiceContext, operator: Caller, clock: ManualClock
) -> None:
    make_pools(ctx, operator, {H100: 8})
    who = _org(ctx, operator)
    _grant(ctx, operator, who, _call(ctx, operator), budget="500")
    virtual_center(ctx, "finish_time_fair", metering_s=ROUND_S)
    policy = make_policy(ctx)
    done = _submit(ctx, who, TraceJob(0.0, "dense-training", 2, 2 * 1800.0))  # 1 h100e-h
    held = _submit(ctx, who, LONG)
    for _ in range(8):
        run_round(ctx, policy)
        clock.advance(ROUND_S)
    run_round(ctx, policy)
    assert _status(ctx, [done, held]) == {done: JobStatus.SUCCEEDED, held: JobStatus.RUNNING}
    with ctx.db.transaction(write=False) as tx:
        jobs = tx.jobs.list(statuses=[JobStatus.QUEUED, JobStatus.RUNNING])
        charged = sum(r.h100e_hours for r in tx.usage.list(org_id=who.org_id))
    tenant = _view(ctx, jobs).snapshot.tenants[who.org_id]
    assert tenant.quota is not None and tenant.quota.value == 500.0
    assert tenant.used.value == float(charged) and charged > 1  # the done job and the running
    assert {jp.id: jp.job.budget_h100e_h for jp in _view(ctx, jobs).queue}[held] == \
        float(_hold(ctx, who, held))


def _hold(ctx: ServiceContext, who: Tenancy, job_id: str) -> Decimal:
    from aicenter.ledger import H100E, accounts

    job = _jobs(ctx, [job_id])[0]
    with ctx.db.transaction(write=False) as tx:
        balance: Decimal = tx.ledger.balance(accounts.hold(job.grant_id, job_id), H100E)
    return balance


def test_the_organisation_below_its_share_of_decayed_usage_goes_first(
    ctx: ServiceContext, operator: Caller, clock: ManualClock
) -> None:
    """A ran alone for two hours; then A and B submit the same job (A first) to a pool that
    fits one: B's starts and A's waits for the chips. (With equal usage A's would start:
    the submission order breaks the tie.)"""
    make_pools(ctx, operator, {H100: 2})
    a, b = (make_tenant(ctx, operator, [H100], budget="1000") for _ in range(2))
    virtual_center(ctx, "finish_time_fair", metering_s=ROUND_S)
    policy = make_policy(ctx)
    history = _submit(ctx, a, TraceJob(0.0, "dense-training", 2, 2 * 2 * 3600.0))
    while not _status(ctx, [history])[history].finished:
        run_round(ctx, policy)
        clock.advance(ROUND_S)
    job = TraceJob(0.0, "dense-training", 2, 2 * 3600.0)
    a_job = _submit(ctx, a, job)
    clock.advance(1.0)
    b_job = _submit(ctx, b, job)
    report = run_round(ctx, policy)
    assert report.launched == [b_job]
    assert _reason(ctx, a_job) == "Resources"  # next in line
