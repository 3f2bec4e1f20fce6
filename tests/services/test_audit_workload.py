"""A workload through the services leaves the expected entries in the audit log (every state
change in its own transaction, every authorisation decision with the policy that decided),
and the credit ledger edited beside the log — or with it — is found and named by ``verify``.
SQLite and PostgreSQL; the job runs on the local backend."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, select, text, update

from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.ledger.audit import AuditEntry, AuditFilter, Problem, leaf_hash
from aicenter.policy import PermissionDeniedError
from aicenter.server.runtime import attach_backend
from aicenter.services import audit as svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services.clock import SystemClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.storage.tables import (
    account_balances,
    audit_entries,
    ledger_postings,
    ledger_transactions,
)
from tests.services.fixtures import seed_center
from tests.services.test_job_flow import run_until

H100 = "nvidia-h100-sxm"


def entries(ctx: ServiceContext, operator: Caller, **f: str) -> list[AuditEntry]:
    ctx.db.flush_audit()  # the decisions of reads wait for a write; take them in now
    return svc.list_entries(ctx, operator, AuditFilter(**f))  # type: ignore[arg-type]


def subsequence(wanted: list[str], actions: list[str]) -> bool:
    it = iter(actions)
    return all(any(a == w for a in it) for w in wanted)


@pytest.fixture
def workload(ctx: ServiceContext, operator: Caller):  # type: ignore[no-untyped-def]
    """Pools, a call, an organisation, an application, a review, an award, and one job run
    to its end on the local backend (metered)."""
    ctx.clock = SystemClock()
    ctx.settings.metering_interval_s = 0.2
    org, member, grant = seed_center(ctx, operator, pools={H100: 4})
    attach_backend(ctx)
    spec = parse_job_spec(f"name: train\ncommand: 'sleep 0.6'\nresources: [{{chip: {H100}, "
                          "count: 2}]\nmax_duration: 60s\n")
    job, _ = job_svc.submit(ctx, member, spec)
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED
    return org, member, grant, done


def test_a_workload_leaves_its_sequence_of_actions(ctx: ServiceContext, operator: Caller,
                                                   workload) -> None:  # type: ignore[no-untyped-def]
    org, member, _grant, job = workload
    log = entries(ctx, operator)
    changes = [e.record.action for e in log if not e.record.action.startswith("authz.")]
    assert subsequence([
        "org.created", "person.added", "token.created",  # the first operator
        "pool.added", "call.opened", "org.created", "person.added", "application.submitted",
        "application.reviewed", "grant.awarded", "ledger.booked",  # the award
        "job.submitted", "ledger.booked",  # its hold
        "job.launched", "job.started", "usage.recorded", "ledger.booked",
        "job.finished", "ledger.booked",  # the rest of the hold goes back
    ], changes), changes

    mine = [e.record for e in log if e.record.object_type == "job"
            and e.record.object_id == job.id]
    assert [r.action for r in mine][:3] == ["job.submitted", "job.launched", "job.started"]
    assert mine[-1].action == "job.finished" and mine[-1].payload["status"] == "succeeded"
    assert all(r.org_id == org.id for r in mine)
    assert mine[0].actor.id == member.person.id  # the caller; the loop is the system
    assert {r.actor.kind.value for r in mine[1:]} == {"system"}
    launched = next(r for r in mine if r.action == "job.launched")
    assert launched.payload["pool"] == job.pool_id and launched.payload["chips"] == 2

    award = next(e.record for e in log if e.record.action == "ledger.booked"
                 and e.record.object_id.startswith("award:"))
    assert award.payload["kind"] == "award"
    assert sorted(Decimal(p[2]) for p in award.payload["postings"]) == [
        Decimal(-100), Decimal(100)]

    decisions = [e.record for e in log if e.record.action.startswith("authz.")]
    submit = next(d for d in decisions if d.payload["permission"] == "job:submit")
    assert submit.decision is not None and submit.actor.id == member.person.id
    assert submit.decision.policy_id == "members-submit-and-apply"
    operator_ids = {d.decision.policy_id for d in decisions
                    if d.actor.id == operator.person.id and d.decision is not None}
    assert "operators-do-everything" in operator_ids
    # the decision that allowed the submission precedes the submission itself
    seq_of_submit = next(e.seq for e in log if e.record is submit)
    seq_of_job = next(e.seq for e in log if e.record is mine[0])
    assert seq_of_submit < seq_of_job

    result = svc.verify(ctx, operator)
    assert result.ok, result.first


def test_refusals_are_logged_though_their_transaction_rolls_back(
        ctx: ServiceContext, operator: Caller) -> None:
    org, member, _grant = seed_center(ctx, operator, pools={H100: 4})
    _other, outsider, _ = seed_center(ctx, operator, pools={H100: 4})
    with pytest.raises(PermissionDeniedError):  # refused before any transaction
        pool_svc.add_pool(ctx, member, H100, 8)
    with pytest.raises(PermissionDeniedError):  # refused inside the request's transaction
        org_svc.create_token(ctx, outsider, member.person.id, "steal", frozenset(), None)
    denied = entries(ctx, operator, action="authz.denied")
    assert [(d.record.payload["permission"], d.record.actor.id) for d in denied] == [
        ("pool:create", member.person.id), ("token:create", outsider.person.id)]
    assert denied[0].record.decision is not None
    assert denied[0].record.decision.policy_id is None  # no policy permits: default deny
    assert denied[1].record.decision is not None
    assert denied[1].record.decision.policy_id == "tenant-isolation"
    assert denied[1].record.org_id == org.id
    assert not entries(ctx, operator, object_type="token", action="token.created",
                       org_id=org.id)


def tamper(ctx: ServiceContext, stmt) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.engine.begin() as conn:
        conn.execute(stmt)


def ledger_entry(ctx: ServiceContext, operator: Caller, prefix: str) -> AuditEntry:
    return next(e for e in entries(ctx, operator, action="ledger.booked")
                if e.record.object_id.startswith(prefix))


def award_id(ctx: ServiceContext) -> int:
    with ctx.db.transaction(write=False) as tx:
        return int(tx.conn.execute(select(ledger_transactions.c.id).where(
            ledger_transactions.c.reference.startswith("award:"))).scalar_one())


@pytest.fixture
def awarded(ctx: ServiceContext, operator: Caller):  # type: ignore[no-untyped-def]
    seed_center(ctx, operator, pools={H100: 4})
    assert svc.verify(ctx, operator).ok
    return ledger_entry(ctx, operator, "award:")


def test_an_edited_ledger_posting_is_named(ctx: ServiceContext, operator: Caller,
                                           awarded: AuditEntry) -> None:
    tamper(ctx, update(ledger_postings).where(
        ledger_postings.c.transaction_id == award_id(ctx), ledger_postings.c.amount > 0
    ).values(amount=Decimal(1000)))
    f = svc.verify(ctx, operator).first
    assert f is not None and (f.seq, f.problem) == (awarded.seq, Problem.LEDGER)
    assert "1000" in f.detail and awarded.record.object_id in f.detail


def test_a_deleted_ledger_transaction_is_named(ctx: ServiceContext, operator: Caller,
                                               awarded: AuditEntry) -> None:
    tid = award_id(ctx)
    tamper(ctx, delete(ledger_postings).where(ledger_postings.c.transaction_id == tid))
    tamper(ctx, delete(ledger_transactions).where(ledger_transactions.c.id == tid))
    f = svc.verify(ctx, operator).first
    assert f is not None and (f.seq, f.problem) == (awarded.seq, Problem.LEDGER)
    assert "no longer in the ledger" in f.detail


def test_a_booking_behind_the_log_and_an_edited_balance_are_named(
        ctx: ServiceContext, operator: Caller, awarded: AuditEntry) -> None:
    with ctx.db.transaction(write=False) as tx:
        when = tx.conn.execute(select(ledger_transactions.c.created_at)).scalars().first()
    with ctx.db.engine.begin() as conn:
        tid = conn.execute(ledger_transactions.insert().values(
            reference="gift:1", kind="award", memo="", created_at=when
        ).returning(ledger_transactions.c.id)).scalar_one()
        conn.execute(ledger_postings.insert(), [
            {"transaction_id": tid, "account": "x", "commodity": "h100e_h",
             "amount": Decimal(5)},
            {"transaction_id": tid, "account": "y", "commodity": "h100e_h",
             "amount": Decimal(-5)}])
    result = svc.verify(ctx, operator)
    assert [f.problem for f in result.findings] == [Problem.LEDGER]
    assert "gift:1" in result.findings[0].detail and "not in the log" in \
        result.findings[0].detail
    tamper(ctx, update(account_balances).where(account_balances.c.amount > 0).values(
        amount=account_balances.c.amount + 1))
    details = [f.detail for f in svc.verify(ctx, operator).findings]
    assert any("holds" in d and "the log's postings sum to" in d for d in details)


def test_the_ledger_and_its_entry_edited_together_are_named(
        ctx: ServiceContext, operator: Caller, awarded: AuditEntry) -> None:
    """The old exchange log missed this: both sides changed to agree. The rewritten entry is
    rehashed too, so the next entry's link names it."""
    tamper(ctx, update(ledger_postings).where(
        ledger_postings.c.transaction_id == award_id(ctx), ledger_postings.c.amount > 0
    ).values(amount=Decimal(1000)))
    with ctx.db.transaction(write=False) as tx:
        body = bytes(tx.conn.execute(select(audit_entries.c.body).where(
            audit_entries.c.seq == awarded.seq)).scalar_one())
    forged = body.replace(b'"100.000000"', b'"1000.000000"').replace(
        b'"-100.000000"', b'"-1000.000000"')
    assert forged != body
    tamper(ctx, update(audit_entries).where(audit_entries.c.seq == awarded.seq).values(
        body=forged, hash=leaf_hash(forged)))
    f = svc.verify(ctx, operator).first
    assert f is not None and (f.seq, f.problem) == (awarded.seq, Problem.EDITED)


