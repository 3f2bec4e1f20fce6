"""Batched admission (SQLite and PostgreSQL): each submission of a batch gets its own outcome,
and the batched HTTP path never overspends a grant under concurrent load."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from fastapi.testclient import TestClient

from aicenter.api.app import create_app
from aicenter.domain.errors import NotFoundError
from aicenter.domain.job import parse_job_spec
from aicenter.domain.token import Scope
from aicenter.ledger import H100E, accounts
from aicenter.policy import PermissionDeniedError
from aicenter.server.batcher import AdmissionBatcher
from aicenter.services import org as org_svc
from aicenter.services.admission import Admitted, Submission, admit
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import AuthenticationError, BudgetExceededError
from tests.services.fixtures import seed_center

# 1 H100 × 36 s = 0.01 h100e-h per job.
SPEC = parse_job_spec("name: batch\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, "
                      "count: 1}]\nmax_duration: 36s\n")
BIG = parse_job_spec("name: big\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, "
                     "count: 8}]\nmax_duration: 1h\n")


def _secret(ctx: ServiceContext, operator: Caller, member: Caller,
            scopes: frozenset[Scope] = frozenset({Scope.WRITE})) -> str:
    return org_svc.create_token(ctx, operator, member.person.id, "t", scopes, None)[1]


def test_each_submission_of_a_batch_gets_its_own_outcome(ctx: ServiceContext,
                                                         operator: Caller) -> None:
    _, member, grant = seed_center(ctx, operator, budget="0.05")
    _, other, other_grant = seed_center(ctx, operator, budget="1")
    writer = _secret(ctx, operator, member)
    reader = _secret(ctx, operator, member, frozenset({Scope.READ}))
    outcomes = admit(ctx, [
        Submission(SPEC, secret=writer, idempotency_key="a"),           # 0 admitted
        Submission(SPEC, secret="aic_not-a-token"),                     # 1 unknown token
        Submission(SPEC, secret=writer, idempotency_key="a"),           # 2 repeat of 0
        Submission(BIG, secret=writer),                                 # 3 over budget
        Submission(SPEC, secret=writer, grant_id=other_grant.grant.id),  # 4 foreign grant
        Submission(SPEC, secret=reader),                                # 5 read-only token
        Submission(SPEC, caller=other),                                 # 6 other org, admitted
        Submission(SPEC, secret=writer),                                # 7 admitted
    ])
    first, repeat = outcomes[0], outcomes[2]
    assert isinstance(first, Admitted) and first.created
    assert isinstance(repeat, Admitted) and not repeat.created and repeat.job.id == first.job.id
    assert isinstance(outcomes[1], AuthenticationError)
    assert isinstance(outcomes[3], BudgetExceededError)
    assert isinstance(outcomes[4], NotFoundError)
    assert isinstance(outcomes[5], PermissionDeniedError)
    for i in (6, 7):
        admitted = outcomes[i]
        assert isinstance(admitted, Admitted) and admitted.created
    assert outcomes[6].job.org_id == other.org_id  # type: ignore[union-attr]
    with ctx.db.transaction(write=False) as tx:
        assert tx.jobs.count() == 3
        assert tx.ledger.balance(accounts.grant(grant.grant.id), H100E) == Decimal("0.03")
        assert tx.ledger.balance(accounts.grant(other_grant.grant.id), H100E) == \
            Decimal("0.99")
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
    # The same key in a later batch still returns the first job.
    again = admit(ctx, [Submission(SPEC, secret=writer, idempotency_key="a")])[0]
    assert isinstance(again, Admitted) and again.job.id == first.job.id and not again.created


def test_batched_http_submissions_never_overspend(ctx: ServiceContext,
                                                  operator: Caller) -> None:
    """200 concurrent POST /jobs (batched by the server) on a grant covering exactly 100,
    plus 20 concurrent retries of one idempotency key."""
    _, member, grant = seed_center(ctx, operator, budget="1.00")
    headers = {"Authorization": f"Bearer {_secret(ctx, operator, member)}"}
    body = {"spec": SPEC.to_dict()}
    app = create_app(ctx, admissions=AdmissionBatcher(ctx))  # as the server does
    with TestClient(app) as http:
        def post(i: int) -> int:
            key = "retry" if i >= 200 else f"race-{i}"
            response = http.post("/api/v1/jobs", json=body,
                                 headers={**headers, "Idempotency-Key": key})
            return response.status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            codes = list(pool.map(post, range(220)))
    assert app.state.admissions.largest_batch > 1  # the batched path was exercised
    retries = codes[200:]
    assert retries.count(201) + codes[:200].count(201) == 100
    assert set(retries) <= {200, 201, 409} and retries.count(201) <= 1
    assert codes.count(409) == 220 - 100 - retries.count(200)
    with ctx.db.transaction(write=False) as tx:
        assert tx.jobs.count() == 100
        assert tx.ledger.balance(accounts.grant(grant.grant.id), H100E) == 0
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
