"""Budgets never go negative (issue 12 item 5).

The real services — admission (``job.submit``), the scheduling loop (``run_round``, whose
``poll_running`` meters and settles runs), ``cancel`` and ``finish`` — drive jobs on the
virtual backend (:mod:`aicenter.backends.virtual`), whose runs progress on the service's
:class:`~aicenter.services.clock.ManualClock`. Random sequences of events — submit, let time
pass, fail a run (retried or not), preempt it, lose it (runner died; the loss is noticed one
round later, so metering overruns the hold), cancel, a re-measured throughput that makes
running jobs cost more than their holds (budget exhaustion), and a server restart (a new
services context on the same database whose backend re-attaches to its runs and whose
:func:`~aicenter.services.scheduling.recover` adopts a run the old server launched but never
recorded) — run against two small grants, on SQLite (many examples) and PostgreSQL (a few:
each needs a freshly migrated schema). After every step:

* no grant account and no hold account is below zero;
* every transaction balances and the running balances equal the postings;
* a finished job holds nothing.

At the end (every job finished): every hold is zero, and for every grant

    balance(grant:G) + usage charged to G = budget(G)

(releases went back into ``grant:G``), and the usage records charge exactly what the ledger
booked (statements are computed from them).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aicenter.backends import LaunchRequest, RunHandle
from aicenter.backends.virtual import VirtualBackend
from aicenter.catalog.performance import PerformanceTable, Throughput
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.ledger import H100E, accounts
from aicenter.server.runtime import attach_backend
from aicenter.services import call as call_svc
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import BudgetExceededError
from aicenter.services.metering import EXHAUSTED, charged_h100e_h
from aicenter.services.org import bootstrap_operator
from aicenter.services.scheduling import (
    make_policy,
    pool_targets,
    recover,
    run_id_of,
    run_round,
    stop_run,
)
from aicenter.settings import Settings
from aicenter.storage import Database
from tests.services.fixtures import PG_SKIP, make_database
from tests.support.database import PG_URL, fresh_database, pg_reachable

CHIP = "nvidia-h100-sxm"
ROUND_S = 60.0


@dataclass
class Tenant:
    member: Caller
    grant_id: str
    budget_h100e_h: Decimal


@dataclass
class Center:
    ctx: ServiceContext
    clock: ManualClock
    backend: VirtualBackend
    tenants: list[Tenant]
    jobs: list[str] = field(default_factory=list)
    outcomes: set[str] = field(default_factory=set)


def open_center(db: Database, home: Path, budgets: list[Decimal]) -> Center:
    """One pool of 8 H100s on the virtual backend; one organisation and grant per budget."""
    clock = ManualClock()
    ctx = ServiceContext(db=db, settings=Settings(home=home, database_url=db.url), clock=clock)
    ctx.settings.backend = "virtual"
    ctx.settings.scheduler_policy = "fifo"
    ctx.settings.scheduler_interval_s = ROUND_S
    ctx.settings.metering_interval_s = ROUND_S
    ctx.settings.max_lost_runs = 2
    boot = bootstrap_operator(ctx)
    assert boot is not None
    operator = Caller(boot[0])
    pool_svc.add_pool(ctx, operator, CHIP, 8)
    tenants = []
    for budget in budgets:
        call = call_svc.open_call(ctx, operator, call_svc.CallRequest(
            f"call {secrets.token_hex(3)}", frozenset(OrgClass) - {OrgClass.OPERATOR},
            {CHIP: 64}))
        org = org_svc.create_org(ctx, operator, f"Org {secrets.token_hex(3)}", OrgClass.SME)
        member = Caller(org_svc.add_person(ctx, operator, org.id, "M",
                                           f"m{secrets.token_hex(3)}@x.kr", Role.MEMBER))
        app = call_svc.apply(ctx, member, call.id, org.id, "LLM", {CHIP: 8}, 6, budget)
        view = grant_svc.award(ctx, operator, app.id, budget, without_review="budget test")
        tenants.append(Tenant(member, view.grant.id, budget))
    attach_backend(ctx)
    assert isinstance(ctx.backend, VirtualBackend)
    return Center(ctx, clock, ctx.backend, tenants)


# -- events -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Submit:
    """A job of ``count`` chips; ``fill``: its max duration is instead what makes its hold
    everything its grant has left (then any requeue after it ran finds the grant empty)."""

    tenant: int
    count: int
    max_duration_s: int
    max_retries: int
    work_h100_s: int
    fill: bool = False


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class Fail:
    job: int


@dataclass(frozen=True)
class Preempt:
    job: int


@dataclass(frozen=True)
class Lose:
    job: int


@dataclass(frozen=True)
class Cancel:
    job: int


@dataclass(frozen=True)
class Remeasure:
    """The chip's measured throughput replaces the estimate: running jobs now cost
    ``ratio`` h100e a chip-second, more than their holds were computed with."""

    ratio: float


@dataclass(frozen=True)
class Restart:
    """The server stops and another starts on the same database and state directory; with
    ``mid_launch`` the old one had just launched a queued job's run and died before writing
    the job's row, so the new one's ``recover()`` adopts the run."""

    mid_launch: bool


Event = Submit | Wait | Fail | Preempt | Lose | Cancel | Remeasure | Restart


def restart(center: Center, mid_launch: bool) -> None:
    """A new services context on the same database (the clock goes on; a re-measured
    throughput stays measured), its backend re-attached, then ``recover()``."""
    old = center.ctx
    if mid_launch:
        launch_unrecorded(center)
    ctx = ServiceContext(db=old.db, settings=old.settings, clock=center.clock,
                         catalog=old.catalog, perf=old.perf)
    attach_backend(ctx)
    assert isinstance(ctx.backend, VirtualBackend)
    if recover(ctx):
        center.outcomes.add("run adopted after a restart")
    center.ctx, center.backend = ctx, ctx.backend


def launch_unrecorded(center: Center) -> None:
    """What a server that dies mid-launch leaves: the first queued job's run launched on the
    backend (as the loop would, on the pool, if the pool has room) and no row saying so."""
    ctx = center.ctx
    with ctx.db.transaction(write=False) as tx:
        queued = [j for j in (tx.jobs.get(i) for i in center.jobs)
                  if j is not None and j.status is JobStatus.QUEUED and not j.cancel_requested]
        running = tx.jobs.list(statuses=[JobStatus.RUNNING])
        pools = tx.pools.list()
    if not queued:
        return
    job, pool = queued[0], pools[0]
    alt = job.spec.resources[0]
    if sum(j.chip_count for j in running) + alt.count > pool.chip_count:
        return
    ctx.backend.launch(LaunchRequest(
        run_id_of(job, 0), ("/bin/sh", "-c", job.spec.command), alt.chip, alt.count,
        env={**job.spec.env, "AICENTER_JOB_ID": job.id},
        max_duration_s=job.spec.max_duration_s, pool=pool_targets(pools)[pool.id]))


def apply(center: Center, event: Event) -> None:
    """Carry out one event through the services (a no-op where it does not apply)."""
    ctx = center.ctx
    if isinstance(event, Submit):
        tenant = center.tenants[event.tenant % len(center.tenants)]
        max_duration_s = event.max_duration_s
        if event.fill:  # hold = count × ratio × duration / 3600 = what the grant has left
            with ctx.db.transaction(write=False) as tx:
                left = tx.ledger.balance(accounts.grant(tenant.grant_id), H100E)
            ratio = Decimal(str(ctx.performance.ratio(CHIP, WorkloadClass.DENSE_TRAINING)))
            max_duration_s = int(left * 3600 / (event.count * ratio))
            if max_duration_s < 30:
                return
        spec = parse_job_spec(
            f"name: j\ncommand: 'true'\nresources: [{{chip: {CHIP}, count: {event.count}}}]\n"
            f"max_duration: {max_duration_s}s\nmax_retries: {event.max_retries}\n"
            f"env: {{SIM_WORK_H100_S: '{event.work_h100_s}'}}\n")
        try:
            job, _ = job_svc.submit(ctx, tenant.member, spec, grant_id=tenant.grant_id)
        except BudgetExceededError:
            center.outcomes.add("refused at admission")
            return
        center.jobs.append(job.id)
        return
    if isinstance(event, Wait):
        center.clock.advance(event.seconds)
        run_round(ctx, make_policy(ctx))
        return
    if isinstance(event, Remeasure):
        ctx.perf = PerformanceTable(ctx.catalog, {(CHIP, WorkloadClass.DENSE_TRAINING):
                                                  Throughput(event.ratio, "measured", "test")})
        return
    if isinstance(event, Restart):
        restart(center, event.mid_launch)
        return
    if not center.jobs:
        return
    job_id = center.jobs[event.job % len(center.jobs)]
    with ctx.db.transaction(write=False) as tx:
        job = tx.jobs.get(job_id)
    if isinstance(event, Cancel):
        if not job.status.finished:
            member = next(t.member for t in center.tenants if t.grant_id == job.grant_id)
            job_svc.cancel(ctx, member, job_id)
        return
    if job.status is not JobStatus.RUNNING or not job.handle:
        return
    handle = RunHandle.parse(job.handle)
    if ctx.backend.status(handle).is_final:
        return
    if isinstance(event, Fail):
        center.backend.fail(handle.run_id, exit_code=3)
    elif isinstance(event, Lose):
        center.backend.lose(handle.run_id)
    else:
        stop_run(ctx, job, cancel=False)


def check(center: Center) -> None:
    """The invariants that hold after every step."""
    with center.ctx.db.transaction(write=False) as tx:
        balances = tx.ledger.balances()
        for (account, commodity), amount in balances.items():
            if commodity == H100E and account.startswith(("grant:", "hold:")):
                assert amount >= 0, (account, amount)
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []
        for job in tx.jobs.list():
            if job.status.finished:
                held = balances.get((accounts.hold(job.grant_id, job.id), H100E), Decimal(0))
                assert held == 0, (job.id, job.status, held)


def finish_all(center: Center) -> None:
    """Cancel whatever is left and run rounds until every job has ended."""
    for _ in range(20):
        with center.ctx.db.transaction(write=False) as tx:
            live = [j for j in tx.jobs.list() if not j.status.finished]
        if not live:
            return
        for job in live:
            if not job.cancel_requested:
                member = next(t.member for t in center.tenants if t.grant_id == job.grant_id)
                job_svc.cancel(center.ctx, member, job.id)
        apply(center, Wait(ROUND_S))
        check(center)
    raise AssertionError("jobs still live after 20 rounds of cancelling")


def check_final(center: Center) -> None:
    """Every hold is zero; each grant's balance plus its usage is its budget; the usage
    records charge exactly the ledger's usage postings."""
    with center.ctx.db.transaction(write=False) as tx:
        jobs = tx.jobs.list()
        assert all(j.status.finished for j in jobs)
        for job in jobs:
            outcome = job.status.value
            if job.message.startswith("budget exhausted:"):
                outcome += ": grant could not top the hold up"
            elif job.message.startswith(EXHAUSTED):
                outcome += ": stopped, hold spent"
            center.outcomes.add(outcome)
        for tenant in center.tenants:
            grant = tenant.grant_id
            assert tx.ledger.prefix_balance(accounts.holds_of(grant), H100E) == 0
            used = -tx.ledger.flow(accounts.holds_of(grant), H100E, "usage")
            available = tx.ledger.balance(accounts.grant(grant), H100E)
            assert available >= 0 and used >= 0
            assert available + used == tenant.budget_h100e_h, (grant, available, used)
            records = [r for r in tx.usage.list() if r.grant_id == grant]
            assert sum((charged_h100e_h(r) for r in records), Decimal(0)) == used


