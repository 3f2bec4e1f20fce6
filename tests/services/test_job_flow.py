"""Jobs end to end on the local backend: admission, placement by ``schedule()``, real
processes, logs, cancel, preemption, retries, metering into the ledger."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from aicenter.domain.errors import InputError
from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.ledger import H100E, accounts
from aicenter.server.runtime import attach_backend
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services.clock import SystemClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import BudgetExceededError
from aicenter.services.metering import charged_h100e_h
from aicenter.services.scheduling import make_policy, run_round, stop_run
from tests.services.fixtures import seed_center

SPEC = """
name: hello
command: |
  echo "start $AICENTER_CHIP_TYPE x$AICENTER_CHIP_COUNT devices=$CUDA_VISIBLE_DEVICES"
  sleep {sleep}
  echo done
resources:
  - chip: nvidia-h100-sxm
    count: 2
max_duration: 60s
max_retries: {retries}
"""


@pytest.fixture
def live(ctx: ServiceContext, operator: Caller):  # type: ignore[no-untyped-def]
    ctx.clock = SystemClock()
    ctx.settings.metering_interval_s = 0.5
    ctx.settings.preemption_grace_s = 1.0
    _org, member, grant = seed_center(ctx, operator, budget="100")
    attach_backend(ctx)
    return ctx, member, grant


def spec(sleep: float = 0.5, retries: int = 0, command: str | None = None):  # type: ignore[no-untyped-def]
    text = SPEC.format(sleep=sleep, retries=retries)
    parsed = parse_job_spec(text, "job.yaml")
    if command is not None:
        from dataclasses import replace

        parsed = replace(parsed, command=command)
    return parsed


def run_until(ctx: ServiceContext, job_id: str, statuses: set[JobStatus],
              timeout_s: float = 30.0):  # type: ignore[no-untyped-def]
    policy = make_policy(ctx)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run_round(ctx, policy)
        with ctx.db.transaction(write=False) as tx:
            job = tx.jobs.get(job_id)
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job.status}")


def ledger_checks(ctx: ServiceContext, grant_id: str, job_id: str, budget: Decimal) -> Decimal:
    with ctx.db.transaction(write=False) as tx:
        records = tx.usage.list(job_id=job_id)
        charged = sum((charged_h100e_h(r) for r in records), Decimal(0))
        assert tx.ledger.balance(accounts.grant(grant_id), H100E) == budget - charged
        assert tx.ledger.balance(accounts.hold(grant_id, job_id), H100E) == 0
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
    return charged


def test_job_runs_logs_and_is_charged_exactly(live) -> None:  # type: ignore[no-untyped-def]
    ctx, member, grant = live
    job, created = job_svc.submit(ctx, member, spec(sleep=1.2))
    assert created and job.status is JobStatus.QUEUED
    assert job.hold_h100e_h == Decimal("0.033334")  # 2 chips × ratio 1 × 60 s, rounded up
    running = run_until(ctx, job.id, {JobStatus.RUNNING})
    assert running.chip == "nvidia-h100-sxm" and running.chip_count == 2
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED and done.exit_code == 0
    log = job_svc.logs(ctx, member, job.id).text
    assert "start nvidia-h100-sxm x2 devices=0,1" in log and "done" in log
    records = ctx.db.transaction
    with records(write=False) as tx:
        usage = tx.usage.list(job_id=job.id)
    seconds = sum((r.chip_seconds for r in usage), Decimal(0)) / 2
    assert Decimal("1.0") < seconds < Decimal("6")
    assert len(usage) >= 2  # metered per interval while running, then to the end
    charged = ledger_checks(ctx, grant.grant.id, job.id, Decimal(100))
    view = grant_svc.get_grant(ctx, member, grant.grant.id)
    assert view.used_h100e_h == charged and view.held_h100e_h == 0
    with ctx.db.transaction(write=False) as tx:  # an SME pays 10 % of the market price
        receivable = tx.ledger.balance(accounts.receivable(member.org_id), "KRW")
    expected = charged * Decimal(3195) * Decimal("0.10")
    assert abs(receivable - expected) <= len(usage) * Decimal("1e-6")  # rounded per record


def test_idempotent_submission_and_budget(live) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _grant = live
    first, created = job_svc.submit(ctx, member, spec(), idempotency_key="k-1")
    again, created_again = job_svc.submit(ctx, member, spec(), idempotency_key="k-1")
    assert created and not created_again and again.id == first.id
    with ctx.db.transaction(write=False) as tx:
        assert tx.jobs.count() == 1
    huge = spec(command="true")
    from dataclasses import replace

    huge = replace(huge, max_duration_s=10 * 24 * 3600)
    with pytest.raises(BudgetExceededError, match="left"):
        job_svc.submit(ctx, member, huge)
    with pytest.raises(InputError, match="no pool"):
        job_svc.submit(ctx, member, parse_job_spec(
            "name: x\ncommand: 'true'\nresources: [{chip: amd-mi300x, count: 1}]"))


def test_cancel_a_running_job(live) -> None:  # type: ignore[no-untyped-def]
    ctx, member, grant = live
    job, _ = job_svc.submit(ctx, member, spec(sleep=60))
    run_until(ctx, job.id, {JobStatus.RUNNING})
    time.sleep(0.5)
    job_svc.cancel(ctx, member, job.id)
    done = run_until(ctx, job.id, {JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.SUCCEEDED})
    assert done.status is JobStatus.CANCELLED
    charged = ledger_checks(ctx, grant.grant.id, job.id, Decimal(100))
    assert charged > 0


def test_cancel_a_queued_job_releases_its_hold(live) -> None:  # type: ignore[no-untyped-def]
    ctx, member, grant = live
    job, _ = job_svc.submit(ctx, member, spec())
    cancelled = job_svc.cancel(ctx, member, job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert ledger_checks(ctx, grant.grant.id, job.id, Decimal(100)) == 0


def test_preempted_job_is_requeued_and_runs_again(live) -> None:  # type: ignore[no-untyped-def]
    ctx, member, grant = live
    job, _ = job_svc.submit(ctx, member, spec(sleep=2))
    running = run_until(ctx, job.id, {JobStatus.RUNNING})
    stop_run(ctx, running, cancel=False)
    policy = make_policy(ctx)
    deadline = time.monotonic() + 20
    attempts = 1
    while time.monotonic() < deadline and attempts < 2:
        run_round(ctx, policy)
        attempts = job_svc.get_job(ctx, member, job.id).attempts
        time.sleep(0.1)
    assert attempts == 2
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED
    ledger_checks(ctx, grant.grant.id, job.id, Decimal(100))


def test_failed_job_is_retried_then_fails(live) -> None:  # type: ignore[no-untyped-def]
    ctx, member, grant = live
    job, _ = job_svc.submit(ctx, member, spec(retries=1, command="echo try; exit 3"))
    done = run_until(ctx, job.id, {JobStatus.FAILED, JobStatus.SUCCEEDED})
    assert done.status is JobStatus.FAILED and done.exit_code == 3 and done.attempts == 2
    ledger_checks(ctx, grant.grant.id, job.id, Decimal(100))


def test_run_launched_but_never_recorded_is_adopted(live) -> None:  # type: ignore[no-untyped-def]
    from aicenter.backends import LaunchRequest
    from aicenter.services.scheduling import recover, run_id_of

    ctx, member, grant = live
    job, _ = job_svc.submit(ctx, member, spec(sleep=0.5))
    # the server launched the run, then died before writing the job row
    ctx.backend.launch(LaunchRequest(run_id=run_id_of(job, 0),
                                     command=("/bin/sh", "-c", job.spec.command),
                                     chip_type="nvidia-h100-sxm", chip_count=2))
    assert recover(ctx) == [job.id]
    adopted = job_svc.get_job(ctx, member, job.id)
    assert adopted.status is JobStatus.RUNNING and adopted.attempts == 1
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED and done.attempts == 1
    assert "done" in job_svc.logs(ctx, member, job.id).text
    ledger_checks(ctx, grant.grant.id, job.id, Decimal(100))


def test_chase_team_job_preempts_a_best_effort_job(live) -> None:  # type: ignore[no-untyped-def]
    """A full pool of best-effort work; a chase-team job arrives and takes its guaranteed
    share: the best-effort job gets SIGTERM, is requeued, and runs again afterwards."""
    ctx, member, grant = live
    ctx.settings.chase_share = 0.5
    from dataclasses import replace

    from aicenter.domain.job import PriorityClass

    hog = replace(spec(sleep=3), resources=(replace(spec().resources[0], count=8),),
                  priority=PriorityClass.BEST_EFFORT)
    with ctx.db.transaction() as tx:  # the operator entitles the organisation to chase-team
        tx.orgs.entitle(member.org_id, PriorityClass.CHASE_TEAM, ctx.clock.now())
    low, _ = job_svc.submit(ctx, member, hog)
    run_until(ctx, low.id, {JobStatus.RUNNING})
    urgent, _ = job_svc.submit(ctx, member, replace(spec(sleep=1),
                                                    priority=PriorityClass.CHASE_TEAM))
    first = run_until(ctx, urgent.id, {JobStatus.SUCCEEDED}, timeout_s=60)
    assert first.attempts == 1
    again = run_until(ctx, low.id, {JobStatus.SUCCEEDED}, timeout_s=60)
    assert again.attempts == 2  # preempted once, then ran to the end
    with ctx.db.transaction(write=False) as tx:
        charged = sum((charged_h100e_h(r) for j in (low.id, urgent.id)
                       for r in tx.usage.list(job_id=j)), Decimal(0))
        assert tx.ledger.balance(accounts.grant(grant.grant.id), H100E) == 100 - charged
        assert tx.ledger.prefix_balance(accounts.holds_of(grant.grant.id), H100E) == 0
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings


def test_job_only_runs_on_chips_its_grant_covers(live) -> None:  # type: ignore[no-untyped-def]
    """The grant covers H100s only; the job also offers the (pooled, free) ATOM NPUs as an
    alternative and lists them first: the scheduler must not place it there."""
    from aicenter.services.scheduling import _view

    ctx, member, _grant = live
    both = parse_job_spec("name: both\ncommand: 'true'\nworkload: inference\nmax_duration: 60s\n"
                          "resources: [{chip: rebellions-atom, count: 1}, "
                          "{chip: nvidia-h100-sxm, count: 1}]\n")
    job, _ = job_svc.submit(ctx, member, both)
    queue = _view(ctx, [job]).queue
    assert [d.chip_type for d in queue[0].job.demand] == ["nvidia-h100-sxm"]
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED and done.chip == "nvidia-h100-sxm"
