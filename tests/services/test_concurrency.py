"""Admission under concurrency: 200 submissions race for a grant that covers exactly 100;
retries with one idempotency key race to create one job."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from aicenter.domain.job import parse_job_spec
from aicenter.ledger import H100E, accounts
from aicenter.services import admission
from aicenter.services import job as job_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import BudgetExceededError
from tests.services.fixtures import seed_center

# 1 chip × ratio 1 (H100) × 36 s = 0.01 h100e-h per job; the grant covers exactly 100 jobs.
SPEC = parse_job_spec("name: race\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, "
                      "count: 1}]\nmax_duration: 36s\n")


def test_200_racing_submissions_admit_exactly_100(ctx: ServiceContext,
                                                  operator: Caller) -> None:
    _, member, grant = seed_center(ctx, operator, budget="1.00")
    assert admission.hold_for(ctx, SPEC) == Decimal("0.01")

    def attempt(i: int) -> str:
        try:
            job_svc.submit(ctx, member, SPEC, idempotency_key=f"race-{i}")
            return "admitted"
        except BudgetExceededError:
            return "refused"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(200)))
    assert outcomes.count("admitted") == 100
    assert outcomes.count("refused") == 100
    with ctx.db.transaction(write=False) as tx:
        assert tx.jobs.count() == 100
        assert tx.ledger.balance(accounts.grant(grant.grant.id), H100E) == 0
        assert tx.ledger.prefix_balance(accounts.holds_of(grant.grant.id), H100E) == Decimal(1)
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings


def test_racing_retries_with_one_key_create_one_job(ctx: ServiceContext,
                                                    operator: Caller) -> None:
    _, member, grant = seed_center(ctx, operator, budget="1.00")

    def attempt(_: int) -> str:
        job, _created = job_svc.submit(ctx, member, SPEC, idempotency_key="same-key")
        return job.id

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = set(pool.map(attempt, range(40)))
    assert len(ids) == 1
    with ctx.db.transaction(write=False) as tx:
        assert tx.jobs.count() == 1
        assert tx.ledger.balance(accounts.grant(grant.grant.id), H100E) == Decimal("0.99")