def play(center: Center, steps: list[Event]) -> None:
    check(center)
    for step in steps:
        apply(center, step)
        check(center)
    finish_all(center)
    check_final(center)


# -- the property -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A migrated SQLite file, copied for every example (migrating is the slow part)."""
    where = tmp_path_factory.mktemp("budget-template")
    for db in make_database("sqlite", where):
        db.dispose()
    yield where / "aicenter.db"


@st.composite
def events(draw: st.DrawFn) -> Event:
    """One event; time passing is the commonest, so runs reach their ends and limits."""
    job = st.one_of(st.just(-1), st.integers(0, 7))  # -1: the latest job
    kind = draw(st.sampled_from(["submit"] * 3 + ["wait"] * 6 + ["fail"] * 2 + [
        "preempt", "lose", "cancel", "remeasure", "restart"]))
    if kind == "submit":
        return Submit(draw(st.integers(0, 1)), draw(st.integers(1, 4)),
                      draw(st.sampled_from([60, 300, 600])), draw(st.integers(0, 4)),
                      draw(st.integers(30, 6000)))
    if kind == "wait":
        return Wait(draw(st.sampled_from([1, 2, 5, 10, 30])) * ROUND_S)
    if kind == "remeasure":
        return Remeasure(draw(st.sampled_from([0.5, 1.5, 3.0])))
    if kind == "restart":
        return Restart(draw(st.booleans()))
    return {"fail": Fail, "preempt": Preempt, "lose": Lose, "cancel": Cancel}[kind](draw(job))