def test_the_loop_signs_checkpoints_and_the_key_is_made_at_start(
        ctx: ServiceContext, operator: Caller) -> None:
    from aicenter.services.audit import PeriodicCheckpoint

    seed_center(ctx, operator, pools={H100: 4})
    ctx.settings.audit_checkpoint_interval_s = 60
    loop = PeriodicCheckpoint(ctx)
    assert loop.tick() is None  # the first one interval after start
    ctx.clock.advance(61)  # type: ignore[attr-defined]
    pool_svc.list_pools(ctx, operator)  # a read: its decision waits for the loop
    cp = loop.tick()
    with ctx.db.transaction(write=False) as tx:
        assert cp is not None and cp.size == tx.audit.head().seq
        last = tx.audit.get(cp.size)
    assert last is not None and b'"pool:read"' in last.body
    assert loop.tick() is None
    assert loop.final() is None  # nothing new since
    org_svc.create_org(ctx, operator, "After", OrgClass.SME)
    n = cp.size + 1  # not signed yet: the next checkpoint checks it before signing
    tamper(ctx, text("UPDATE audit_entries SET body = :b WHERE seq = :n").bindparams(
        b=b"{}", n=n))
    with pytest.raises(svc.TamperedLogError, match=f"entry {n}"):
        loop.final()