@st.composite
def episodes(draw: st.DrawFn) -> list[Event]:
    """A few events that lead towards a rare branch, so it happens in a fair share of the
    examples whatever their length (the statistics are in the report of this module):

    * ``starve``: a job takes all its grant has left, runs a while, and a fault requeues it:
      the grant cannot top its hold up (unless it finished, or waited in the queue);
    * ``overrun``: a long job runs, its chip is re-measured dearer, time passes: metering
      spends its hold and the loop stops it;
    * ``crash``: a job is submitted and the server dies mid-launch: the restarted one adopts
      the run (when the pool has room)."""
    kind = draw(st.sampled_from(["starve", "overrun", "crash"]))
    tenant, count = draw(st.integers(0, 1)), draw(st.integers(1, 4))
    if kind == "starve":
        fault = draw(st.sampled_from([Fail, Preempt, Lose]))
        return [Submit(tenant, count, 600, draw(st.integers(1, 4)),
                       draw(st.integers(600, 100_000)), fill=True),
                Wait(draw(st.sampled_from([2, 5, 10])) * ROUND_S), fault(-1),
                Wait(2 * ROUND_S)]
    if kind == "overrun":
        return [Submit(tenant, count, draw(st.sampled_from([300, 600])),
                       draw(st.integers(0, 4)), 1_000_000), Wait(ROUND_S),
                Remeasure(draw(st.sampled_from([1.5, 3.0]))),
                Wait(draw(st.sampled_from([5, 10])) * ROUND_S)]
    return [Submit(tenant, count, draw(st.sampled_from([60, 300, 600])),
                   draw(st.integers(0, 4)), draw(st.integers(30, 6000))), Restart(True)]


def _flat(groups: list[list[Event]]) -> list[Event]:
    return [event for group in groups for event in group]


BUDGETS = st.lists(st.sampled_from([Decimal("0.2"), Decimal("0.5"), Decimal("1")]),
                   min_size=1, max_size=2)
STEPS = st.lists(st.one_of(events().map(lambda e: [e]), episodes()), min_size=3,
                 max_size=20).map(_flat)
PROPERTY = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture,
                                                        HealthCheck.too_slow]}


def play_example(db: Database, home: Path, budgets: list[Decimal], steps: list[Event]) -> None:
    """One example on a fresh database; its outcomes are hypothesis events
    (``--hypothesis-show-statistics`` lists how often each occurred)."""
    center = open_center(db, home, budgets)
    play(center, steps)
    for outcome in sorted(center.outcomes):
        hypothesis.event(outcome)


@settings(max_examples=100, **PROPERTY)
@given(budgets=BUDGETS, steps=STEPS)
def test_no_grant_or_hold_ever_goes_below_zero(template: Path, budgets: list[Decimal],
                                               steps: list[Event]) -> None:
    where = Path(tempfile.mkdtemp(prefix="budget-"))
    try:
        shutil.copy(template, where / "aicenter.db")
        db = Database(f"sqlite:///{where / 'aicenter.db'}")
        try:
            play_example(db, where / "home", budgets, steps)
        finally:
            db.dispose()
    finally:
        shutil.rmtree(where, ignore_errors=True)


@settings(max_examples=12, **PROPERTY)
@given(budgets=BUDGETS, steps=STEPS)
def test_no_grant_or_hold_ever_goes_below_zero_on_postgresql(budgets: list[Decimal],
                                                             steps: list[Event]) -> None:
    """The same property on PostgreSQL (row locks, its own isolation): fewer examples, each
    in a freshly migrated schema of its own (about 2 s each)."""
    if not pg_reachable():
        pytest.skip(PG_SKIP)
    where = Path(tempfile.mkdtemp(prefix="budget-pg-"))
    try:
        with fresh_database(PG_URL, where, pool_size=5, prefix="budget") as db:
            play_example(db, where / "home", budgets, steps)
    finally:
        shutil.rmtree(where, ignore_errors=True)


# -- the same scenario, by example, on SQLite and PostgreSQL ------------------------------

def test_retries_preemption_loss_and_exhaustion(database: Database, tmp_path: Path) -> None:
    """Issue 12's finding: a job with ``max_retries: 4`` whose every attempt runs to its max
    duration used to spend 3.5× its grant. Now each retry tops its hold up from the grant
    and the job fails, "budget exhausted", when the grant cannot; a preempted job is topped
    up and runs again; a lost run noticed late is charged no more than its hold, the rest is
    recorded as an overrun, and the job stops with that reason."""
    budget = Decimal("2.5")
    center = open_center(database, tmp_path / "home", [budget, Decimal(2)])
    ctx = center.ctx
    # 4 chips × 900 s = 1 h100e-h an attempt; 10 000 H100e·s of work never fits in one
    play_steps: list[Event] = [Submit(0, 4, 900, 4, 10_000), Wait(ROUND_S)]
    for event in play_steps:
        apply(center, event)
        check(center)
    retried = center.jobs[0]
    for _ in range(20):  # every attempt runs to its max duration and fails
        apply(center, Wait(5 * ROUND_S))
        check(center)
    with ctx.db.transaction(write=False) as tx:
        job = tx.jobs.get(retried)
        assert job.status is JobStatus.FAILED and job.attempts == 2
        assert job.message.startswith("budget exhausted: grant"), job.message
        used = -tx.ledger.flow(accounts.holds_of(job.grant_id), H100E, "usage")
        assert Decimal("1.9999") < used <= 2 * job.hold_h100e_h == 2  # two whole attempts
        assert tx.ledger.balance(accounts.grant(job.grant_id), H100E) == budget - used
        assert tx.ledger.has(f"hold:{retried}:2") and not tx.ledger.has(f"hold:{retried}:3")

    # the second tenant: preempted, topped up, then lost and noticed late
    apply(center, Submit(1, 2, 900, 0, 100_000))
    apply(center, Wait(ROUND_S))
    preempted = center.jobs[1]
    apply(center, Wait(5 * ROUND_S))  # 300 s of its 900 s used
    apply(center, Preempt(1))
    apply(center, Wait(ROUND_S))
    check(center)
    with ctx.db.transaction(write=False) as tx:
        job = tx.jobs.get(preempted)
        assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING) and job.attempts >= 1
        hold = tx.ledger.balance(accounts.hold(job.grant_id, preempted), H100E)
        assert tx.ledger.has(f"hold:{preempted}:2")
        assert hold <= job.hold_h100e_h == Decimal("0.5")
    apply(center, Wait(ROUND_S))
    apply(center, Lose(1))
    apply(center, Wait(30 * ROUND_S))  # noticed 30 minutes on: more than its 15 a run
    check(center)
    with ctx.db.transaction(write=False) as tx:
        job = tx.jobs.get(preempted)
        assert job.status is JobStatus.FAILED, (job.status, job.message)
        assert job.message.startswith(EXHAUSTED), job.message
        assert tx.ledger.balance(accounts.hold(job.grant_id, preempted), H100E) == 0
        unbilled = tx.ledger.balance(accounts.unbilled(job.org_id), H100E)
        assert unbilled > 0  # the overrun is on record, charged to no grant
    finish_all(center)
    check_final(center)


def test_running_job_whose_hold_runs_out_is_stopped(database: Database,
                                                    tmp_path: Path) -> None:
    """A re-measured throughput makes a running job cost three times what its hold was
    computed with: metering charges what is left of the hold, the loop stops the run and the
    job ends FAILED, "stopped: budget exhausted (...)"; the grant keeps what was not held."""
    center = open_center(database, tmp_path / "home", [Decimal(2)])
    apply(center, Submit(0, 4, 900, 3, 1_000_000))  # holds 1 h100e-h
    apply(center, Wait(ROUND_S))
    apply(center, Remeasure(3.0))
    for _ in range(8):
        apply(center, Wait(ROUND_S))
        check(center)
    with center.ctx.db.transaction(write=False) as tx:
        job = tx.jobs.get(center.jobs[0])
        assert job.status is JobStatus.FAILED
        assert job.message == (f"{EXHAUSTED} (grant {job.grant_id} has no h100e-h left for "
                               "this job)")
        assert -tx.ledger.flow(accounts.holds_of(job.grant_id), H100E, "usage") == 1
        assert tx.ledger.balance(accounts.grant(job.grant_id), H100E) == 1
        records = tx.usage.list(job_id=job.id)
        assert sum((charged_h100e_h(r) for r in records), Decimal(0)) == 1
    check_final(center)


def test_a_negative_release_or_top_up_is_refused() -> None:
    """A negative hold at the end of a job would be a bug: its release is refused, as is a
    top-up of nothing; a top-up is booked once per attempt (its reference)."""
    from datetime import UTC, datetime

    from aicenter.ledger import release_transaction, top_up_transaction

    at = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="below zero"):
        release_transaction("j", "g", Decimal("-0.000001"), at)
    with pytest.raises(ValueError, match="positive"):
        top_up_transaction("j", "g", 2, Decimal(0), at)
    assert release_transaction("j", "g", Decimal(0), at).reference == "release:j"
    top_up = top_up_transaction("j", "g", 3, Decimal("0.5"), at)
    assert top_up.reference == "hold:j:3" and top_up.kind == "top-up"
    assert {(p.account, p.amount) for p in top_up.postings} == {
        ("grant:g", Decimal("-0.5")), ("hold:g:j", Decimal("0.5"))}


def test_concurrent_top_ups_cannot_overspend_a_grant(database: Database, tmp_path: Path) -> None:
    """Two jobs on one grant are requeued at once and each needs 0.15 h100e-h more while the
    grant has 0.2: the grant's row lock orders the two transactions, the second sees the
    first's top-up and is refused."""
    import threading
    from datetime import UTC, datetime

    from aicenter.domain.units import Money
    from aicenter.ledger import usage_transaction
    from aicenter.services.scheduling import _top_up

    center = open_center(database, tmp_path / "home", [Decimal(1)])
    for _ in range(2):  # 4 chips × 360 s: 0.4 h100e-h each, 0.2 left on the grant
        apply(center, Submit(0, 4, 360, 1, 100))
    tenant = center.tenants[0]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with database.transaction() as tx:  # each attempt used 0.15 of its hold
        for job_id in center.jobs:
            tx.ledger.book(usage_transaction(
                f"u-{job_id}", job_id=job_id, grant_id=tenant.grant_id,
                org_id=tenant.member.org_id, call_id="c", used_h100e_h=Decimal("0.15"),
                market=Money.of(0, "KRW"), payable=Money.of(0, "KRW"), at=at))
    first_booked, results = threading.Event(), {}

    def requeue(job_id: str, hold_open_s: float) -> None:
        with database.transaction() as tx:
            job = tx.jobs.get(job_id, lock=True)
            results[job_id] = _top_up(tx, job, at)
            if hold_open_s:
                first_booked.set()
                threading.Event().wait(hold_open_s)  # commit late: the other must wait

    first = threading.Thread(target=requeue, args=(center.jobs[0], 0.5))
    first.start()
    assert first_booked.wait(10)
    requeue(center.jobs[1], 0)
    first.join()
    assert results[center.jobs[0]] is None
    assert (results[center.jobs[1]] or "").startswith("budget exhausted: grant"), results
    with database.transaction(write=False) as tx:
        assert tx.ledger.balance(accounts.grant(tenant.grant_id), H100E) == Decimal("0.05")
        assert tx.ledger.has(f"hold:{center.jobs[0]}:1")
        assert not tx.ledger.has(f"hold:{center.jobs[1]}:1")
